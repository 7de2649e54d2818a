#!/usr/bin/env bash
# bench/cluster-join.sh: how long a new member of a Replicode cluster takes to join, after a long history.
# Loopback only. Three members (`replicode node --cluster`, cluster ports 5701..5703, port offsets
# 0/100/200, kv app only, snapshot every 1000 frames) build HISTORY frames of kv history with
# redis-benchmark SETs; then, under a light live write load, a fourth member (5704, offset 300, data dir
# empty) starts, and the script measures
#   (a) process start -> its `ready (Ctrl-C stops)` line,
#   (b) process start -> its replica applying the first frame sequenced after its start
#       (replica lastSeq > the sequencer's lastSeq sampled just after the launch), and
#   (c) process start -> its replica caught up (replica lastSeq >= the sequencing member's
#       sequencer.lastSeq sampled just before, in the same poll),
# plus how its history joined (status .history.joinedFrom: a Raft snapshot install, or the log). After each join the load stops and
# all four members' replicas must reach the same lastSeq with the same digest (OK/FAIL). The fourth
# member is then stopped and its data removed; JOIN_RUNS joins are measured per history size.
#
#   bench/cluster-join.sh                     # HISTORY=100000
#   bench/cluster-join.sh 100000 1000000      # build to 10^5, measure; keep building to 10^6, measure
#   FSYNC=never JOIN_RUNS=1 bench/cluster-join.sh 20000
#   CLUSTER_PORT=5711 PORT_SHIFT=1000 bench/cluster-join.sh   # other ports (cluster 5711.., HTTP 9080.., RESP 7380..)
#
# Environment (defaults): FSYNC (always) log.fsync of every member; JOIN_RUNS (2); BUILD_TIMEOUT
# (1200 s, whole build of all sizes: when it runs out, the join is measured at the history reached);
# READY_TIMEOUT (180 s per member); JOIN_TIMEOUT (300 s); CONVERGE_TIMEOUT (120 s); STOP_TIMEOUT (20 s,
# TERM -> KILL); LOADS ("1x1 1x2 3x1 3x2 3x4": candidate write loads "<RESP ports>x<clients per port>",
# each tried for CALIBRATE_SECONDS (8); the one giving the most frames/s builds the history);
# LIVE_INTERVAL (0.02 s between two live SETs, one redis-cli connection through member 0); KEEP_WORK
# (keep the temp dir); STALL_SECONDS (30: the build fails, printing the members' errors, when member
# 0's log does not grow for that long under the load); ON_STALL (fail; restart: instead, stop the
# sequencing member (TERM), wait for another to take over, restart it on its data and go on building;
# the restarts are counted in the summary). The launcher (launcher/target/replicode.jar +
# lib, built with `mvn -B -q -DskipTests install` when missing) is copied to the temp dir first, so a
# rebuild in this checkout during the run cannot touch the running members.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fsync="${FSYNC:-always}"
join_runs="${JOIN_RUNS:-2}"
build_timeout="${BUILD_TIMEOUT:-1200}"
ready_timeout="${READY_TIMEOUT:-180}"
join_timeout="${JOIN_TIMEOUT:-300}"
converge_timeout="${CONVERGE_TIMEOUT:-120}"
stop_timeout="${STOP_TIMEOUT:-20}"
loads="${LOADS:-1x1 1x2 3x1 3x2 3x4}"
calibrate_seconds="${CALIBRATE_SECONDS:-8}"
live_interval="${LIVE_INTERVAL:-0.02}"
stall_seconds="${STALL_SECONDS:-30}"
on_stall="${ON_STALL:-fail}"

if (($# == 0)); then set -- "${HISTORY:-100000}"; fi
histories=("$@")

cluster_port="${CLUSTER_PORT:-5701}" # member i: cluster port CLUSTER_PORT + i
port_shift="${PORT_SHIFT:-0}"        # member i: --port-offset PORT_SHIFT + 100 i (HTTP 8080 + it, RESP 6380 + it)

# shellcheck source=lib/proc.sh
source "$root/bench/lib/proc.sh"

for h in "${histories[@]}"; do [[ $h =~ ^[1-9][0-9]*$ ]] || die "history sizes must be positive integers, not '$h'"; done
for v in cluster_port port_shift; do [[ ${!v} =~ ^[0-9]+$ ]] || die "${v^^} must be a number, not '${!v}'"; done
cluster_ports=("$cluster_port" $((cluster_port + 1)) $((cluster_port + 2)) $((cluster_port + 3)))
offsets=("$port_shift" $((port_shift + 100)) $((port_shift + 200)) $((port_shift + 300)))
for v in stall_seconds join_runs build_timeout ready_timeout join_timeout converge_timeout stop_timeout calibrate_seconds; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v^^} must be a positive integer, not '${!v}'"
done
[[ $fsync == always || $fsync == never ]] || die "FSYNC must be always or never"
[[ $on_stall == fail || $on_stall == restart ]] || die "ON_STALL must be fail or restart"
for l in $loads; do [[ $l =~ ^[1-3]x[1-9][0-9]*$ ]] || die "LOADS: '$l' is not <1..3 ports>x<clients>"; done
for tool in java curl jq redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || die "$tool is missing. Fix: apt-get install -y curl jq redis-tools (and a Java 17 JDK)"
done

all_ports=("${cluster_ports[@]}")
for o in "${offsets[@]}"; do all_ports+=($((8080 + o)) $((6380 + o))); done
busy="$(busy_ports "${all_ports[@]}")"
[[ -z $busy ]] || die "ports already in use on 127.0.0.1: $busy (another Replicode?). Fix: stop it first"

# ---- processes: started in the background, remembered by pid, stopped only by pid ------------------------

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-cluster-join.XXXXXX")"
declare -A member_pid=()  # member index -> pid of its java
load_pids=()              # redis-benchmark processes of the history build
live_pid=""               # the live load (its own process group, see start_live)



stop_loads() {
  ((${#load_pids[@]})) || return 0
  stop_pids "${load_pids[@]}"
  load_pids=()
}

stop_live() { # the live load runs in a process group of its own (setsid): its loop and its redis-cli
  [[ -n $live_pid ]] || return 0
  kill -TERM -- "-$live_pid" 2>/dev/null || true
  local deadline=$((SECONDS + stop_timeout))
  while alive "$live_pid" && ((SECONDS < deadline)); do sleep 0.1; done
  kill -KILL -- "-$live_pid" 2>/dev/null || true
  wait "$live_pid" 2>/dev/null || true
  live_pid=""
}

stop_member() { # index
  local pid=${member_pid[$1]:-}
  [[ -n $pid ]] || return 0
  stop_pids "$pid"
  unset "member_pid[$1]"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_live
  stop_loads
  local pids=()
  for i in "${!member_pid[@]}"; do pids+=("${member_pid[$i]}"); done
  ((${#pids[@]} == 0)) || stop_pids "${pids[@]}"
  if [[ -n ${KEEP_WORK:-} ]]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- the launcher, the config --------------------------------------------------------------------------

if [[ ! -f $root/launcher/target/replicode.jar || ! -f $root/launcher/target/jvm.options ]]; then
  echo "bench: no launcher/target/replicode.jar: building (mvn -B -q -DskipTests install)"
  (cd "$root" && mvn -B -q -DskipTests install) || die "the build failed"
fi
jar_dir="$work/launcher"
mkdir -p "$jar_dir"
cp -r "$root/launcher/target/replicode.jar" "$root/launcher/target/lib" "$root/launcher/target/jvm.options" "$jar_dir/"
read -r -a jvm <"$jar_dir/jvm.options"
module="$root/wasm-programs/wasm/kv_server.wasm"
[[ -f $module ]] || die "$module is missing. Fix: build the wasm programs (see wasm-programs/)"

config="$work/cluster-join.json"
jq -n --arg wasm "$module" --arg fsync "$fsync" '{
  http: {port: 8080},
  log: {fsync: $fsync},
  snapshotEveryFrames: 1000,
  apps: {kv: {"module": $wasm, listeners: ["resp", "http"], http: "http",
              tcp: [{port: 6380, listener: "resp"}]}}
}' >"$config"

start_member() { # index data-dir members-list
  local i=$1 log="$work/m$1.log"
  (cd "$root" && exec java "${jvm[@]}" -jar "$jar_dir/replicode.jar" node --cluster \
    --cluster-host 127.0.0.1 --cluster-port "${cluster_ports[i]}" --cluster-members "$3" \
    --port-offset "${offsets[i]}" --data "$2" --config "$config") >>"$log" 2>&1 &
  member_pid[$i]=$!
}

await_ready() { # index [lines]: waits for the member's `ready` line (after the first <lines> lines of its log)
  local i=$1 log="$work/m$1.log" skip=${2:-0} deadline=$((SECONDS + ready_timeout))
  # awk, not `tail | grep -q`: grep -q leaving early would make tail fail with SIGPIPE (pipefail).
  until awk -v skip="$skip" 'NR > skip && / ready \(Ctrl-C stops\)/ { found = 1; exit } END { exit !found }' \
    "$log" 2>/dev/null; do
    if ! alive "${member_pid[$i]}"; then
      echo "bench: member $i exited before it was ready" >&2
      log_tail "$log"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "bench: member $i was not ready within ${ready_timeout}s" >&2
      log_tail "$log"
      exit 1
    fi
    sleep 0.2
  done
}

status() { # index: the member's /status (empty when it does not answer within 2 s)
  curl -sf -m 2 "http://127.0.0.1:$((8080 + offsets[$1]))/status" 2>/dev/null || true
}

# The kv part of a status: .pipeline.apps.kv in the node's /status (or .apps.kv, if the member's own part
# is served alone).
kv_of='(.pipeline.apps.kv // .apps.kv // {})'

log_frames() { # index: the member's kv history.logLastSeq (0 when unknown)
  local v
  v="$(status "$1" | jq -r "$kv_of.history.logLastSeq // 0" 2>/dev/null || true)"
  echo "${v:-0}"
}

sequencer_last() { # index...: "member lastSeq" of the first of them whose kv sequencer is sequencing
  local i s
  for i in "$@"; do
    s="$(status "$i" | jq -r "$kv_of.sequencer | select(.state == \"sequencing\") | .lastSeq" 2>/dev/null || true)"
    if [[ -n $s ]]; then echo "$i $s"; return 0; fi
  done
  return 1
}

replica_last() { # index: the lowest lastSeq of the member's kv replicas (empty when it has none yet)
  status "$1" | jq -r "[$kv_of.replicas[]? | .lastSeq // empty] | if length > 0 then min else empty end" 2>/dev/null || true
}

# ---- the cluster ---------------------------------------------------------------------------------------

three="127.0.0.1:${cluster_ports[0]},127.0.0.1:${cluster_ports[1]},127.0.0.1:${cluster_ports[2]}"
four="$three,127.0.0.1:${cluster_ports[3]}"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
dirty="$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | wc -l)"
echo "cluster-join: commit $commit ($dirty files modified in the checkout; launcher jar of $(date -r "$root/launcher/target/replicode.jar" '+%F %T'))"
echo "cluster-join: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), java $(java -version 2>&1 | awk -F'"' 'NR == 1 { print $2 }'), $(redis-benchmark --version 2>/dev/null | awk '{ print $1, $2 }')"
echo "cluster-join: config $config: kv only, log.fsync $fsync, snapshotEveryFrames 1000, 1 replica per member"
echo "cluster-join: starting members 0-2 (cluster ports ${cluster_ports[0]}-${cluster_ports[2]}, port offsets ${offsets[0]}/${offsets[1]}/${offsets[2]}), data under $work"
for i in 0 1 2; do start_member "$i" "$work/m$i" "$three"; done
for i in 0 1 2; do await_ready "$i"; done
sleep 1
if ! seq_info="$(sequencer_last 0 1 2)"; then
  echo "bench: no member says its kv sequencer is sequencing" >&2
  status 0 | jq . >&2 || true
  exit 1
fi
echo "cluster-join: 3 members ready; member ${seq_info%% *} sequences kv"
grep -h '^kv: history' "$work"/m[012].log | sed 's/^/  /'

# ---- the history ---------------------------------------------------------------------------------------

start_load() { # "<ports>x<clients>" requests: redis-benchmark SETs through the first <ports> RESP ports
  local ports=${1%x*} clients=${1#*x} p
  for ((p = 0; p < ports; p++)); do
    redis-benchmark -h 127.0.0.1 -p $((6380 + offsets[p])) -t set -n "$2" -c "$clients" -P 1 -r 100000 -q \
      >>"$work/load.log" 2>&1 &
    load_pids+=($!)
  done
}

# frames_per_second load seconds: frames/s of member 0's log under the load for that long
frames_per_second() {
  local f0 f1 t0 t1
  start_load "$1" 100000000
  sleep 1
  f0="$(log_frames 0)"; t0="$(now_ms)"
  sleep "$2"
  f1="$(log_frames 0)"; t1="$(now_ms)"
  stop_loads
  echo $(((f1 - f0) * 1000 / (t1 - t0)))
}

build_deadline=$((SECONDS + build_timeout))
echo "cluster-join: warm-up load 1x2 for ${calibrate_seconds}s (JIT), then each candidate load for ${calibrate_seconds}s"
frames_per_second 1x2 "$calibrate_seconds" >/dev/null
best_load="" best_fps=0
for l in $loads; do
  fps="$(frames_per_second "$l" "$calibrate_seconds")"
  echo "  load $l (RESP ports x clients each): $fps frames/s"
  if ((fps > best_fps)); then best_fps=$fps best_load=$l; fi
done
[[ -n $best_load ]] || { echo "bench: no candidate load made frames" >&2; log_tail "$work/m0.log"; exit 1; }
echo "cluster-join: building with load $best_load ($best_fps frames/s measured)"

# build_to target: drives the chosen load until member 0's log holds target frames or the build time is out
build_to() {
  local target=$1 f t prev_f prev_t start_f start_t polls=0 moved_f moved_t
  f="$(log_frames 0)"
  start_f=$f start_t="$(now_ms)" prev_f=$f prev_t=$start_t moved_f=$f moved_t=$start_t
  ((f >= target)) && return 0
  start_load "$best_load" 1000000000
  while :; do
    sleep 2
    polls=$((polls + 1))
    f="$(log_frames 0)"; t="$(now_ms)"
    if ((f >= target || polls % 15 == 0)); then # a line every 30 s
      printf '  history %8d frames  %5d frames/s (last %2d s)  %5d frames/s (this build, %4d s)\n' "$f" \
        $(((f - prev_f) * 1000 / (t - prev_t))) $(((t - prev_t) / 1000)) $(((f - start_f) * 1000 / (t - start_t))) \
        $(((t - start_t) / 1000))
      prev_f=$f prev_t=$t
    fi
    ((f >= target)) && break
    if ((f != moved_f)); then moved_f=$f moved_t=$t; fi
    if ((t - moved_t >= stall_seconds * 1000)); then
      if [[ $on_stall == restart ]]; then
        echo "cluster-join: the history stalled at $f frames (member 0's log did not grow for ${stall_seconds}s under the load)"
        stalled
        stop_loads
        restart_sequencer
        start_load "$best_load" 1000000000
        moved_t="$(now_ms)"
        continue
      fi
      echo "cluster-join: FAIL: the history stalled at $f frames: member 0's log did not grow for ${stall_seconds}s under the load"
      stalled
      exit 1
    fi
    local pid
    for pid in "${load_pids[@]}"; do
      alive "$pid" || { echo "bench: redis-benchmark (pid $pid) stopped:" >&2; log_tail "$work/load.log"; exit 1; }
    done
    for i in 0 1 2; do
      alive "${member_pid[$i]}" || { echo "bench: member $i died during the build" >&2; log_tail "$work/m$i.log"; exit 1; }
    done
    if ((SECONDS >= build_deadline)); then
      echo "cluster-join: BUILD_TIMEOUT (${build_timeout}s) reached at $f frames (target $target);" \
        "$(((f - start_f) * 1000 / (t - start_t))) frames/s over this build"
      break
    fi
  done
  stop_loads
}

declare -A reported=() # member index -> lines of its log already searched for errors by stalled
stalled() { # what the members say when the history stops growing: status, and new SEVERE log entries
  local i from n
  for i in 0 1 2; do
    echo "  member $i kv: $(status "$i" | jq -c "$kv_of | {history: (.history | {logLastSeq}), sequencer: (.sequencer | {state, reason, epoch, lastSeq, publishedFrames}), replicas: [.replicas[]? | .lastSeq]}" 2>/dev/null)"
  done
  for i in 0 1 2; do
    from=${reported[$i]:-0}
    n=$(wc -l <"$work/m$i.log")
    reported[$i]=$n
    # A SEVERE entry is "<date> <logger>", "SEVERE: <what>", "<exception>: <message>", then stack frames.
    local severe
    severe="$(awk -v from="$from" 'NR > from && prev ~ /^SEVERE/ { print prev; print } { prev = $0 }' "$work/m$i.log" | tail -n 16)"
    if [[ -n $severe ]]; then
      echo "  member $i log, SEVERE entries since the last look (the last 8, with the exception line):"
      printf '    %s\n' "${severe//$'\n'/$'\n'    }"
    fi
  done
}

restarts=0
restart_sequencer() { # ON_STALL=restart: TERM the sequencing member, wait for a takeover, start it again
  local info k lines deadline
  info="$(sequencer_last 0 1 2)" || { echo "bench: no member sequences kv: cannot restart it" >&2; exit 1; }
  k=${info%% *}
  restarts=$((restarts + 1))
  echo "cluster-join: restart $restarts: stopping member $k (it sequences kv, lastSeq ${info#* })"
  stop_member "$k"
  deadline=$((SECONDS + 60))
  until info="$(sequencer_last 0 1 2)"; do
    ((SECONDS < deadline)) || { echo "bench: no member took over kv within 60 s of member $k leaving" >&2; exit 1; }
    sleep 0.5
  done
  echo "cluster-join: member ${info%% *} took over kv at lastSeq ${info#* }; starting member $k again on its data"
  grep -h '^kv: sequencing from' "$work/m${info%% *}.log" | tail -n 1 | sed 's/^/  /'
  lines=$(wc -l <"$work/m$k.log")
  start_member "$k" "$work/m$k" "$three"
  await_ready "$k" "$lines"
  tail -n +$((lines + 1)) "$work/m$k.log" | grep '^kv: history' | sed "s/^/  m$k: /"
}

start_live() { # one redis-cli connection through member 0, a SET every live_interval s, in its own group
  # shellcheck disable=SC2016  # expanded by the inner bash
  setsid bash -c '
    i=0
    while :; do echo "SET live:$((i % 1000)) $i"; i=$((i + 1)); sleep "$1"; done | redis-cli -h 127.0.0.1 -p "$2" >/dev/null
  ' live "$live_interval" $((6380 + offsets[0])) >>"$work/live.log" 2>&1 &
  live_pid=$!
}

# converge: all live members' kv replicas at the same lastSeq with the same digest (prints OK/FAIL)
converge() {
  local deadline=$((SECONDS + converge_timeout)) seen ns nd i
  while :; do
    seen=""
    for i in "${!member_pid[@]}"; do
      seen+="$(status "$i" | jq -r --arg m "$i" "$kv_of.replicas[]? | \"m\\(\$m) \\(.lastSeq) \\(.digest // \"-\")\"" 2>/dev/null || true)"$'\n'
    done
    ns="$(awk 'NF == 3 { print $2 }' <<<"$seen" | sort -u | wc -l)"
    nd="$(awk 'NF == 3 { print $3 }' <<<"$seen" | sort -u | wc -l)"
    if ((ns == 1 && nd == 1)) && (($(awk 'NF == 3' <<<"$seen" | wc -l) == ${#member_pid[@]})); then
      echo "  convergence: OK, ${#member_pid[@]} replicas at frame $(awk 'NF == 3 { print $2; exit }' <<<"$seen"), digest $(awk 'NF == 3 { print substr($3, 1, 16); exit }' <<<"$seen")"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "  convergence: FAIL within ${converge_timeout}s:"
      awk 'NF == 3 { printf "    %s frame %s digest %s\n", $1, $2, substr($3, 1, 16) }' <<<"$seen"
      return 1
    fi
    sleep 0.5
  done
}

results=()
failures=0

# measure_join history run: one join of member 3 (fresh data dir) under the live load
measure_join() {
  local history=$1 run=$2 data="$work/m3-$1-$2" log="$work/m3.log"
  : >"$log"
  start_live
  sleep 2
  local t0 s0 info seq_last r ready_ms="" live_ms="" caught_ms="" now
  info="$(sequencer_last 0 1 2)" || { echo "bench: no sequencing member before the join" >&2; exit 1; }
  s0=${info#* }
  t0="$(now_ms)"
  start_member 3 "$data" "$four"
  # s0 is sampled again right after the launch: a frame above it was sequenced after the process started.
  info="$(sequencer_last 0 1 2)" && s0=${info#* }
  local deadline=$((SECONDS + join_timeout))
  while [[ -z $ready_ms || -z $live_ms || -z $caught_ms ]]; do
    now="$(now_ms)"
    if [[ -z $ready_ms ]] && grep -q '^ready (Ctrl-C stops)' "$log"; then ready_ms=$((now - t0)); fi
    # The sequencer's lastSeq first, then the joiner's replica: caught up if the replica is not behind it.
    seq_last=""
    info="$(sequencer_last 0 1 2 3)" && seq_last=${info#* }
    r="$(replica_last 3)"
    now="$(now_ms)"
    if [[ -n $r ]]; then
      if [[ -z $live_ms ]] && ((r > s0)); then live_ms=$((now - t0)); fi
      if [[ -z $caught_ms && -n $seq_last ]] && ((r >= seq_last)); then caught_ms=$((now - t0)); fi
    fi
    if ! alive "${member_pid[3]}"; then
      echo "bench: the joining member exited" >&2
      log_tail "$log"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "  join: not done within ${join_timeout}s (ready ${ready_ms:-no}, first live frame ${live_ms:-no}, caught up ${caught_ms:-no})"
      log_tail "$log"
      failures=$((failures + 1))
      break
    fi
    sleep 0.05
  done
  local st joined lfirst
  st="$(status 3)"
  joined="$(jq -r "$kv_of.history.joinedFrom // \"?\"" <<<"$st" 2>/dev/null || echo '?')"
  lfirst="$(jq -r "$kv_of.history.logFirstSeq // \"?\"" <<<"$st" 2>/dev/null || echo '?')"
  grep -E '^kv: |^replicode node: member' "$log" | grep -v '^kv: tcp\|^kv: http' | sed 's/^/  m3: /'
  echo "  join $run: ready ${ready_ms:-?} ms, first frame sequenced after its start (> $s0) applied at ${live_ms:-?} ms, caught up with the sequencer at ${caught_ms:-?} ms; logFirstSeq $lfirst"
  [[ $joined == *snapshot* ]] || echo "  WARNING: the joiner did not load a snapshot: joinedFrom '$joined'"
  stop_live
  local conv=OK
  converge || { conv=FAIL; failures=$((failures + 1)); }
  results+=("history $history frames (run $run): join to ready ${ready_ms:-?} ms, to first live frame ${live_ms:-?} ms, caught up ${caught_ms:-?} ms (joined from: $joined); digests $conv")
  stop_member 3
  rm -rf "$data"
  # The members left must have a sequencer again (the joiner may have owned the ring partition).
  local d2=$((SECONDS + 60))
  until sequencer_last 0 1 2 >/dev/null; do
    ((SECONDS < d2)) || { echo "bench: no sequencing member 60 s after the joiner left" >&2; exit 1; }
    sleep 0.5
  done
}

for history in "${histories[@]}"; do
  echo "cluster-join: building the history to $history frames (member 0's kv log)"
  build_to "$history"
  reached="$(log_frames 0)"
  echo "cluster-join: history at $reached frames; measuring $join_runs join(s) of member 3 (cluster port ${cluster_ports[3]}, port offset ${offsets[3]}) under a live load (a SET every ${live_interval}s through member 0)"
  for ((run = 1; run <= join_runs; run++)); do measure_join "$reached" "$run"; done
done

echo
echo "cluster-join summary (log.fsync $fsync, build load $best_load at $best_fps frames/s, $(nproc) CPUs, $restarts restart(s) of a stalled sequencer):"
for r in "${results[@]}"; do echo "$r"; done
((failures == 0)) || exit 1
