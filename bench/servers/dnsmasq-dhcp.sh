#!/usr/bin/env bash
# dnsmasq as the PXE DHCP server on bsrv0, DNS off, leases persisted to its lease file
# (dnsmasq's default: the whole file rewritten and fsynced on every change). No ICMP ping
# check (its default 3-s wait would make every new client time out), no per-packet log.
set -euo pipefail
: "${BENCH_HOME:?}"
RUN=$BENCH_HOME/run/dnsmasq-dhcp
rm -rf "$RUN"; mkdir -p "$RUN"; : >"$RUN/leases"
exec dnsmasq -k --conf-file=/dev/null --port=0 --pid-file= --interface=bsrv0 --bind-interfaces \
  --dhcp-range=10.77.1.0,10.77.255.254,255.255.0.0,12h --dhcp-lease-max=200000 \
  --dhcp-leasefile="$RUN/leases" --no-ping --quiet-dhcp --log-facility="$RUN/dnsmasq.log" \
  --dhcp-match=set:efi64,option:client-arch,7 --dhcp-match=set:efi64,option:client-arch,9 \
  --dhcp-boot=tag:efi64,ipxe.efi,,10.77.0.1 --dhcp-boot=tag:!efi64,undionly.kpxe,,10.77.0.1
