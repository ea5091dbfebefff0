#!/usr/bin/env bash
# Issue 13: what a 4 KiB random read of ScatteredExtentsBench's volume costs when the data is not
# in the page cache, against the disk's own rate measured the same way. io.vstore.bench.
# ScatteredReadCost builds the volume (EXTENTS scattered compressible 4 KiB extents; ~1.4 KB of
# segment per extent), waits for its metadata to warm, drops the page cache and reads on 2 threads;
# then fio reads 4 KiB at random on 2 threads (psync, buffered) over the same segment files after
# dropping the page cache again. Prints both rates and their ratio. Must run as root (drop_caches);
# the volume is deleted at the end unless KEEP=1.
#
# Usage: bench/scripts/scattered-read-cost.sh [EXTENTS] [SECONDS] [WORKDIR]   (default: 2000000, 10, bench/work/scattered-read-cost)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
extents="${1:-2000000}"
seconds="${2:-10}"
work="${3:-$root/bench/work/scattered-read-cost}"
java_home=/usr/lib/jvm/temurin-25-jdk-amd64
[ -n "${SKIP_BUILD:-}" ] || (cd "$root" && ./mvnw -q -B -DskipTests -pl bench -am package >&2)
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
out="$("$java_home/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/bench/target/benchmarks.jar" \
  io.vstore.bench.ScatteredReadCost "$work" "$extents" "$seconds")"
echo "$out"
vstore="$(sed -n 's/.*4 KiB random read \([0-9]*\)\/s.*/\1/p' <<<"$out")"
sync
echo 1 > /proc/sys/vm/drop_caches
fio_iops="$(fio --name=randread --opendir="$work/ds/segments" --rw=randread --bs=4k --numjobs=2 --ioengine=psync \
  --time_based --runtime="$seconds" --group_reporting --readonly --output-format=json |
  python3 -c 'import json, sys; s = sys.stdin.read(); print(round(json.loads(s[s.index("{"):])["jobs"][0]["read"]["iops"]))')"
echo "fio, same files, page cache dropped: 4 KiB random read ${fio_iops}/s (2 jobs, psync, buffered)"
awk -v a="$vstore" -v b="$fio_iops" 'BEGIN { printf "vstore / fio: %.2f\n", (b ? a / b : 0) }'
