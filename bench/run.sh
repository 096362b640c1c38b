#!/usr/bin/env bash
# bench/run.sh — metalseed against the reference servers, then the report.
#
#   bench/run.sh short   (npm run bench) one repetition of a reduced grid: a few minutes
#   bench/run.sh full    three repetitions of everything (see bench/README.md): about an hour
#
# Results (one TSV for all parts) and the report land in $BENCH_HOME/results/run-<time>/.
# PARTS="dhcp tftp http" selects parts; DHCP_SERVERS the DHCP servers of a full run (add
# metalseed-core for the protocol server alone). Environment variables of the part scripts
# pass through (e.g. REPS=5 bench/run.sh full).
set -uo pipefail
B=$(cd "$(dirname "$0")" && pwd)
cd "$B/.." || exit 1  # tsx resolves from the repository
MODE=${1:-short}
BENCH_HOME=${BENCH_HOME:-/tmp/metalseed-bench}
PARTS=${PARTS:-dhcp tftp http}
OUT=$BENCH_HOME/results/run-$MODE-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
export RESULTS=$OUT/results.tsv BENCH_HOME
"$B/prereqs.sh" || exit 1
# compile metalseed once for all parts (lib/common.sh ms_build)
. "$B/lib/common.sh"
ms_build && export MS_BUILT=1
{
  echo "metalseed bench ($MODE) $(date -u +%FT%TZ)"
  echo "commit $(git -C "$B/.." rev-parse --short HEAD)$(git -C "$B/.." diff --quiet HEAD -- src native || echo ' + uncommitted changes in src/native')"
  echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r), node $(node -v)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/run.txt"

case $MODE in
  short)
    dhcp() { REPS=1 MODES=relay TRIAL_S=3 START_RATE=500 STEP_PCT=25 LAT_N=500 "$B/dhcp.sh" metalseed metalseed-after-reply kea; }
    tftp() {
      REPS=1 RUNS=3 RUNS_BIG=1 WINS="1 8 64" BIG_GRID="1468:16" CONC=500 CONC_WINS="8" CONC_RUNS=1 \
        RTTS="0 2" RTT_GRID="1468:8" "$B/tftp.sh"
    }
    http() { REPS=1 DUR=3 ASSETS="vmlinuz-30m:30" "$B/http.sh"; }
    ;;
  full)
    # shellcheck disable=SC2086
    dhcp() { "$B/dhcp.sh" ${DHCP_SERVERS:-metalseed metalseed-after-reply kea dnsmasq}; }
    tftp() { "$B/tftp.sh"; }
    http() { "$B/http.sh"; }
    ;;
  *) echo "usage: bench/run.sh short|full" >&2; exit 2;;
esac
for p in $PARTS; do
  echo "== $p ($(date +%T))" >&2
  $p 2>&1 | tee -a "$OUT/log.txt" >&2
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/run.txt"
node --import tsx "$B/lib/report.ts" "$RESULTS" | tee "$OUT/report.md"
echo "results: $OUT" >&2
