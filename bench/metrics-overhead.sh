#!/usr/bin/env bash
# bench/metrics-overhead.sh: what recording metrics costs. Runs kv (./replicode run, 3 replicas, fsync always) with
# metrics and then with --no-metrics, ROUNDS times alternately, each time: a warm-up load (discarded), then SET and GET
# measured with redis-benchmark as separate runs, two seconds apart (the per-client connection cap counts connections
# whose close is still on its way). Loopback only. Prints each run and the mean ratio with/without per test.
#
#   bench/metrics-overhead.sh                       # defaults: ROUNDS=2, -c 50 -n 100000
#   ROUNDS=3 BENCH_ARGS="-c 50 -n 200000" bench/metrics-overhead.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kv_port="${KV_PORT:-6380}"
rounds="${ROUNDS:-2}"
bench_args="${BENCH_ARGS:--c 50 -n 100000}"
command -v redis-benchmark >/dev/null || { echo "bench: redis-benchmark is missing. Fix: apt-get install redis-tools" >&2; exit 2; }

work="$(mktemp -d)"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

measure() { # name test: one redis-benchmark run of one test, printed as "name test req/s p50 p99"
  # shellcheck disable=SC2086
  redis-benchmark -h 127.0.0.1 -p "$kv_port" -t "$2" $bench_args --csv 2>/dev/null | tail -n +2 | tr -d '"' |
    awk -F, -v name="$1" '{ printf "%-12s %-4s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n", name, $1, $2, $5, $7 }'
}

for round in $(seq 1 "$rounds"); do
  for mode in metrics no-metrics; do
    flag=(); [ "$mode" = no-metrics ] && flag=(--no-metrics)
    "$root/replicode" run "${flag[@]}" --data "$work/$mode-$round" >"$work/$mode-$round.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$kv_port") 2>/dev/null && break; sleep 0.1; done
    # shellcheck disable=SC2086
    redis-benchmark -h 127.0.0.1 -p "$kv_port" -t set,get $bench_args -q >/dev/null 2>&1 || true
    sleep 2
    measure "$mode" set | tee -a "$work/results"
    sleep 2
    measure "$mode" get | tee -a "$work/results"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  done
done
awk '{ sum[$1" "$2] += $3; n[$1" "$2]++ }
     END { for (t in n) split(t, _, " ");
           for (test in n) { split(test, k, " "); if (k[1] == "metrics") {
             printf "%s: with metrics %.0f req/s, without %.0f req/s, ratio %.3f\n", k[2], sum[test] / n[test],
               sum["no-metrics " k[2]] / n["no-metrics " k[2]], (sum[test] / n[test]) / (sum["no-metrics " k[2]] / n["no-metrics " k[2]]) } } }' \
  "$work/results"
