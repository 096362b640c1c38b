#!/usr/bin/env bash
# metalseed under test, in the foreground (run inside the server namespace).
# Usage: metalseed.sh dhcp|tftp|http [PORT]
#   dhcp  authoritative DHCP on bsrv0, pool 10.77.1.0-10.77.255.254/16, leases persisted
#         (dataDir/leases.jsonl, fdatasync before the ACKs leave, or after with
#         MS_LEASE_SYNC=after-reply); TFTP off; HTTP on :18080
#   tftp  TFTP only on PORT (default 3069), root $BENCH_HOME/tftproot, blksize<=1468, window<=64
#   http  HTTP on 127.0.0.1:PORT (default 8082), assets from $BENCH_HOME/httproot/assets
# A fresh dataDir on every start, like the reference servers' wiped lease files.
# Env: MS_CMD (how to run the CLI, set by bench/lib/common.sh), MS_LOG_LEVEL (warn),
#      MS_NODE_OPTS (extra node flags, e.g. --cpu-prof --cpu-prof-dir=DIR)
set -euo pipefail
ROLE=${1:?dhcp|tftp|http}
PORT=${2:-}
: "${BENCH_HOME:?}" "${MS_CMD:?}"
RUN=$BENCH_HOME/run/metalseed-$ROLE${PORT:+-$PORT}
rm -rf "$RUN"; mkdir -p "$RUN/data"
LEVEL=${MS_LOG_LEVEL:-warn}
case $ROLE in
  dhcp) cat >"$RUN/seed.yaml" <<YAML
dataDir: $RUN/data
interface: bsrv0
advertise: 10.77.0.1
http: { port: 18080, address: 127.0.0.1 }
dhcp:
  mode: authoritative
  range: 10.77.1.0-10.77.255.254
  netmask: 255.255.0.0
  leaseTime: 12h
  leaseSync: ${MS_LEASE_SYNC:-before-reply}
tftp: { enabled: false, root: $BENCH_HOME/tftproot }
ra: { enabled: false }
log: { level: $LEVEL, format: json }
YAML
  ;;
  tftp) cat >"$RUN/seed.yaml" <<YAML
dataDir: $RUN/data
advertise: 10.77.0.1
http: { port: $((15000 + ${PORT:-3069})), address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { enabled: true, root: $BENCH_HOME/tftproot, port: ${PORT:-3069}, blksizeMax: 1468, windowsizeMax: 64 }
ra: { enabled: false }
log: { level: $LEVEL, format: json }
YAML
  ;;
  http)
    mkdir -p "$RUN/data"
    ln -sfn "$BENCH_HOME/httproot/assets" "$RUN/data/assets"
    cat >"$RUN/seed.yaml" <<YAML
dataDir: $RUN/data
advertise: 10.77.0.1
http: { port: ${PORT:-8082}, address: 127.0.0.1 }
dhcp: { mode: off }
tftp: { enabled: false, root: $BENCH_HOME/tftproot }
ra: { enabled: false }
log: { level: $LEVEL, format: json }
cluster: { controlPlaneEndpoint: 10.77.0.10:6443 }
machines:
  - { mac: "52:54:00:00:00:01", role: worker, hostname: bench-01 }
YAML
  ;;
  *) echo "unknown role $ROLE" >&2; exit 2;;
esac
# The cluster PKI (CAs, keys) is made once and copied into every fresh dataDir: creating it
# takes seconds, and the DHCP rate search restarts the server for every trial.
PKI=$BENCH_HOME/run/metalseed-pki
if [ ! -d "$PKI/pki" ]; then
  # shellcheck disable=SC2086
  $MS_CMD init --config "$RUN/seed.yaml" >/dev/null && mkdir -p "$PKI" && cp -a "$RUN/data/pki" "$PKI/"
else
  cp -a "$PKI/pki" "$RUN/data/"
fi
# shellcheck disable=SC2086
exec $MS_CMD serve --config "$RUN/seed.yaml"
