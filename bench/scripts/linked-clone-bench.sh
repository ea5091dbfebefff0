#!/usr/bin/env bash
# End-to-end linked-clone benchmarks, vstore against qemu-img qcow2 backing files in the same run
# on the same file system (see io.vstore.bench.LinkedCloneBench):
#   1. 1,000 linked clones of one snapshot (Datastore.cloneSnapshot with 1,000 names) against
#      1,000 `qemu-img create -b` overlays; floor: vstore under 2 s in total.
#   2. a pool of 100 desktops from a 2 GiB base of incompressible data, each desktop then writing
#      10 MiB of incompressible data; floor: the datastore allocates under 3.2 GiB in total.
#   3. issue 13: a pool of 1,000 desktops, each writing 10,000 random 4 KiB blocks (about 38 GiB
#      in all, several desktops at a time); the heap after a full GC before and after the writes,
#      then `pools().refresh` of every desktop; floor: at most 5 s, datastore check clean.
#      Only this one: POOL_ONLY=1; sizes: POOL_DESKTOPS, POOL_BLOCKS.
#
# Usage: bench/scripts/linked-clone-bench.sh [WORKDIR]   (default: bench/work)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$root/bench/work}"
mkdir -p "$work"
java_home=/usr/lib/jvm/temurin-25-jdk-amd64
(cd "$root" && ./mvnw -q -B -DskipTests -pl bench -am package >&2)
run() {
  "$java_home/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -cp "$root/bench/target/benchmarks.jar" io.vstore.bench.LinkedCloneBench "$work" "$@"
}
if [[ -z ${POOL_ONLY:-} ]]; then
  run clones 1000
  run space 100 2048 10
fi
run pool "${POOL_DESKTOPS:-1000}" "${POOL_BLOCKS:-10000}"
