#!/usr/bin/env bash
# tftpd-hpa in the foreground: chroot to the root (-s), a forked child per transfer.
# Usage: tftpd-hpa.sh PORT
set -euo pipefail
: "${BENCH_HOME:?}"
exec in.tftpd -L -s -a "10.77.0.1:${1:?port}" -B 1468 "$BENCH_HOME/tftproot"
