#!/usr/bin/env bash
# dnsmasq's TFTP server alone (DNS and DHCP off) on port 69 (dnsmasq cannot move it), quiet,
# up to 1000 concurrent transfers (default 50).
set -euo pipefail
: "${BENCH_HOME:?}"
RUN=$BENCH_HOME/run/dnsmasq-tftp
rm -rf "$RUN"; mkdir -p "$RUN"
exec dnsmasq -k --conf-file=/dev/null --port=0 --pid-file= --interface=bsrv0 --bind-interfaces \
  --enable-tftp --tftp-root="$BENCH_HOME/tftproot" --tftp-max=1000 --quiet-tftp \
  --log-facility="$RUN/dnsmasq.log"
