#!/usr/bin/env bash
# End-to-end linked-clone benchmarks, vstore against qemu-img qcow2 backing files in the same run
# on the same file system (see io.vstore.bench.LinkedCloneBench):
#   1. 1,000 linked clones of one snapshot (Datastore.cloneSnapshot with 1,000 names) against
#      1,000 `qemu-img create -b` overlays; floor: vstore under 2 s in total.
#   2. a pool of 100 desktops from a 2 GiB base of incompressible data, each desktop then writing
#      10 MiB of incompressible data; floor: the datastore allocates under 3.2 GiB in total.
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
run clones 1000
run space 100 2048 10
