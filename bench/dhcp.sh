#!/usr/bin/env bash
# bench/dhcp.sh — DHCPv4 DORA benchmark with ISC perfdhcp (Debian package kea-admin),
# metalseed side by side with Kea and dnsmasq, every server with its leases persisted.
#
# Usage: bench/dhcp.sh [SERVER...]        SERVER: metalseed kea dnsmasq (default: all three),
#        or metalseed-core (the DHCP server without the provisioner, bench/tools/dhcp-core.ts),
#        metalseed-dgram / metalseed-core-dgram (the same, reading the socket through Node's
#        dgram instead of native/dhcp_batch.c: METALSEED_DHCP_BATCH=0), or
#        metalseed-after-reply (dhcp.leaseSync: after-reply: the ACK leaves once the lease is
#        written, fdatasync within 10 ms after; Kea's memfile guarantee, which never syncs),
#        or null: bench/tools/null-dhcp.c, NOT a DHCP server but its cost floor (no lease state,
#        an OFFER per DISCOVER, an ACK per REQUEST): its max_rate is the harness's ceiling
# Env (defaults): MODES="relay bcast" REPS=3 TRIAL_S=5 CLIENTS=20000 START_RATE=500
#   STEP_PCT=10 LOSS_MAX=1 LAT_RATE=200 LAT_N=1000 RESULTS=<tsv to append to>
#   RATES="9000 12000": instead of latency and search, one trial at each of these rates per
#   repetition (rows loss_pct_rN, acks_per_s_rN, pass_rN): does a rate pass, how often
#   WARM_N=2000 WARM_RATE=1000: after each start, and before anything is measured, every
#   server answers WARM_N other clients (their own MACs, perfdhcp -b) at WARM_RATE/s: the
#   steady state a seed that has run for a while is in (JIT-compiled code, threads started,
#   files grown), not its first second. WARM_N=0 measures from a cold start.
#   PARTS="lat max": which measurements run (latency, search)
#   RETRY=1: in the search, a failed trial is run once more at the same rate before the rate
#   counts as failed, for every server alike. One bad trial (a host hiccup) used to end a
#   search early: in session 8 it stopped Kea's at 3,500 DORA/s, though fixed-rate trials
#   right after had Kea pass 7 of 8 at 4,000-6,500. RETRY=0 stops at the first failure.
#   PERF_RCVBUF=8388608: perfdhcp's sockets' receive buffer in bytes, set by the preloaded
#   tools/rcvbuf.c (SO_RCVBUFFORCE). perfdhcp plays every client on one socket, so a few
#   hundred replies queued at the kernel's default size overflowed it while perfdhcp was off
#   the CPU: losses of the load generator's, counted against the server. 0: the default.
#
# relay: perfdhcp acts as a relay agent (giaddr 10.77.0.2, unicast to 10.77.0.1:67).
# bcast: perfdhcp is a directly attached client on bcli0 with the BROADCAST flag.
# Per mode and server, inside every repetition (servers in rotating order):
#   lat  LAT_N new clients at LAT_RATE/s: DISCOVER->OFFER and REQUEST->ACK p50/p99 (ms) as
#        perfdhcp saw them, and as the server's end of the link saw them (srv_*: tcpdump on
#        bsrv0, bench/lib/wire-latency.ts; the server's own time, without perfdhcp's side)
#   max  the highest rate (DORA/s) a TRIAL_S-second trial of new clients completes with
#        < LOSS_MAX % loss (1 - ACKs/DISCOVERs, 1-s tail for in-flight answers) and >= 97 %
#        of the target rate: START_RATE doubled until a trial fails, then bisected to STEP_PCT.
#        Every trial starts the server afresh (empty lease database).
#   cpu  server user+sys CPU per completed DORA in passing trials (µs); perfdhcp's own CPU
#        at the highest passing rate (client_cpu_pct of one core over its run, and per DORA)
# Every client is PXE (option 60 PXEClient:Arch:00007, option 93 = 7): each server picks
# the boot file ipxe.efi by architecture.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"

SERVERS=("$@"); [ ${#SERVERS[@]} -gt 0 ] || SERVERS=(metalseed kea dnsmasq)
MODES=${MODES:-relay bcast}; REPS=${REPS:-3}; TRIAL_S=${TRIAL_S:-5}; CLIENTS=${CLIENTS:-20000}
START_RATE=${START_RATE:-500}; STEP_PCT=${STEP_PCT:-10}; LOSS_MAX=${LOSS_MAX:-1}; RETRY=${RETRY:-1}
LAT_RATE=${LAT_RATE:-200}; LAT_N=${LAT_N:-1000}; MAX_RATE=${MAX_RATE:-64000}; RATES=${RATES:-}
WARM_N=${WARM_N:-2000}; WARM_RATE=${WARM_RATE:-1000}; PARTS=${PARTS:-lat max}
PERF_RCVBUF=${PERF_RCVBUF:-8388608}
OUT=$RES_DIR/dhcp-$(date +%Y%m%d-%H%M%S); mkdir -p "$OUT"
RESULTS=${RESULTS:-$OUT/results.tsv}; [ -s "$RESULTS" ] || results_header "$RESULTS"

server_cmd() {
  case $1 in
    metalseed) echo "$BENCH_DIR/servers/metalseed.sh dhcp";;
    # the protocol server without the provisioner (see tools/dhcp-core.ts)
    metalseed-core) echo "env -C $REPO_DIR node --import tsx $BENCH_DIR/tools/dhcp-core.ts $BENCH_HOME/run/metalseed-core-\$\$";;
    metalseed-dgram) echo "env METALSEED_DHCP_BATCH=0 $BENCH_DIR/servers/metalseed.sh dhcp";;
    metalseed-after-reply) echo "env MS_LEASE_SYNC=after-reply $BENCH_DIR/servers/metalseed.sh dhcp";;
    metalseed-core-dgram) echo "env METALSEED_DHCP_BATCH=0 -C $REPO_DIR node --import tsx $BENCH_DIR/tools/dhcp-core.ts $BENCH_HOME/run/metalseed-core-\$\$";;
    kea) echo "$BENCH_DIR/servers/kea.sh";;
    dnsmasq) echo "$BENCH_DIR/servers/dnsmasq-dhcp.sh";;
    # the harness ceiling: a responder without lease state (tools/null-dhcp.c), not a DHCP server
    null) echo "$BENCH_DIR/servers/null-dhcp.sh";;
    *) die "unknown DHCP server $1 (metalseed, metalseed-after-reply, metalseed-core, metalseed-dgram, metalseed-core-dgram, kea, dnsmasq, null)";;
  esac
}
null_build() {
  export NULL_DHCP=$BENCH_HOME/null-dhcp
  gcc -O2 -Wall -Wextra -o "$NULL_DHCP" "$BENCH_DIR/tools/null-dhcp.c" || die "cannot build null-dhcp"
}

# perfdhcp's sockets get a PERF_RCVBUF-byte receive buffer (tools/rcvbuf.c says why; 0: the
# kernel's default, as before session 7)
PERF_ENV=()
rcvbuf_build() {
  [ "$PERF_RCVBUF" -gt 0 ] || return 0
  gcc -O2 -Wall -Wextra -shared -fPIC -o "$BENCH_HOME/rcvbuf.so" "$BENCH_DIR/tools/rcvbuf.c" -ldl || die "cannot build rcvbuf.so"
  PERF_ENV=(LD_PRELOAD="$BENCH_HOME/rcvbuf.so" RCVBUF_BYTES="$PERF_RCVBUF")
}

PXE_OPTS=(-o "60,$(printf 'PXEClient:Arch:00007:UNDI:003016' | od -An -tx1 | tr -d ' \n')" -o 93,0007)
SRV_PID=""
srv_start() {  # srv_start NAME
  listening "$SRV_NS" udp 67 && die "udp/67 in $SRV_NS is busy (stale server?)"
  start_bg "$SRV_NS" "$OUT/server-$1.log" "$(server_cmd "$1")"; SRV_PID=$STARTED_PID
  wait_port "$SRV_NS" udp 67 30 || { tail -20 "$OUT/server-$1.log" >&2; die "$1 did not bind udp/67"; }
  # the seed binds DHCP before it starts TFTP and HTTP: its start-up is over once HTTP listens
  # (else up to ~1.5 CPU-s of start-up land in the first trial seconds and in CPU per DORA)
  case $1 in metalseed|metalseed-dgram|metalseed-after-reply) wait_port "$SRV_NS" tcp 18080 30 || die "$1 did not open HTTP";; esac
  sleep 0.3
}
srv_stop() { stop_pid "$SRV_PID"; SRV_PID=""; }

# child_cpu_s -> CHILD_CPU_S: user+sys CPU seconds of this shell's reaped children (bash's
# times builtin; never call it in $(...): a subshell does not see its parent's children)
child_cpu_s() {
  times >"$OUT/.times"
  CHILD_CPU_S=$(awk 'NR==2{for(i=1;i<=2;i++){split($i,t,/[ms]/); s+=t[1]*60+t[2]}} END{printf "%.3f", s}' "$OUT/.times")
}
perfdhcp_run() {  # perfdhcp_run OUTFILE MODE ARGS... -> PERF_CPU_S, PERF_WALL_S (perfdhcp's own)
  local f=$1 mode=$2 c0 t0; shift 2
  local target=(-l "$CLI_IP" "$SRV_IP"); [ "$mode" = bcast ] && target=(-l "$CLI_IF" -B)
  echo "+ perfdhcp -4 $* ${PXE_OPTS[*]} ${target[*]}" >"$f"
  child_cpu_s; c0=$CHILD_CPU_S; t0=$(date +%s.%N)
  timeout $((TRIAL_S * 4 + 60)) ip netns exec "$CLI_NS" env "${PERF_ENV[@]}" perfdhcp -4 "$@" "${PXE_OPTS[@]}" "${target[@]}" >>"$f" 2>&1
  PERF_WALL_S=$(calc "$(date +%s.%N) - $t0"); child_cpu_s; PERF_CPU_S=$(calc "$CHILD_CPU_S - $c0")
}
# warm_up OUTFILE MODE: WARM_N clients whose MACs no measured client has (base 00:0d:…
# instead of perfdhcp's 00:0c:…), at WARM_RATE/s, before a measurement
warm_up() {
  [ "$WARM_N" -gt 0 ] || return 0
  perfdhcp_run "$1.warm" "$2" -r "$WARM_RATE" -R "$WARM_N" -n "$WARM_N" -W 2000000 -b mac=00:0d:01:02:03:04
}
# counts FILE -> "discovers_sent acks_received"
counts() {
  awk '/Statistics for: DISCOVER-OFFER/{s=1} /Statistics for: REQUEST-ACK/{s=2}
       /^sent packets:/{if(s==1)d=$3} /^received packets:/{if(s==2)a=$3}
       END{print d+0, a+0}' "$1"
}

# udp_rcvbuf_errors NS: datagrams the namespace's UDP sockets dropped for a full receive
# buffer (RcvbufErrors, /proc/net/snmp is per namespace): where a lost packet was lost
udp_rcvbuf_errors() {
  ip netns exec "$1" awk '$1=="Udp:"{if(!h){for(i=2;i<=NF;i++)if($i=="RcvbufErrors")c=i; h=1}else print $c}' /proc/net/snmp
}

trial() {  # trial NAME MODE REP RATE -> PASS (0/1), CPU_US
  local name=$1 mode=$2 rep=$3 rate=$4 f="$OUT/max-$1-$2-r$3-$4.txt" c0 c1 d a loss done_rate sq0 cq0 sq cq
  srv_start "$name"; warm_up "$f" "$mode"; c0=$(cpu_s "$SRV_PID")
  sq0=$(udp_rcvbuf_errors "$SRV_NS"); cq0=$(udp_rcvbuf_errors "$CLI_NS")
  perfdhcp_run "$f" "$mode" -r "$rate" -R "$CLIENTS" -p "$TRIAL_S" -W 1000000
  c1=$(cpu_s "$SRV_PID")
  sq=$(( $(udp_rcvbuf_errors "$SRV_NS") - sq0 )); cq=$(( $(udp_rcvbuf_errors "$CLI_NS") - cq0 ))
  srv_stop
  read -r d a < <(counts "$f")
  loss=$(calc "$d > 0 ? 100 * (1 - $a / $d) : 100")
  done_rate=$(calc "$a / $TRIAL_S")
  PASS=$(awk -v l="$loss" -v m="$LOSS_MAX" -v c="$done_rate" -v r="$rate" 'BEGIN{print (l < m && c >= 0.97 * r) ? 1 : 0}')
  CPU_US=$(calc "$a > 0 ? 1e6 * ($c1 - $c0) / $a : 0"); LOSS=$loss; ACK_RATE=$done_rate
  CLI_PCT=$(calc "100 * $PERF_CPU_S / $PERF_WALL_S"); CLI_US=$(calc "$a > 0 ? 1e6 * $PERF_CPU_S / $a : 0")
  log "$name $mode rep$rep rate=$rate: $a ACKs for $d DISCOVERs (loss $loss%), cpu ${CPU_US}us/DORA pass=$PASS" \
    "(perfdhcp ${PERF_CPU_S}s CPU in ${PERF_WALL_S}s: ${CLI_PCT}% of a core, ${CLI_US}us/DORA;" \
    "receive-buffer drops: server $sq, perfdhcp $cq)"
}

# trial, and once more when it failed and RETRY=1 (the search's trials: see RETRY above)
trial_retried() {  # trial_retried NAME MODE REP RATE -> as trial
  trial "$@"
  if [ "$PASS" = 0 ] && [ "$RETRY" = 1 ]; then
    log "$1 $2 rep$3 rate=$4 failed: once more before it counts"
    trial "$@"
  fi
}

search() {  # search NAME MODE REP -> row max_rate, cpu
  local name=$1 mode=$2 rep=$3 lo=0 hi="" r=$START_RATE cpus=() cli_pct="" cli_us=""
  # a passing trial: its rate, and what it cost the server and perfdhcp (sets search's locals)
  passed() { lo=$r; cpus+=("$CPU_US"); cli_pct=$CLI_PCT; cli_us=$CLI_US; }
  while :; do
    trial_retried "$name" "$mode" "$rep" "$r"
    if [ "$PASS" = 1 ]; then passed; [ "$r" -ge "$MAX_RATE" ] && break; r=$((r * 2))
    else hi=$r; break; fi
  done
  while [ -n "$hi" ] && [ $(( (hi - lo) * 100 )) -gt $(( STEP_PCT * (lo > 0 ? lo : 1) )) ] && [ $((hi - lo)) -gt 50 ]; do
    r=$(( (lo + hi) / 2 / 50 * 50 )); [ "$r" -le "$lo" ] && break
    trial_retried "$name" "$mode" "$rep" "$r"
    if [ "$PASS" = 1 ]; then passed; else hi=$r; fi
  done
  row "$RESULTS" "$rep" "$name" "dhcp-$mode" max_rate "$lo" "DORA/s, <${LOSS_MAX}% loss, ${TRIAL_S}s trials"
  # CPU per DORA at the highest passing rate (the server is busiest there)
  [ ${#cpus[@]} -gt 0 ] && row "$RESULTS" "$rep" "$name" "dhcp-$mode" cpu_us_per_dora "${cpus[-1]}" "server CPU at the max rate"
  # the load generator's own share of the 2 cores at that rate (perfdhcp, both its threads)
  [ -n "$cli_pct" ] && row "$RESULTS" "$rep" "$name" "dhcp-$mode" client_cpu_pct "$cli_pct" "perfdhcp CPU, % of one core, at the max rate"
  [ -n "$cli_us" ] && row "$RESULTS" "$rep" "$name" "dhcp-$mode" client_cpu_us_per_dora "$cli_us" "perfdhcp CPU per DORA at the max rate"
  log "$name $mode rep$rep: max sustainable $lo DORA/s"
}

# The server's own time (bench/lib/wire-latency.ts): tcpdump on the server's end of the
# link during the latency run only, so perfdhcp's side of each exchange is not in it.
# Without tcpdump (Debian package tcpdump) the srv_* rows are left out, with a log line.
WIRE_PID=
wire_start() {  # wire_start PCAP
  WIRE_PID=
  command -v tcpdump >/dev/null || { log "tcpdump not found: no server-side latency rows"; return 0; }
  ip netns exec "$SRV_NS" tcpdump -i "$SRV_IF" -n -p -s 600 -U --immediate-mode -w "$1" udp port 67 or udp port 68 \
    >"$1.log" 2>&1 &
  WIRE_PID=$!; BENCH_PIDS+=("$WIRE_PID")
  # tcpdump says "listening on" once its capture is open; nothing is measured before
  local i; for i in $(seq 1 50); do grep -q "listening on" "$1.log" 2>/dev/null && return 0; sleep 0.1; done
  log "tcpdump did not start (see $1.log)"
}
wire_stop() {
  [ -n "$WIRE_PID" ] || return 0
  kill -INT "$WIRE_PID" 2>/dev/null; wait "$WIRE_PID" 2>/dev/null
  forget_pid "$WIRE_PID"; WIRE_PID=
}
wire_rows() {  # wire_rows PCAP NAME MODE REP -> rows srv_offer/srv_ack p50/p99
  [ -s "$1" ] || return 0
  local k p50 p99 n
  while read -r k p50 p99 n; do
    row "$RESULTS" "$4" "$2" "dhcp-$3" "srv_${k}_p50_ms" "$p50" "server's own time, $n exchanges, capture on $SRV_IF"
    row "$RESULTS" "$4" "$2" "dhcp-$3" "srv_${k}_p99_ms" "$p99" "server's own time, $n exchanges, capture on $SRV_IF"
  done < <(env -C "$REPO_DIR" node --import tsx "$BENCH_DIR/lib/wire-latency.ts" "$1")
}

latency() {  # latency NAME MODE REP -> rows offer/ack p50/p99
  local name=$1 mode=$2 rep=$3 f="$OUT/lat-$1-$2-r$3.txt"
  srv_start "$name"; warm_up "$f" "$mode"
  wire_start "$f.pcap"
  perfdhcp_run "$f" "$mode" -r "$LAT_RATE" -R "$LAT_N" -n "$LAT_N" -W 2000000 -x t
  wire_stop
  srv_stop
  # "-x t" prints, per exchange, "sent / received: T1 / T2" (seconds)
  awk '/Timestamps for packets: DISCOVER-OFFER/{s="offer"} /Timestamps for packets: REQUEST-ACK/{s="ack"}
       /^sent \/ received:/{printf "%s %.6f\n", s, ($6 - $4) * 1000}' "$f" >"$f.ms"
  local k p v
  for k in offer ack; do for p in 50 99; do
    v=$(awk -v k=$k '$1==k{print $2}' "$f.ms" | pctl "$p")
    row "$RESULTS" "$rep" "$name" "dhcp-$mode" "${k}_p${p}_ms" "$v" "$LAT_N clients at $LAT_RATE/s"
  done; done
  wire_rows "$f.pcap" "$name" "$mode" "$rep"
  read -r d a < <(counts "$f")
  log "$name $mode rep$rep latency: $(awk '$1=="ack"' "$f.ms" | wc -l) ACK timestamps, $a ACKs for $d DISCOVERs"
}

ns_up
trap 'stop_all; ns_down' EXIT; trap 'exit 130' INT TERM
[[ " ${SERVERS[*]} " =~ " metalseed"(-dgram|-after-reply)?" " ]] && { ms_build; export MS_CMD; MS_CMD=$(ms_cmd); }
[[ " ${SERVERS[*]} " =~ " null " ]] && null_build
rcvbuf_build
{ echo "servers: ${SERVERS[*]}  modes: $MODES  reps: $REPS  trial: ${TRIAL_S}s  clients: $CLIENTS  latency: $LAT_N@$LAT_RATE/s  warm-up: $WARM_N@$WARM_RATE/s"
  echo "perfdhcp: $(perfdhcp -v 2>&1 | head -1)  receive buffer: ${PERF_RCVBUF} bytes (0: the kernel default)"; } | tee "$OUT/config.txt" >&2
n=${#SERVERS[@]}
for rep in $(seq "$REPS"); do
  for mode in $MODES; do
    for k in $(seq 0 $((n - 1))); do
      name=${SERVERS[$(( (k + rep - 1) % n ))]}
      if [ -z "$RATES" ]; then
        [[ " $PARTS " == *" lat "* ]] && latency "$name" "$mode" "$rep"
        [[ " $PARTS " == *" max "* ]] && search "$name" "$mode" "$rep"
      else
        for r in $RATES; do
          trial "$name" "$mode" "$rep" "$r"
          row "$RESULTS" "$rep" "$name" "dhcp-$mode" "loss_pct_r$r" "$LOSS" "% at $r DORA/s, ${TRIAL_S}s trial"
          row "$RESULTS" "$rep" "$name" "dhcp-$mode" "acks_per_s_r$r" "$ACK_RATE" "ACKs/s at $r DORA/s"
          row "$RESULTS" "$rep" "$name" "dhcp-$mode" "pass_r$r" "$PASS" "<${LOSS_MAX}% loss and >= 97% of $r"
          row "$RESULTS" "$rep" "$name" "dhcp-$mode" "client_cpu_pct_r$r" "$CLI_PCT" "perfdhcp CPU, % of one core"
        done
      fi
    done
  done
done
log "DHCP raw data: $OUT"
