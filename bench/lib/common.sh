# bench/lib/common.sh — shared helpers for the bench scripts (source it, bash only).
#
# Every process a bench script starts is recorded by PID and stopped by PID; nothing is ever
# killed by name. Every network address lives inside two namespaces the scripts create
# (names start with "msb-"), joined by one veth pair; nothing touches a host interface.
#
#   $SRV_NS  bsrv0 10.77.0.1/16  <== veth ==>  bcli0 10.77.0.2/16  $CLI_NS
#   (servers under test)                        (perfdhcp, TFTP load client)
#   HTTP servers and wrk use the server namespace's own loopback.
#
# An emulated round-trip time (rtt_set): tc netem on both veth ends where the kernel has
# sch_netem. Where it has not, a third namespace holds the client, behind a user-space delay
# line (tools/delayline.c) that runs in $CLI_NS and forwards frames between bcli0 and bdly0:
#   $SRV_NS bsrv0 <== veth ==> bcli0 [$CLI_NS: delayline] bdly0 <== veth ==> bfar0 10.77.0.3/16 $FAR_NS
# $CLIENT_NS names the namespace the load client runs in: $CLI_NS, or $FAR_NS behind the line.

BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_HOME=${BENCH_HOME:-/tmp/metalseed-bench}
NS_TAG=${BENCH_NS_TAG:-$$}
SRV_NS=${BENCH_SRV_NS:-msb-$NS_TAG-srv}
CLI_NS=${BENCH_CLI_NS:-msb-$NS_TAG-cli}
FAR_NS=${BENCH_FAR_NS:-msb-$NS_TAG-far}
CLIENT_NS=$CLI_NS
SRV_IP=10.77.0.1
CLI_IP=10.77.0.2
SRV_IF=bsrv0
CLI_IF=bcli0
FAR_IP=10.77.0.3
DLY_IF=bdly0
FAR_IF=bfar0
RUN_DIR=$BENCH_HOME/run
RES_DIR=${BENCH_RES_DIR:-$BENCH_HOME/results}
mkdir -p "$RUN_DIR" "$RES_DIR"
export BENCH_HOME RUN_DIR SRV_IP SRV_IF

declare -a BENCH_PIDS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

ns_up() {
  case "$SRV_NS$CLI_NS$FAR_NS" in *pxlab*|*mst-*) die "refusing namespace names $SRV_NS $CLI_NS $FAR_NS";; esac
  local ns
  for ns in "$SRV_NS" "$CLI_NS"; do
    ns_exists "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    # no IPv6 noise (DAD, router solicitations) on the test link
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  if ! ip -n "$SRV_NS" link show "$SRV_IF" >/dev/null 2>&1; then
    # created inside the server namespace, then one end moved: never on the host
    ip -n "$SRV_NS" link add "$SRV_IF" type veth peer name "$CLI_IF"
    ip -n "$SRV_NS" link set "$CLI_IF" netns "$CLI_NS"
  fi
  ip -n "$SRV_NS" addr replace "$SRV_IP/16" dev "$SRV_IF"
  ip -n "$CLI_NS" addr replace "$CLI_IP/16" dev "$CLI_IF"
  ip -n "$SRV_NS" link set "$SRV_IF" up
  ip -n "$CLI_NS" link set "$CLI_IF" up
  ip -n "$CLI_NS" -br link show "$CLI_IF" | grep -q 'UP' || die "veth $CLI_IF in $CLI_NS is not up"
  log "namespaces up: $SRV_NS ($SRV_IP) <-> $CLI_NS ($CLI_IP)"
}

ns_down() {
  local ns
  for ns in "$FAR_NS" "$CLI_NS" "$SRV_NS"; do
    if ns_exists "$ns"; then
      local pids; pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
      [ -z "$pids" ] || log "warning: processes still in $ns: $pids (not killed)"
      ip netns del "$ns"
    fi
  done
}

# netem_ok: the kernel has sch_netem (some VM kernels are built without it)
netem_ok() {
  ip netns exec "$SRV_NS" tc qdisc replace dev "$SRV_IF" root netem delay 0ms 2>/dev/null || return 1
  ip netns exec "$SRV_NS" tc qdisc del dev "$SRV_IF" root 2>/dev/null
  return 0
}

# rtt_how: how this kernel emulates a round-trip time: netem, else delayline (built with gcc,
# which the bench scripts need anyway)
rtt_how() { if netem_ok; then echo netem; else echo delayline; fi; }

# rtt_set RTT_MS: emulate RTT_MS of round-trip time from here on (0: none), half each way,
# by rtt_how's means; sets CLIENT_NS, where load clients run
DELAYLINE_PID=""
rtt_set() {
  local rtt=$1 how=${RTT_HOW:-$(rtt_how)}
  if [ "$how" = netem ]; then netem "$(calc "$rtt / 2")"; CLIENT_NS=$CLI_NS; return; fi
  if [ -n "$DELAYLINE_PID" ]; then
    stop_pid "$DELAYLINE_PID"; forget_pid "$DELAYLINE_PID"; DELAYLINE_PID=""
    log "$(grep -h 'forwarded' "$RUN_DIR/delayline.log" | tr '\n' ' ')"
    grep -q ' [1-9][0-9]* dropped' "$RUN_DIR/delayline.log" \
      && log "warning: the delay line dropped frames (its queue was full): the RTT rows above lost frames no server lost"
  fi
  CLIENT_NS=$CLI_NS
  [ "$rtt" = 0 ] && return
  if [ ! -x "$BENCH_HOME/delayline" ] || [ "$BENCH_DIR/tools/delayline.c" -nt "$BENCH_HOME/delayline" ]; then
    gcc -O2 -Wall -o "$BENCH_HOME/delayline" "$BENCH_DIR/tools/delayline.c" || die "cannot build delayline"
  fi
  if ! ns_exists "$FAR_NS"; then
    ip netns add "$FAR_NS"
    ip -n "$FAR_NS" link set lo up
    ip netns exec "$FAR_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    # created inside the client namespace, then one end moved: never on the host
    ip -n "$CLI_NS" link add "$DLY_IF" type veth peer name "$FAR_IF"
    ip -n "$CLI_NS" link set "$FAR_IF" netns "$FAR_NS"
    ip -n "$FAR_NS" addr replace "$FAR_IP/16" dev "$FAR_IF"
    ip -n "$CLI_NS" link set "$DLY_IF" up
    ip -n "$FAR_NS" link set "$FAR_IF" up
  fi
  start_bg "$CLI_NS" "$RUN_DIR/delayline.log" "$BENCH_HOME/delayline $CLI_IF $DLY_IF $(calc "$rtt * 500")"
  DELAYLINE_PID=$STARTED_PID
  sleep 0.2
  alive "$DELAYLINE_PID" || { cat "$RUN_DIR/delayline.log" >&2; die "delayline did not start"; }
  CLIENT_NS=$FAR_NS
}

# netem DELAY_MS: add DELAY_MS of one-way delay on both veth ends (RTT = 2 x DELAY_MS); 0 removes it
netem() {
  local d=$1
  if [ "$d" = 0 ]; then
    ip netns exec "$SRV_NS" tc qdisc del dev "$SRV_IF" root 2>/dev/null || true
    ip netns exec "$CLI_NS" tc qdisc del dev "$CLI_IF" root 2>/dev/null || true
  else
    ip netns exec "$SRV_NS" tc qdisc replace dev "$SRV_IF" root netem delay "${d}ms" limit 100000
    ip netns exec "$CLI_NS" tc qdisc replace dev "$CLI_IF" root netem delay "${d}ms" limit 100000
  fi
}

# start_bg NS LOGFILE CMD... -> STARTED_PID. NS "-" = host (loopback only). The command is
# exec'd so the PID is the server itself.
start_bg() {
  local ns=$1 logf=$2; shift 2
  if [ "$ns" = "-" ]; then bash -c "exec $*" >"$logf" 2>&1 </dev/null &
  else ip netns exec "$ns" bash -c "exec $*" >"$logf" 2>&1 </dev/null &
  fi
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
  echo "$STARTED_PID $(date +%s) $*" >>"$RUN_DIR/started-pids.log"
}

alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL — that PID only
stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null || true
}
# descendants PID: the PIDs of its children, grandchildren... (tftpd-hpa forks per transfer)
descendants() {
  local kids k
  kids=$(ps -o pid= --ppid "$1" 2>/dev/null | xargs)
  for k in $kids; do echo "$k"; descendants "$k"; done
}
# stop_tree PID: the process, then whatever it started that is still running (by PID)
stop_tree() {
  local kids k
  kids=$(descendants "$1")
  stop_pid "$1"
  for k in $kids; do alive "$k" && kill -TERM "$k" 2>/dev/null; done
  return 0
}
stop_all() { local p; for p in "${BENCH_PIDS[@]}"; do stop_tree "$p"; done; BENCH_PIDS=(); }
# forget_pid PID: once stopped and reaped, off the exit-time list (whose PID could be another
# process's by then)
forget_pid() {
  local p kept=()
  for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  BENCH_PIDS=("${kept[@]}")
}

# listening NS PROTO PORT: something listens there
listening() {
  local flag=-tln; [ "$2" = udp ] && flag=-uln
  ip netns exec "$1" ss $flag 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$3\$"
}
wait_port() {
  local i
  for i in $(seq $(( ${4:-20} * 10 ))); do listening "$1" "$2" "$3" && return 0; sleep 0.1; done
  return 1
}

# cpu_s PID...: user+sys CPU seconds of these processes, their live descendants and the
# children they already reaped (cutime/cstime: tftpd-hpa forks one per transfer)
cpu_s() {
  local all="$*" pids="$*" hz; hz=$(getconf CLK_TCK)
  while [ -n "$pids" ]; do
    pids=$(ps -o pid= --ppid "$(echo $pids | tr ' ' ,)" 2>/dev/null | xargs)
    all="$all $pids"
  done
  for p in $all; do awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null; done | awk -v hz="$hz" '{s+=$1} END{printf "%.3f", s/hz}'
}

# ms_to_s / arithmetic through awk
calc() { awk "BEGIN{ printf \"%.6g\", ($*) }"; }

# row FILE REP SERVER TEST METRIC VALUE [NOTE]: one result row for bench/lib/report.ts
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "$5" "$6" "${7:-}" >>"$1"; }
results_header() { printf 'rep\tserver\ttest\tmetric\tvalue\tnote\n' >"$1"; }

# metalseed's compiled build (never the repository's dist/, which bin/metalseed.js would pick
# up for everyone): tsc into $BENCH_HOME/dist. MS_RUNTIME=tsx runs the sources instead.
MS_RUNTIME=${MS_RUNTIME:-dist}
ms_build() {
  [ "$MS_RUNTIME" = dist ] || return 0
  [ -z "${MS_BUILT:-}" ] || return 0 # bench/run.sh built it once for all parts
  log "building metalseed into $BENCH_HOME/dist (tsc)"
  (cd "$REPO_DIR" && npx tsc -p tsconfig.json --outDir "$BENCH_HOME/dist" --sourceMap false) >&2 \
    || die "tsc failed"
  # native.ts looks for build/Release relative to its own file
  ln -sfn "$REPO_DIR/build" "$BENCH_HOME/build"
  ln -sfn "$REPO_DIR/node_modules" "$BENCH_HOME/node_modules"
  [ -e "$BENCH_HOME/package.json" ] || echo '{"type":"module"}' >"$BENCH_HOME/package.json"
}
ms_cmd() {
  if [ "$MS_RUNTIME" = dist ]; then echo "node ${MS_NODE_OPTS:-} $BENCH_HOME/dist/src/cli/main.js"
  else echo "node ${MS_NODE_OPTS:-} --import tsx $REPO_DIR/src/cli/main.ts"; fi
}

# pctl P: nearest-rank percentile of the numbers on stdin ("NA" when there are none)
pctl() {
  sort -g | awk -v p="$1" '{a[NR]=$1} END{ if (NR == 0) { print "NA"; exit }
    i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}
