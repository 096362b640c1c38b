#!/usr/bin/env bash
# bench/tftp.sh — TFTP read benchmark: metalseed side by side with atftpd, tftpd-hpa and
# dnsmasq, all running at once on their own ports, tests interleaved in rotating order.
#
# Usage: bench/tftp.sh [SERVER...]   SERVER: metalseed atftpd tftpd-hpa dnsmasq (default all)
# Env (defaults):
#   REPS=3 RUNS=5 (hyperfine runs per single transfer; RUNS_BIG=3 for the 30 MiB file)
#   BLKS="512 1468" WINS="1 8 16 64"      option grid for ipxe.efi (1 MiB)
#   BIG_GRID="512:1 1468:1 1468:8 1468:16 1468:64"   blksize:windowsize pairs for 30 MiB
#   CONC=500 CONC_WINS="1 8" CONC_RUNS=3  concurrent transfers of ipxe.efi (blksize 1468)
#   RTTS="0 2"   emulated round-trip times in ms, half each way: tc netem where the kernel has
#                sch_netem, else the user-space delay line tools/delayline.c (lib/common.sh rtt_set)
#   RTT_GRID="1468:1 1468:8 1468:64"      ipxe.efi option pairs repeated with that RTT
#   RESULTS=<tsv to append to>
#   METALSEED_TFTP_PUMP=0 keeps metalseed's DATA/ACK phase in JavaScript (src/tftp/transfer.ts)
#   instead of the native pump (native/tftp_pump.c), to compare the two on one build
# Client: bench/tools/tftpload (built here with gcc), which checks every byte it receives.
# Rows: time_ms per single transfer (median of RUNS), server cpu_ms per transfer, and for
# the concurrent test wall_s, fails, p99_ms per transfer.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"

SERVERS=("$@"); [ ${#SERVERS[@]} -gt 0 ] || SERVERS=(metalseed atftpd tftpd-hpa dnsmasq)
REPS=${REPS:-3}; RUNS=${RUNS:-5}; RUNS_BIG=${RUNS_BIG:-3}
BLKS=${BLKS:-512 1468}; WINS=${WINS:-1 8 16 64}
BIG_GRID=${BIG_GRID:-512:1 1468:1 1468:8 1468:16 1468:64}
CONC=${CONC:-500}; CONC_WINS=${CONC_WINS:-1 8}; CONC_RUNS=${CONC_RUNS:-3}
RTTS=${RTTS:-0 2}; RTT_GRID=${RTT_GRID:-1468:1 1468:8 1468:64}
OUT=$RES_DIR/tftp-$(date +%Y%m%d-%H%M%S); mkdir -p "$OUT"
RESULTS=${RESULTS:-$OUT/results.tsv}; [ -s "$RESULTS" ] || results_header "$RESULTS"
ROOT=$BENCH_HOME/tftproot
LOAD=$BENCH_HOME/tftpload
gcc -O2 -Wall -o "$LOAD" "$BENCH_DIR/tools/tftpload.c" || die "cannot build tftpload"

# the files every server serves: iPXE-sized and kernel-sized random bytes
mkdir -p "$ROOT"
[ -s "$ROOT/ipxe.efi" ] || head -c $((1024 * 1024)) /dev/urandom >"$ROOT/ipxe.efi"
[ -s "$ROOT/vmlinuz-30m" ] || head -c $((30 * 1024 * 1024)) /dev/urandom >"$ROOT/vmlinuz-30m"
chmod 755 "$ROOT"; chmod 644 "$ROOT"/*

port_of() { case $1 in dnsmasq) echo 69;; tftpd-hpa) echo 1069;; atftpd) echo 2069;; metalseed) echo 3069;; *) die "unknown TFTP server $1";; esac; }
cmd_of() {
  case $1 in
    dnsmasq) echo "$BENCH_DIR/servers/dnsmasq-tftp.sh";;
    tftpd-hpa) echo "$BENCH_DIR/servers/tftpd-hpa.sh 1069";;
    atftpd) echo "$BENCH_DIR/servers/atftpd.sh 2069";;
    metalseed) echo "$BENCH_DIR/servers/metalseed.sh tftp 3069";;
  esac
}

ns_up
trap 'stop_all; ns_down' EXIT; trap 'exit 130' INT TERM
[[ " ${SERVERS[*]} " == *" metalseed "* ]] && { ms_build; export MS_CMD; MS_CMD=$(ms_cmd); }
declare -A PID
for s in "${SERVERS[@]}"; do
  p=$(port_of "$s")
  listening "$SRV_NS" udp "$p" && die "udp/$p busy in $SRV_NS"
  start_bg "$SRV_NS" "$OUT/server-$s.log" "$(cmd_of "$s")"; PID[$s]=$STARTED_PID
  wait_port "$SRV_NS" udp "$p" 30 || { tail "$OUT/server-$s.log" >&2; die "$s did not bind udp/$p"; }
done
sleep 0.5
echo "servers: ${SERVERS[*]} reps=$REPS runs=$RUNS/$RUNS_BIG conc=$CONC rtts=$RTTS" | tee "$OUT/config.txt" >&2

# single REP SERVER FILE BLK WIN RUNS TESTNAME: hyperfine median of one transfer + server CPU
single() {
  local rep=$1 s=$2 f=$3 b=$4 w=$5 runs=$6 t=$7 j="$OUT/hf.json" c0 c1 med
  local cmd="$LOAD -s $SRV_IP -p $(port_of "$s") -f $f -l $ROOT/$f -b $b -w $w"
  c0=$(cpu_s "${PID[$s]}")
  if ! ip netns exec "$CLIENT_NS" hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$j" "$cmd" \
      >"$OUT/hf.out" 2>&1; then
    log "$s $t: FAILED ($(tail -1 "$OUT/hf.out"))"; row "$RESULTS" "$rep" "$s" "$t" fails 1; return
  fi
  c1=$(cpu_s "${PID[$s]}")
  med=$(node -e 'const r=require(process.argv[1]).results[0]; console.log((r.median*1000).toFixed(2))' "$j")
  local neg; neg=$(ip netns exec "$CLIENT_NS" $cmd | grep -o 'blksize=[0-9]* windowsize=[0-9]*')
  row "$RESULTS" "$rep" "$s" "$t" time_ms "$med" "$neg"
  row "$RESULTS" "$rep" "$s" "$t" cpu_ms "$(calc "1000 * ($c1 - $c0) / ($runs + 1)")" "server CPU per transfer"
  log "$s $t: ${med} ms ($neg)"
}

# concurrent REP SERVER WIN TESTNAME: CONC transfers of ipxe.efi at once, CONC_RUNS times
concurrent() {
  local rep=$1 s=$2 w=$3 t=$4 k line walls=() p99s=() fails=0
  for k in $(seq "$CONC_RUNS"); do
    line=$(ip netns exec "$CLIENT_NS" "$LOAD" -s "$SRV_IP" -p "$(port_of "$s")" -f ipxe.efi -l "$ROOT/ipxe.efi" \
           -n "$CONC" -b 1468 -w "$w" -T 1000 -R 5 2>>"$OUT/conc-$s.err")
    echo "rep$rep $s $t run$k $line" >>"$OUT/concurrent.log"
    walls+=("$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' <<<"$line")")
    p99s+=("$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")")
    fails=$((fails + $(sed -n 's/.*fail=\([0-9]*\).*/\1/p' <<<"$line")))
  done
  row "$RESULTS" "$rep" "$s" "$t" wall_s "$(printf '%s\n' "${walls[@]}" | pctl 50)" "median of $CONC_RUNS"
  row "$RESULTS" "$rep" "$s" "$t" p99_ms "$(printf '%s\n' "${p99s[@]}" | pctl 50)" "per transfer"
  row "$RESULTS" "$rep" "$s" "$t" fails "$fails" "over $CONC_RUNS runs of $CONC"
  log "$s $t: wall ${walls[*]} s, p99 ${p99s[*]} ms, $fails failed"
}

if [[ " $RTTS " != " 0 " ]]; then
  RTT_HOW=$(rtt_how)
  case $RTT_HOW in
    netem) log "emulated RTTs ($RTTS ms): tc netem on both veth ends";;
    delayline) log "emulated RTTs ($RTTS ms): this kernel has no sch_netem; the client runs in $FAR_NS behind tools/delayline.c";;
  esac
fi
n=${#SERVERS[@]}
for rep in $(seq "$REPS"); do
  order=(); for k in $(seq 0 $((n - 1))); do order+=("${SERVERS[$(( (k + rep - 1) % n ))]}"); done
  for rtt in $RTTS; do
    rtt_set "$rtt"
    sfx=""; [ "$rtt" = 0 ] || sfx="-rtt${rtt}ms"
    if [ "$rtt" = 0 ]; then grid=(); for b in $BLKS; do for w in $WINS; do grid+=("$b:$w"); done; done
    else read -ra grid <<<"$RTT_GRID"; fi
    for bw in "${grid[@]}"; do for s in "${order[@]}"; do
      single "$rep" "$s" ipxe.efi "${bw%:*}" "${bw#*:}" "$RUNS" "tftp-ipxe.efi-b${bw%:*}-w${bw#*:}$sfx"
    done; done
    if [ "$rtt" = 0 ]; then
      for bw in $BIG_GRID; do for s in "${order[@]}"; do
        single "$rep" "$s" vmlinuz-30m "${bw%:*}" "${bw#*:}" "$RUNS_BIG" "tftp-30MiB-b${bw%:*}-w${bw#*:}"
      done; done
    fi
    for w in $CONC_WINS; do for s in "${order[@]}"; do
      concurrent "$rep" "$s" "$w" "tftp-${CONC}x-ipxe.efi-b1468-w$w$sfx"
    done; done
  done
  rtt_set 0
done
for s in "${SERVERS[@]}"; do log "$s: total server CPU $(cpu_s "${PID[$s]}") s"; done
log "TFTP raw data: $OUT"
