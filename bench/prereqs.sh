#!/usr/bin/env bash
# bench/prereqs.sh — checks (or with --install, installs) what the benchmarks need.
# Debian 12 packages: kea-admin (perfdhcp), kea-dhcp4-server, dnsmasq, tftpd-hpa, nginx, wrk,
# hyperfine, gcc, iproute2, curl, tcpdump; and atftpd, whose package conflicts with tftpd-hpa, unpacked
# (apt-get download + dpkg -x) under $BENCH_HOME/opt/atftpd-root. Installing them must not
# leave services running: on a host without policy-rc.d, stop dnsmasq/kea/nginx/tftpd-hpa
# services first (they would hold ports 53/67/69/80).
set -uo pipefail
BENCH_HOME=${BENCH_HOME:-/tmp/metalseed-bench}
PACKAGES=(kea-admin kea-dhcp4-server dnsmasq tftpd-hpa nginx wrk hyperfine gcc iproute2 curl tcpdump)
ATFTPD_ROOT=$BENCH_HOME/opt/atftpd-root

if [ "${1:-}" = --install ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
  if ! command -v atftpd >/dev/null && [ ! -x "$ATFTPD_ROOT/usr/sbin/atftpd" ]; then
    mkdir -p "$BENCH_HOME/opt/debs" && (cd "$BENCH_HOME/opt/debs" && apt-get download atftpd) \
      && dpkg -x "$BENCH_HOME"/opt/debs/atftpd_*.deb "$ATFTPD_ROOT"
  fi
fi

missing=()
need() { command -v "$1" >/dev/null || missing+=("$1 (package $2)"); }
need perfdhcp kea-admin
need kea-dhcp4 kea-dhcp4-server
need dnsmasq dnsmasq
need in.tftpd tftpd-hpa
need nginx nginx
need wrk wrk
need hyperfine hyperfine
need gcc gcc
need tc iproute2
need curl curl
need tcpdump tcpdump
need node nodejs
command -v atftpd >/dev/null || [ -x "$ATFTPD_ROOT/usr/sbin/atftpd" ] \
  || missing+=("atftpd (apt-get download atftpd; dpkg -x atftpd_*.deb $ATFTPD_ROOT)")
[ "$(id -u)" = 0 ] || missing+=("root (network namespaces, ports 67/69)")
[ -e "$(dirname "$0")/../build/Release/sockopt.node" ] || missing+=("metalseed's native addon (npm ci)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'bench: missing prerequisites:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  printf 'install them with: sudo bench/prereqs.sh --install\n' >&2
  exit 1
fi
echo "bench: prerequisites present" >&2
