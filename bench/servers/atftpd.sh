#!/usr/bin/env bash
# atftpd 0.8 (threads; the one reference server with RFC 7440 windowsize). Its package
# conflicts with tftpd-hpa, so bench/prereqs.sh unpacks the .deb under $BENCH_HOME/opt.
# Usage: atftpd.sh PORT
set -euo pipefail
: "${BENCH_HOME:?}"
RUN=$BENCH_HOME/run/atftpd
rm -rf "$RUN"; mkdir -p "$RUN"
BIN=$(command -v atftpd || echo "$BENCH_HOME/opt/atftpd-root/usr/sbin/atftpd")
exec "$BIN" --daemon --no-fork --port "${1:?port}" --bind-address 10.77.0.1 --maxthread 1000 \
  --logfile "$RUN/atftpd.log" --verbose=1 "$BENCH_HOME/tftproot"
