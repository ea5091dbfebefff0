#!/usr/bin/env bash
# The change log's size on disk after N flushes of one changed 4 KiB block each (issue 13's floor:
# with pruning, at most 1% of the size without), and `changes since` a pinned id still exact
# (io.vstore.bench.ChangeLogSize checks it). Runs the same workload with pruning on and off
# (-Dvstore.cbt.prune=false) and prints both lines and the ratio of the SST bytes.
#
# Usage: bench/scripts/cbt-log-size.sh [FLUSHES] [WORKDIR]   (default: 1000000, bench/work)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
flushes="${1:-1000000}"
work="${2:-$root/bench/work}"
mkdir -p "$work"
java_home=/usr/lib/jvm/temurin-25-jdk-amd64
(cd "$root" && ./mvnw -q -B -DskipTests -pl bench -am package >&2)
run() {
  "$java_home/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow "$@" \
    -cp "$root/bench/target/benchmarks.jar" io.vstore.bench.ChangeLogSize "$work" "$flushes"
}
pruned="$(run)"
echo "$pruned"
full="$(run -Dvstore.cbt.prune=false)"
echo "$full"
sst() { sed -n 's/.*sstBytes=\([0-9]*\).*/\1/p' <<<"$1"; }
awk -v a="$(sst "$pruned")" -v b="$(sst "$full")" \
  'BEGIN { printf "change log on disk: %d bytes with pruning, %d without: %.4f%% (floor: at most 1%%)\n", a, b, (b ? 100 * a / b : 0) }'
