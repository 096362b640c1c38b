#!/usr/bin/env bash
# nginx, one worker, on 127.0.0.1:PORT of the server namespace, serving $BENCH_HOME/httproot
# with sendfile (the same bytes metalseed serves: assets and pre-rendered per-machine
# documents). Usage: nginx.sh PORT
set -euo pipefail
: "${BENCH_HOME:?}"
PORT=${1:?port}
RUN=$BENCH_HOME/run/nginx-$PORT
rm -rf "$RUN"; mkdir -p "$RUN"
cat >"$RUN/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $RUN/nginx.pid;
error_log $RUN/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 65; keepalive_requests 1000000;
  client_body_temp_path $RUN/t1; proxy_temp_path $RUN/t2; fastcgi_temp_path $RUN/t3;
  uwsgi_temp_path $RUN/t4; scgi_temp_path $RUN/t5;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$PORT backlog=4096;
    root $BENCH_HOME/httproot;
  }
}
CONF
exec nginx -p "$RUN" -c "$RUN/nginx.conf"
