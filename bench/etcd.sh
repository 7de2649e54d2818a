#!/usr/bin/env bash
# bench/etcd.sh: a 3-member etcd cluster against a 3-member Replicode cluster (kv app), both on loopback,
# both with fsync on, driven by the same load tool: wrk, key PUTs, a distinct key per request. One system
# at a time (etcd, then Replicode; the other is stopped meanwhile): start 3 members, wait until they all
# serve, one warm-up pass (discarded), one measured pass, read one key of the measured pass back through
# every member, stop the members. Prints writes/s, p50 and p99 of each and the ratios Replicode/etcd.
#
#   bench/etcd.sh                      # both systems: wrk -t 2 -c 50 -d 15s after a 150s warm-up
#   SYSTEMS=etcd bench/etcd.sh         # one system only (SYSTEMS=replicode for the other)
#   DURATION=30s THREADS=4 CONNECTIONS=100 WARMUP=10s bench/etcd.sh
#   RC_JVM_OPTS="-Dreplicode.raft.rpc=netty" SYSTEMS=replicode bench/etcd.sh   # extra JVM options for Replicode
#
# Load target: all requests go to member 1 of each system, whether or not it leads. For etcd that is
# 127.0.0.1:2379 (a follower forwards the proposal to the leader; ETCD_TARGET=leader sends the load to
# the current leader instead); for Replicode the gateway of member 1, http://127.0.0.1:8080/kv/<key>.
#
# etcd (Debian's etcd-server): members m1..m3 with client/peer ports 2379/2380, 22379/22380,
# 32379/32380, static bootstrap (--initial-cluster), data under a temp dir; the WAL is fsynced (etcd's
# default; --unsafe-no-fsync is not passed). Load: POST /v3/kv/put on the JSON gRPC gateway
# (bench/lib/etcd-put.lua).
# Replicode: `replicode node --cluster --roles gateway,sequencer,replica`, members on cluster ports
# 5701..5703 with port offsets 0/100/200 (HTTP 8080/8180/8280), the apps of conf/replicode.json, whose
# log.fsync is "always" (fsync with group commit before a frame is published), one replica of each app
# per member (node's default), so 3 in all. Load: PUT /kv/<key> (bench/lib/kv-put.lua). The build is made if needed (./replicode) and copied to the temp dir, so a
# rebuild in this checkout during the run cannot touch the running members.
#
# Exit status: 0 when every system started, was measured and read its key back; 1 otherwise (the other
# system is still measured); 2 when a tool is missing or a port is taken. The figures are not asserted.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
duration="${DURATION:-15s}"
# The warm-up is long because three JVMs on two CPUs need about two minutes of this load before their JIT settles:
# successive 30 s passes on a fresh cluster gave 453, 820, 1307, 1950, 2179, 2252 writes/s (and the C2 compiler
# threads took 40 % of the CPU in the first minute). etcd gets the same warm-up; being compiled ahead, it does not
# change with it. WARMUP=5s measures a cold cluster.
warmup="${WARMUP:-150s}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-50}"
systems="${SYSTEMS:-etcd,replicode}"
etcd_target="${ETCD_TARGET:-member1}"
ready_timeout="${READY_TIMEOUT:-120}" # seconds, per system, for all three members to serve (a loaded 2-CPU VM took 65 s)
stop_timeout="${STOP_TIMEOUT:-20}"   # seconds between TERM and KILL

etcd_client_ports=(2379 22379 32379)
etcd_peer_ports=(2380 22380 32380)
rc_cluster_ports=(5701 5702 5703)
rc_offsets=(0 100 200)

# shellcheck source=lib/proc.sh
source "$root/bench/lib/proc.sh"

# ---- arguments and tools -------------------------------------------------------------------------------

want_etcd=0 want_replicode=0
for s in ${systems//,/ }; do
  case "$s" in
    etcd) want_etcd=1 ;;
    replicode) want_replicode=1 ;;
    *) die "SYSTEMS: unknown system '$s'. Fix: SYSTEMS=etcd, SYSTEMS=replicode or SYSTEMS=etcd,replicode" ;;
  esac
done
((want_etcd + want_replicode > 0)) || die "SYSTEMS is empty. Fix: SYSTEMS=etcd,replicode"
[[ $etcd_target == member1 || $etcd_target == leader ]] || die "ETCD_TARGET must be member1 or leader"
for v in threads connections ready_timeout stop_timeout; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v^^} must be a positive integer, not '${!v}'"
done
((connections >= threads)) || die "CONNECTIONS ($connections) must be at least THREADS ($threads) for wrk"

declare -A package=([wrk]=wrk [curl]=curl [etcd]=etcd-server [etcdctl]=etcd-client [java]=openjdk-17-jdk-headless)
needed=(wrk curl)
if ((want_etcd)); then needed+=(etcd etcdctl); fi
if ((want_replicode)); then needed+=(java); fi
missing=() packages=()
for tool in "${needed[@]}"; do
  if ! command -v "$tool" >/dev/null; then missing+=("$tool"); packages+=("${package[$tool]}"); fi
done
if ((${#missing[@]})); then
  echo "bench: missing: ${missing[*]}" >&2
  echo "Fix: apt-get install -y ${packages[*]}" >&2
  exit 2
fi

etcd_ports=("${etcd_client_ports[@]}" "${etcd_peer_ports[@]}")
rc_ports=("${rc_cluster_ports[@]}")
for p in "${rc_cluster_ports[@]}"; do rc_ports+=($((p + 1000))); done # each member's Raft port
for o in "${rc_offsets[@]}"; do rc_ports+=($((8080 + o))); done
to_check=()
if ((want_etcd)); then to_check+=("${etcd_ports[@]}"); fi
if ((want_replicode)); then to_check+=("${rc_ports[@]}"); fi
busy="$(busy_ports "${to_check[@]}")"
[[ -z $busy ]] || die "ports already in use on 127.0.0.1: $busy (another etcd or Replicode?). Fix: stop it first"

# ---- processes: started in the background, remembered by pid, stopped only by pid ------------------------

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-etcd.XXXXXX")"
pids=()
wrk_pid=""


stop_all() { # TERM every pid started, KILL what still runs after stop_timeout, reap them all
  ((${#pids[@]})) || return 0
  stop_pids "${pids[@]}"
  pids=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $wrk_pid ]]; then kill -TERM "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true; fi
  stop_all
  if [[ -n ${KEEP_WORK:-} ]]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# ---- wrk ---------------------------------------------------------------------------------------------

# wrk_pass label duration url script prefix out: one wrk run; fails when wrk fails or made no request.
wrk_pass() {
  local label=$1 dur=$2 url=$3 script=$4 prefix=$5 out=$6 rc=0
  # In the background and waited for: wrk handles Ctrl-C itself (prints its figures, exits 0), after
  # which bash would not run the INT trap; an interrupted `wait` does run it at once.
  wrk --latency -t "$threads" -c "$connections" -d "$dur" -s "$script" "$url" -- "$prefix" >"$out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || rc=$?
  wrk_pid=""
  if ((rc != 0)) || ! grep -q '^Requests/sec:' "$out"; then
    echo "bench: $label: wrk failed:" >&2
    log_tail "$out"
    return 1
  fi
  if ! grep -Eq '^ +[1-9][0-9]* requests in' "$out"; then
    echo "bench: $label: wrk completed no request:" >&2
    log_tail "$out"
    return 1
  fi
}

# parse_wrk file: prints "writes/s p50_ms p99_ms non2xx socket_errors requests" from wrk --latency output.
# wrk counts as "Non-2xx or 3xx responses" every status above 399 (3xx would count as success).
parse_wrk() {
  awk '
    function ms(s) { # wrk prints latencies as 123.45us, 1.23ms, 1.23s, 1.23m
      if (s ~ /us$/) return s / 1000
      if (s ~ /ms$/) return s + 0
      if (s ~ /m$/) return s * 60000
      if (s ~ /s$/) return s * 1000
      return s + 0
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    / requests in / { reqs = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
    END { printf "%.0f %.3f %.3f %d %d %d\n", rps, p50, p99, bad, sock, reqs }
  ' "$1"
}

declare -A result status
# measure system url script: warm-up pass (discarded), then the measured pass; sets result[system].
measure() {
  local sys=$1 url=$2 script=$3
  echo "$sys: wrk --latency -t $threads -c $connections -d D -s ${script#"$root/"} $url -- warm|run"
  echo "$sys: warm-up pass, $warmup (discarded)"
  wrk_pass "$sys warm-up" "$warmup" "$url" "$script" warm "$work/$sys-warmup.txt" || return 1
  echo "$sys: measured pass, $duration"
  wrk_pass "$sys" "$duration" "$url" "$script" run "$work/$sys-wrk.txt" || return 1
  result[$sys]="$(parse_wrk "$work/$sys-wrk.txt")"
  local rps p50 p99 bad sock reqs
  read -r rps p50 p99 bad sock reqs <<<"${result[$sys]}"
  echo "$sys: $reqs requests, $rps writes/s, p50 $p50 ms, p99 $p99 ms"
  ((bad == 0)) || echo "WARNING: $sys: wrk reports $bad responses with a status of 400 or more (of $reqs)"
  ((sock == 0)) || echo "WARNING: $sys: wrk reports $sock socket errors (connect/read/write/timeout): $(grep 'Socket errors' "$work/$sys-wrk.txt")"
}

# The key read back: request 2 of wrk thread 1 in the measured pass (see bench/lib/*.lua). Not request 1:
# wrk 4.1 calls request() once on thread 1's Lua state to check the request, and never sends that one.
check_key="run-1-2"
check_value="v:$check_key"

# ---- etcd --------------------------------------------------------------------------------------------

etcd_endpoints() { local IFS=,; local eps=("${etcd_client_ports[@]/#/http://127.0.0.1:}"); echo "${eps[*]}"; }

bench_etcd() {
  local i initial="" name
  for i in 0 1 2; do
    initial+="${initial:+,}m$((i + 1))=http://127.0.0.1:${etcd_peer_ports[i]}"
  done
  local busy
  busy="$(busy_ports "${etcd_ports[@]}")"
  if [[ -n $busy ]]; then
    echo "bench: etcd: ports now in use on 127.0.0.1: $busy (taken since the script started)" >&2
    status[etcd]="did not start"
    return 0
  fi
  echo "etcd: starting 3 members ($(etcd --version | awk '/^etcd Version/ { print $3 }')), data under $work/etcd"
  for i in 0 1 2; do
    name="m$((i + 1))"
    mkdir -p "$work/etcd"
    etcd --name "$name" --data-dir "$work/etcd/$name" \
      --listen-client-urls "http://127.0.0.1:${etcd_client_ports[i]}" \
      --advertise-client-urls "http://127.0.0.1:${etcd_client_ports[i]}" \
      --listen-peer-urls "http://127.0.0.1:${etcd_peer_ports[i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${etcd_peer_ports[i]}" \
      --initial-cluster "$initial" --initial-cluster-state new \
      --initial-cluster-token "bench-etcd-$$" >"$work/etcd-$name.log" 2>&1 &
    pids+=($!)
  done
  local deadline=$((SECONDS + ready_timeout)) eps
  eps="$(etcd_endpoints)"
  until ETCDCTL_API=3 etcdctl --endpoints="$eps" --command-timeout=2s endpoint health >/dev/null 2>&1; do
    for i in 0 1 2; do
      if ! alive "${pids[i]}"; then
        echo "bench: etcd member m$((i + 1)) exited during start" >&2
        log_tail "$work/etcd-m$((i + 1)).log"
        status[etcd]="did not start"
        return 0
      fi
    done
    if ((SECONDS >= deadline)); then
      echo "bench: etcd: the 3 members were not all healthy within ${ready_timeout}s" >&2
      ETCDCTL_API=3 etcdctl --endpoints="$eps" --command-timeout=2s endpoint health >&2 || true
      log_tail "$work/etcd-m1.log"
      status[etcd]="did not start"
      return 0
    fi
    sleep 0.2
  done

  # Which member leads (for the record, and for ETCD_TARGET=leader).
  local leader_port="" target_port=${etcd_client_ports[0]}
  # `endpoint status` (simple format): endpoint, ID, version, db size, is leader, is learner, ...
  leader_port="$(ETCDCTL_API=3 etcdctl --endpoints="$eps" endpoint status 2>/dev/null |
    awk -F', ' '$5 == "true" { n = split($1, a, ":"); print a[n]; exit }')" || true
  if [[ -n $leader_port ]]; then
    echo "etcd: all 3 members healthy; leader: 127.0.0.1:$leader_port"
    [[ $etcd_target == leader ]] && target_port=$leader_port
  else
    echo "etcd: all 3 members healthy; leader not identified by 'etcdctl endpoint status'"
  fi

  if ! measure etcd "http://127.0.0.1:$target_port/v3/kv/put" "$root/bench/lib/etcd-put.lua"; then
    status[etcd]="load failed"
    stop_all
    return 0
  fi

  # Read back one key of the measured pass through every member (linearizable reads).
  local ok=1 got port
  for port in "${etcd_client_ports[@]}"; do
    got="$(ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:$port" --command-timeout=10s \
      get "$check_key" --print-value-only 2>&1 | tail -n 1)" || true
    if [[ $got == "$check_value" ]]; then
      echo "etcd: read-back of $check_key through 127.0.0.1:$port: OK"
    else
      echo "etcd: read-back of $check_key through 127.0.0.1:$port: FAIL (expected '$check_value', got '$got')"
      ok=0
    fi
  done
  if ((ok)); then status[etcd]=ok; else status[etcd]="read-back failed"; fi
  echo "etcd: stopping"
  stop_all
}

# ---- Replicode ----------------------------------------------------------------------------------------

bench_replicode() {
  local jar_dir="$work/replicode-build" help="$work/replicode-node-help.txt"
  # ./replicode builds when the jar is missing or older than the sources; `node --help` also checks the
  # clustered node command exists.
  echo "replicode: checking the build and the node command (./replicode node --help)"
  if ! (cd "$root" && ./replicode node --help) >"$help" 2>&1 ||
    ! grep -q -- '--cluster-members' "$help" || ! grep -q -- '--port-offset' "$help"; then
    echo "bench: './replicode node --help' failed or lists no --cluster-members/--port-offset:" \
      "this build has no clustered 'node' command yet" >&2
    log_tail "$help"
    status[replicode]="did not start"
    return 0
  fi
  mkdir -p "$jar_dir"
  cp -r "$root/launcher/target/replicode.jar" "$root/launcher/target/lib" "$root/launcher/target/jvm.options" "$jar_dir/"
  local -a jvm
  read -r -a jvm <"$jar_dir/jvm.options"
  # Extra options for the members, for experiments (e.g. RC_JVM_OPTS=-Dreplicode.raft.rpc=netty).
  local -a extra=()
  read -r -a extra <<<"${RC_JVM_OPTS:-}"
  jvm+=("${extra[@]}")

  local busy
  busy="$(busy_ports "${rc_ports[@]}")"
  if [[ -n $busy ]]; then
    echo "bench: Replicode: ports now in use on 127.0.0.1: $busy (taken since the script started)" >&2
    status[replicode]="did not start"
    return 0
  fi
  local i members="" log
  for i in 0 1 2; do members+="${members:+,}127.0.0.1:${rc_cluster_ports[i]}"; done
  local commit
  commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  git -C "$root" diff --quiet HEAD -- . ':!docs' ':!bench' ':!*.md' 2>/dev/null || commit+=" + uncommitted changes"
  echo "replicode: starting 3 members (checkout at $commit; $(java -version 2>&1 | head -n 1)), data under $work/replicode"
  for i in 0 1 2; do
    log="$work/replicode-m$i.log"
    (cd "$root" && exec java "${jvm[@]}" -jar "$jar_dir/replicode.jar" node --cluster \
      --roles gateway,sequencer,replica \
      --cluster-host 127.0.0.1 --cluster-port "${rc_cluster_ports[i]}" \
      --cluster-members "$members" \
      --port-offset "${rc_offsets[i]}" --data "$work/replicode/m$i") >"$log" 2>&1 &
    pids+=($!)
  done
  local deadline=$((SECONDS + ready_timeout)) pending
  while :; do
    pending=0
    for i in 0 1 2; do
      log="$work/replicode-m$i.log"
      grep -qw ready "$log" 2>/dev/null && continue
      pending=1
      if ! alive "${pids[i]}"; then
        echo "bench: Replicode member m$i exited before printing 'ready'" >&2
        log_tail "$log"
        status[replicode]="did not start"
        stop_all
        return 0
      fi
      if ((SECONDS >= deadline)); then
        echo "bench: Replicode member m$i printed no 'ready' line within ${ready_timeout}s" >&2
        log_tail "$log"
        status[replicode]="did not start"
        stop_all
        return 0
      fi
    done
    ((pending)) || break
    sleep 0.2
  done
  echo "replicode: all 3 members ready"

  if ! measure replicode "http://127.0.0.1:8080/kv/" "$root/bench/lib/kv-put.lua"; then
    status[replicode]="load failed"
    stop_all
    return 0
  fi

  local ok=1 got url
  for i in 0 1 2; do
    url="http://127.0.0.1:$((8080 + rc_offsets[i]))/kv/$check_key"
    : >"$work/readback.txt"
    got="$(curl -s --max-time 10 -o "$work/readback.txt" -w '%{http_code}' "$url")" || true
    if [[ $got == 200 && $(cat "$work/readback.txt") == "$check_value" ]]; then
      echo "replicode: read-back of $check_key through $url: OK"
    else
      echo "replicode: read-back of $check_key through $url: FAIL (expected 200 '$check_value', got $got '$(head -c 200 "$work/readback.txt")')"
      alive "${pids[i]}" || echo "replicode: member m$i is no longer running"
      log_tail "$work/replicode-m$i.log"
      ok=0
    fi
  done
  if ((ok)); then status[replicode]=ok; else status[replicode]="read-back failed"; fi
  echo "replicode: stopping"
  stop_all
}

# ---- run ---------------------------------------------------------------------------------------------

cpu="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "data: $work ($(df -PT "$work" | awk 'NR == 2 { print $2 " on " $1 }'))"
echo "load: wrk ($(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }')) -t $threads -c $connections, warm-up $warmup then $duration measured, one new key per PUT, all to member 1$([[ $etcd_target == leader ]] && echo ' (etcd: to its leader)')"
echo

if ((want_etcd)); then bench_etcd; fi
if ((want_replicode)); then bench_replicode; fi

echo
printf '%-12s %10s %9s %9s %9s  %s\n' system writes/s "p50 ms" "p99 ms" non-2xx status
for sys in etcd replicode; do
  [[ -n ${status[$sys]:-} ]] || continue
  if [[ -n ${result[$sys]:-} ]]; then
    read -r rps p50 p99 bad _ _ <<<"${result[$sys]}"
    printf '%-12s %10s %9s %9s %9s  %s\n' "$sys" "$rps" "$p50" "$p99" "$bad" "${status[$sys]}"
  else
    printf '%-12s %10s %9s %9s %9s  %s\n' "$sys" - - - - "${status[$sys]}"
  fi
done
if [[ -n ${result[etcd]:-} && -n ${result[replicode]:-} ]]; then
  read -r e_rps _ e_p99 _ _ _ <<<"${result[etcd]}"
  read -r r_rps _ r_p99 _ _ _ <<<"${result[replicode]}"
  awk -v er="$e_rps" -v ep="$e_p99" -v rr="$r_rps" -v rp="$r_p99" 'BEGIN {
    printf "ratio (replicode/etcd): writes/s %s, p99 %s\n",
      (er > 0 ? sprintf("%.2f", rr / er) : "-"), (ep > 0 ? sprintf("%.2f", rp / ep) : "-") }'
fi

for sys in etcd replicode; do
  [[ -z ${status[$sys]:-} || ${status[$sys]} == ok ]] || exit 1
done
