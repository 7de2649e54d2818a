#!/usr/bin/env bash
# bench/redis.sh: redis-benchmark against a local redis-server and against Replicode's kv app (3 replicas,
# fsync on), in the same run, on loopback only. Each server first gets the same load once, discarded (JVM
# warm-up), then the measured run. Prints both figures and the ratio; record them with the machine and
# method in docs/benchmarks.md.
#
#   bench/redis.sh                 # defaults: -t set,get,lpush,lpop,hset,zadd -c 50 -n 200000, then the same with -P 16
#   BENCH_ARGS="-t set -c 10 -n 50000" PIPELINE=0 bench/redis.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
redis_port="${REDIS_PORT:-16379}"
kv_port="${KV_PORT:-6380}"
bench_args="${BENCH_ARGS:--t set,get,lpush,lpop,hset,zadd -c 50 -n 200000}"
# A second pass with pipelining (-P 16); PIPELINE=0 skips it.
pipeline="${PIPELINE:-16}"

for tool in redis-server redis-benchmark; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench: $tool is missing. Fix: apt-get install redis-server redis-tools" >&2
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

wait_for_port() { # port what
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: $2 did not listen on 127.0.0.1:$1 within 60 s" >&2
  exit 1
}

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for_port "$redis_port" "redis-server"

"$root/replicode" run --data "$work/replicode" >"$work/replicode.log" 2>&1 &
pids+=($!)
wait_for_port "$kv_port" "replicode (kv RESP)"

warm() { # port: the same load once, discarded, so JIT compilation is not measured (both servers get it)
  # shellcheck disable=SC2086
  redis-benchmark -h 127.0.0.1 -p "$1" $bench_args -q >/dev/null 2>&1 || true
}

run() { # name port
  # shellcheck disable=SC2086  # bench_args is a flag list
  if ! redis-benchmark -h 127.0.0.1 -p "$2" $bench_args --csv >"$work/csv" 2>"$work/err"; then
    echo "bench: redis-benchmark against $1 failed: $(tr '\r' '\n' <"$work/err" | grep -v 'rps=' | tail -3)" >&2
    if [ "$1" = replicode ]; then
      echo "bench: the gateway's refusal counters: $(curl -s http://127.0.0.1:8080/status | tr -d ' \n' |
        grep -o '"limits":{[^}]*}' | head -1)" >&2
    fi
  fi
  tail -n +2 "$work/csv" | tr -d '"' |
    awk -F, -v name="$1" '{ printf "%-10s %-5s %12.0f req/s   p50 %6.3f ms   p99 %6.3f ms\n", name, $1, $2, $5, $7 }'
}

compare() { # args...: one measured pass of both servers with these redis-benchmark arguments
  echo "redis-benchmark $*  ($(nproc) cores, $(redis-server --version | awk '{print $3}'))"
  bench_args="$*"
  warm "$redis_port"
  run redis-server "$redis_port" | tee "$work/redis.txt"
  warm "$kv_port"
  run replicode "$kv_port" | tee "$work/replicode.txt"
  paste "$work/redis.txt" "$work/replicode.txt" |
    awk '{ printf "ratio %-5s replicode/redis = %.2f   replicode p99 %s ms\n", $2, $13 / $3, $19 }'
}

compare $bench_args
if [ "$pipeline" != 0 ]; then
  # shellcheck disable=SC2086
  compare $bench_args -P "$pipeline"
fi
