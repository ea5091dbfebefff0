#!/usr/bin/env bash
# fio over NBD: `vstore nbd serve` against `qemu-nbd -t --cache=none --aio=native` on a fresh
# qcow2 in the same directory, in the same run, same fio jobs. Prints both and the ratio per line
# (IOPS for 4 KiB random, MiB/s for 1 MiB sequential; ratio = vstore / qemu-nbd, higher is better).
#
# usage: bench/scripts/nbd-bench.sh [volume|memory]
#   volume (default): a fresh datastore in WORKDIR with one empty volume, served by
#   `vstore nbd serve -D WORKDIR/datastore bench`; memory: a scratch export in vstore's heap.
#   Env: SIZE (default 1G), RUNTIME seconds per job (default 15), WORKDIR (default
#   bench/target/nbd-bench; must not be tmpfs: qemu-nbd --cache=none needs O_DIRECT).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZE=${SIZE:-1G}
RUNTIME=${RUNTIME:-15}
WORKDIR=${WORKDIR:-$ROOT/bench/target/nbd-bench}
MODE=${1:-volume}
# shellcheck source=nbd-lib.sh
source "$ROOT/bench/scripts/nbd-lib.sh"
nbd_require_tools
nbd_build
mkdir -p "$WORKDIR"
rm -rf "$WORKDIR"/*.json "$WORKDIR"/*.qcow2 "$WORKDIR"/*.log "$WORKDIR/datastore"

# name rw bs iodepth
JOBS=("randwrite-4k randwrite 4k 32" "randread-4k randread 4k 32" "write-1m write 1m 8" "read-1m read 1m 8")

# Each side gets one fresh export for the whole sequence (writes first, so the reads read data).
for side in vstore qemu; do
  "start_$side" "$MODE"
  for job in "${JOBS[@]}"; do
    read -r name rw bs depth <<<"$job"
    run_fio "$WORKDIR/$side-$name.json" "$PORT" "$name" "$rw" "$bs" "$depth" \
      --time_based --runtime="$RUNTIME" --ramp_time=2
  done
  stop_server
  clean_exports
done

python3 - "$WORKDIR" "$MODE" <<'PY'
import json, sys
d, mode = sys.argv[1], sys.argv[2]
spec = "fresh volume in a fresh datastore" if mode == "volume" else "memory (scratch export in the JVM heap)"
def metric(side, name):
    j = json.load(open(f"{d}/{side}-{name}.json"))["jobs"][0]
    part = j["write"] if "write" in name else j["read"]
    return part["iops"] if name.endswith("4k") else part["bw_bytes"] / 2**20
print(f"vstore export: {spec}; qemu-nbd: fresh qcow2, -t --cache=none --aio=native")
print(f"{'job':<14}{'unit':>6}{'vstore':>12}{'qemu-nbd':>12}{'ratio':>8}")
for name in ["randwrite-4k", "randread-4k", "write-1m", "read-1m"]:
    v, q = metric("vstore", name), metric("qemu", name)
    unit = "IOPS" if name.endswith("4k") else "MiB/s"
    print(f"{name:<14}{unit:>6}{v:>12.0f}{q:>12.0f}{v / q:>7.2f}x")
PY
