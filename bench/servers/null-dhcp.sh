#!/usr/bin/env bash
# The null DHCP responder (bench/tools/null-dhcp.c) on bsrv0: NOT a DHCP server but the cost
# floor of one. No lease state, no persistence: an OFFER for every DISCOVER, an ACK for every
# REQUEST, addresses from a counter over the same pool as the other servers. What perfdhcp
# sustains against it is the ceiling of the harness on this machine. bench/dhcp.sh compiles it
# into $BENCH_HOME/null-dhcp (NULL_DHCP overrides the binary).
set -euo pipefail
: "${BENCH_HOME:?}"
BIN=${NULL_DHCP:-$BENCH_HOME/null-dhcp}
[ -x "$BIN" ] || { echo "null-dhcp.sh: $BIN is missing (bench/dhcp.sh null builds it)" >&2; exit 1; }
# pool 10.77.1.0 - 10.77.255.254 as kea.sh and dnsmasq-dhcp.sh
exec "$BIN" -i "${SRV_IF:-bsrv0}" -s "${SRV_IP:-10.77.0.1}" -p 10.77.1.0 -n 65279 -m 255.255.0.0 -l 43200
