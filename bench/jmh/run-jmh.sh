#!/usr/bin/env bash
# Builds the JMH uber-jar and runs the benchmarks with defaults sized for a 2-core machine.
# Extra arguments go to JMH after the defaults, so they win: e.g.
#   bench/jmh/run-jmh.sh -p engine=COMPILER frameOf64Events
#   bench/jmh/run-jmh.sh -f 3 -i 10
# Results: the console table, and bench/jmh/target/jmh-result.json.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# -am builds the modules the benchmarks need from this work tree; -Pjmh adds the uber-jar.
mvn -B -q -f "$root/pom.xml" -pl bench/jmh -am -Pjmh -DskipTests package

# The runtime's JVM flags (root pom property replicode.jvmArgs, e.g. -XX:-DontCompileHugeMethods),
# written to target/jvm.options by the build. JMH forks inherit the JVM flags of this process, so the
# measured JVMs run with them too (each fork prints them as "# VM options").
jvm_args="$(cat "$here/target/jvm.options")"

# Relative paths (the echo guest) resolve from bench/jmh/.
cd "$here"
# shellcheck disable=SC2086 # jvm_args is a space-separated flag list
exec java $jvm_args -jar target/benchmarks.jar \
  -f 1 -wi ${JMH_WI:-3} -w 2s -i ${JMH_I:-5} -r 2s -t 1 \
  -rf json -rff target/jmh-result.json \
  "$@"
