#!/usr/bin/env bash
# bench/http.sh — HTTP with wrk: metalseed side by side with nginx (1 worker, sendfile)
# serving the same bytes, on the server namespace's loopback.
#
# Usage: bench/http.sh            (always metalseed and nginx)
# Env (defaults): REPS=3 DUR=10 (seconds per wrk run) CONNS=50 ASSET_CONNS=8
#   ASSETS="vmlinuz-30m:30 initrd-120m:120"  name:MiB files under assets/
#   PIN=1  server on CPU 1 and wrk on CPU 0 (one core each: a fair one-process comparison)
#   WARM_S=2  before the first measured run of each test, every server serves it for WARM_S
#          seconds, unmeasured (as bench/dhcp.sh's warm-up): a server that has run a while.
#          Cold, the seed's first /ipxe run after its start had a p99 of 435 ms and 9,174
#          req/s, its second 9.4 ms and 16,288 (2026-11-29). WARM_S=0 measures a cold start.
#   RESULTS=<tsv to append to>
# Tests, servers interleaved in rotating order within every repetition:
#   asset-<name>  GET /assets/<name>: mib_s, cpu_s_per_gib (server CPU per GiB sent)
#   ipxe          GET /ipxe?mac=52:54:00:00:00:01 (metalseed renders the machine's iPXE script
#                 each time; nginx serves the same bytes from a file): req_s, p99_ms, cpu_us_per_req
#   ignition      GET /ignition?mac=52:54:00:00:00:01 (rendered Ignition, same comparison)
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"

REPS=${REPS:-3}; DUR=${DUR:-10}; CONNS=${CONNS:-50}; ASSET_CONNS=${ASSET_CONNS:-8}; WARM_S=${WARM_S:-2}
ASSETS=${ASSETS:-vmlinuz-30m:30 initrd-120m:120}; PIN=${PIN:-1}
OUT=$RES_DIR/http-$(date +%Y%m%d-%H%M%S); mkdir -p "$OUT"
RESULTS=${RESULTS:-$OUT/results.tsv}; [ -s "$RESULTS" ] || results_header "$RESULTS"
ROOT=$BENCH_HOME/httproot
MAC=52:54:00:00:00:01
mkdir -p "$ROOT/assets" "$ROOT/rendered"
for a in $ASSETS; do
  [ -s "$ROOT/assets/${a%:*}" ] || head -c $(( ${a#*:} * 1024 * 1024 )) /dev/urandom >"$ROOT/assets/${a%:*}"
done
SPIN=""; WPIN=""; [ "$PIN" = 1 ] && { SPIN="taskset -c 1"; WPIN="taskset -c 0"; }

ns_up
trap 'stop_all; ns_down' EXIT; trap 'exit 130' INT TERM
ms_build; export MS_CMD; MS_CMD=$(ms_cmd)
declare -A PID PORT=([metalseed]=8082 [nginx]=8080)
start_bg "$SRV_NS" "$OUT/server-metalseed.log" "$SPIN $BENCH_DIR/servers/metalseed.sh http 8082"; PID[metalseed]=$STARTED_PID
start_bg "$SRV_NS" "$OUT/server-nginx.log" "$SPIN $BENCH_DIR/servers/nginx.sh 8080"; PID[nginx]=$STARTED_PID
for s in metalseed nginx; do
  wait_port "$SRV_NS" tcp "${PORT[$s]}" 30 || { tail "$OUT/server-$s.log" >&2; die "$s does not listen on ${PORT[$s]}"; }
done
get() { ip netns exec "$SRV_NS" curl -sf -o "$2" "http://127.0.0.1:8082$1"; }
# nginx serves exactly the bytes metalseed renders
get "/ipxe?mac=$MAC" "$ROOT/rendered/ipxe" || die "metalseed /ipxe failed"
get "/ignition?mac=$MAC" "$ROOT/rendered/ignition.json" || die "metalseed /ignition failed"
path_of() {  # path_of SERVER TEST
  case $2 in
    asset-*) echo "/assets/${2#asset-}";;
    ipxe) [ "$1" = nginx ] && echo /rendered/ipxe || echo "/ipxe?mac=$MAC";;
    ignition) [ "$1" = nginx ] && echo /rendered/ignition.json || echo "/ignition?mac=$MAC";;
  esac
}
for s in metalseed nginx; do for t in ipxe ignition; do
  ip netns exec "$SRV_NS" curl -sf "http://127.0.0.1:${PORT[$s]}$(path_of "$s" "$t")" | cmp -s - "$ROOT/rendered/$( [ $t = ipxe ] && echo ipxe || echo ignition.json)" \
    || die "$s $t does not serve the same bytes"
done; done
echo "wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), dur ${DUR}s, conns $CONNS (assets $ASSET_CONNS), pin=$PIN, warm-up ${WARM_S}s" | tee "$OUT/config.txt" >&2

to_ms() { awk '{v=$1; u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v); m=(u=="us")?0.001:(u=="s")?1000:1; printf "%.3f", v*m}'; }
to_mib() { awk '{v=$1; u=v; gsub(/[0-9.]/,"",u); gsub(/[A-Za-z]/,"",v); m=(u=="GB")?1024:(u=="MB")?1:(u=="KB")?1/1024:1/1048576; printf "%.1f", v*m}'; }

conns_of() { case $1 in asset-*) echo "$ASSET_CONNS";; *) echo "$CONNS";; esac; }  # conns_of TEST
load() {  # load SERVER TEST SECONDS: wrk's report on stdout
  ip netns exec "$SRV_NS" $WPIN wrk -t1 -c "$(conns_of "$2")" -d "${3}s" --timeout 30s --latency \
    "http://127.0.0.1:${PORT[$1]}$(path_of "$1" "$2")" 2>&1
}
warm() {  # warm SERVER TEST: WARM_S seconds of the same load, nothing recorded
  [ "$WARM_S" -gt 0 ] || return 0
  load "$1" "$2" "$WARM_S" >/dev/null
}

run() {  # run REP SERVER TEST
  local rep=$1 s=$2 t=$3 c f="$OUT/wrk-r$1-$2-$3.txt" c0 c1
  c=$(conns_of "$t")
  c0=$(cpu_s "${PID[$s]}")
  load "$s" "$t" "$DUR" >"$f"
  c1=$(cpu_s "${PID[$s]}")
  local rps mib p99 errs cpu
  rps=$(awk '/^Requests\/sec:/{print $2}' "$f"); mib=$(awk '/^Transfer\/sec:/{print $2}' "$f" | to_mib)
  p99=$(awk '$1=="99%"{print $2}' "$f" | to_ms); cpu=$(calc "$c1 - $c0")
  errs=$(awk '/Non-2xx|Socket errors/{gsub(/[^0-9 ]/," "); for(i=1;i<=NF;i++) n+=$i} END{print n+0}' "$f")
  case $t in
    asset-*)
      row "$RESULTS" "$rep" "$s" "http-$t" mib_s "$mib" "wrk -c$c"
      row "$RESULTS" "$rep" "$s" "http-$t" cpu_s_per_gib "$(calc "$cpu / ($mib * $DUR / 1024)")" "server CPU";;
    *)
      row "$RESULTS" "$rep" "$s" "http-$t" req_s "$rps" "wrk -c$c"
      row "$RESULTS" "$rep" "$s" "http-$t" p99_ms "$p99" "wrk -c$c"
      row "$RESULTS" "$rep" "$s" "http-$t" cpu_us_per_req "$(calc "1e6 * $cpu / ($rps * $DUR)")" "server CPU";;
  esac
  [ "$errs" = 0 ] || row "$RESULTS" "$rep" "$s" "http-$t" errors "$errs"
  log "$s $t: $rps req/s, $mib MiB/s, p99 $p99 ms, server CPU ${cpu}s, errors $errs"
}

TESTS=(); for a in $ASSETS; do TESTS+=("asset-${a%:*}"); done; TESTS+=(ipxe ignition)
for rep in $(seq "$REPS"); do
  order=(metalseed nginx); [ $((rep % 2)) = 0 ] && order=(nginx metalseed)
  for t in "${TESTS[@]}"; do for s in "${order[@]}"; do
    [ "$rep" = 1 ] && warm "$s" "$t"
    run "$rep" "$s" "$t"
  done; done
done
log "HTTP raw data: $OUT"
