#!/usr/bin/env bash
# bench/scale-join.sh: how long a replica added at run time (./replicode scale) takes to apply live frames, at a
# given history length. Starts ./replicode run (kv only, 3 replicas, on loopback), writes with redis-benchmark until
# the kv log holds FRAMES frames, then TRIALS times, under a light write load: scale kv to 4 replicas (the join time
# is printed by the command: from the request until the new replica has applied every frame the log held when it was
# deployed), then back to 3. Record the figures with the machine and method in docs/benchmarks.md.
#
# KEYS=N first fills kv with about N distinct keys through pipelined SETs (few frames, a large state), to see what
# the state's size costs apart from the history's length.
#
# KEYSPACE=N (default 1000000) is the range of the keys the history's SETs write: a small one keeps the state small
# however long the history, to see what the history's length alone costs. FSYNC=never fills the history faster (one
# fsync per frame otherwise bounds the fill at a few hundred frames/s); the join does not read the log's fsync.
#
#   FRAMES=100000 TRIALS=5 bench/scale-join.sh
#   KEYS=600000 FRAMES=20000 bench/scale-join.sh
#   FRAMES=1000000 KEYSPACE=10000 FSYNC=never bench/scale-join.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
frames="${FRAMES:-100000}"
trials="${TRIALS:-5}"
keys="${KEYS:-0}"
keyspace="${KEYSPACE:-1000000}"
fsync="${FSYNC:-always}"
kv_port="${KV_PORT:-6380}"
http_port="${HTTP_PORT:-8080}"

for tool in redis-benchmark curl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench: $tool is missing. Fix: apt-get install redis-tools curl python3" >&2
    exit 2
  fi
done

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# kv alone, as conf/replicode.json has it, with the log fsynced as FSYNC says.
python3 - "$root/conf/replicode.json" "$work/conf.json" "$fsync" <<'EOF'
import json, sys
conf = json.load(open(sys.argv[1]))
conf["apps"] = {"kv": conf["apps"]["kv"]}
conf["log"]["fsync"] = sys.argv[3]
json.dump(conf, open(sys.argv[2], "w"))
EOF

"$root/replicode" run --config "$work/conf.json" --data "$work/data" >"$work/replicode.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$kv_port") 2>/dev/null; then break; fi
  sleep 0.1
done

last_seq() {
  curl -s "http://127.0.0.1:$http_port/status" | python3 -c '
import json, sys
try:
    print(json.load(sys.stdin)["pipeline"]["apps"]["kv"]["log"]["lastSeq"])
except Exception:
    print(0)'
}

if [ "$keys" -gt 0 ]; then
  redis-benchmark -h 127.0.0.1 -p "$kv_port" -t set -c 10 -P 50 -n $(( keys * 3 / 2 )) -r "$keys" -q >/dev/null 2>&1 || true
  echo "state: $(redis-cli -p "$kv_port" DBSIZE 2>/dev/null || echo '?') keys"
fi

# One client, one request in flight: about one frame per request.
t0=$(date +%s)
for _ in $(seq 1 1000); do
  seq=$(last_seq)
  if [ "$seq" -ge "$frames" ]; then break; fi
  redis-benchmark -h 127.0.0.1 -p "$kv_port" -t set -c 1 -n $(( (frames - seq) < 20000 ? (frames - seq) + 10 : 20000 )) \
    -r "$keyspace" -q >/dev/null 2>&1 || true
done
echo "history: $(last_seq) frames in $(( $(date +%s) - t0 )) s (keyspace $keyspace, fsync $fsync); state: $(redis-cli -p "$kv_port" DBSIZE 2>/dev/null || echo '?') keys"

redis-benchmark -h 127.0.0.1 -p "$kv_port" -t set -c 2 -n 100000000 -r "$keyspace" -q >/dev/null 2>&1 &
load=$!
pids+=("$load")
for i in $(seq 1 "$trials"); do
  "$root/replicode" scale --app kv --replicas 4 --node "http://127.0.0.1:$http_port" | grep 'added from'
  "$root/replicode" scale --app kv --replicas 3 --node "http://127.0.0.1:$http_port" >/dev/null
  sleep 2
done
echo "history at the end: $(last_seq) frames"
