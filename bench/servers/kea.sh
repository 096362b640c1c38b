#!/usr/bin/env bash
# ISC Kea DHCPv4 2.2 on bsrv0: memfile lease database persisted to a CSV (Kea's default:
# one appended line per lease change, no fsync), the same pool and PXE boot-file choice as
# metalseed. A fresh lease file on every start. Usage: kea.sh [nopersist]
set -euo pipefail
: "${BENCH_HOME:?}"
RUN=$BENCH_HOME/run/kea
rm -rf "$RUN"; mkdir -p "$RUN"
PERSIST=true; [ "${1:-}" = nopersist ] && PERSIST=false
cat >"$RUN/kea.json" <<JSON
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "bsrv0" ], "dhcp-socket-type": "raw" },
  "lease-database": { "type": "memfile", "persist": $PERSIST, "name": "$RUN/leases4.csv", "lfc-interval": 3600 },
  "valid-lifetime": 43200,
  "client-classes": [
    { "name": "uefi-x64", "test": "option[93].hex == 0x0007 or option[93].hex == 0x0009",
      "next-server": "10.77.0.1", "boot-file-name": "ipxe.efi" },
    { "name": "bios", "test": "not member('uefi-x64')", "next-server": "10.77.0.1", "boot-file-name": "undionly.kpxe" } ],
  "subnet4": [ { "id": 1, "subnet": "10.77.0.0/16", "pools": [ { "pool": "10.77.1.0 - 10.77.255.254" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "WARN", "output_options": [ { "output": "$RUN/kea.log" } ] } ]
} }
JSON
# keep Kea's PID and lock files out of /run
export KEA_PIDFILE_DIR=$RUN KEA_LOCKFILE_DIR=$RUN
exec kea-dhcp4 -c "$RUN/kea.json"
