#!/usr/bin/env bash
# Issue 13's read-locality sequence: fio over NBD, in this order, SECONDS_PER_JOB each, on one
# fresh export per run and side:
#   1. 1 MiB sequential write, QD8      3. 4 KiB random read, QD32
#   2. 4 KiB random write, QD32         4. 1 MiB sequential read, QD8
# all within the first WORKING_SET bytes of a SIZE volume. The random writes scatter the range
# written sequentially before, so both reads then read fragmented data (nbd-bench.sh writes
# sequentially right before reading sequentially, which hides that).
# vstore: `vstore nbd serve` of an empty volume in a fresh datastore; qemu-nbd: a fresh qcow2,
# `-t --cache=none --aio=native`, same directory, same fio jobs (same random offsets).
# Prints per run and line both figures (IOPS for 4 KiB, MiB/s for 1 MiB) and the ratio
# vstore / qemu-nbd (higher is better), then each line's lowest ratio over the runs.
#
# usage: bench/scripts/nbd-fio-sequence.sh
#   Env: SIZE (volume size, default 8G), WORKING_SET (default half of SIZE), SECONDS_PER_JOB
#   (default 10), RUNS (default 3), WORKDIR (default bench/target/nbd-fio-sequence; not tmpfs:
#   qemu-nbd --cache=none needs O_DIRECT). Smoke test: SIZE=256M SECONDS_PER_JOB=2 RUNS=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZE=${SIZE:-8G}
SECONDS_PER_JOB=${SECONDS_PER_JOB:-10}
RUNS=${RUNS:-3}
WORKDIR=${WORKDIR:-$ROOT/bench/target/nbd-fio-sequence}
to_bytes() { numfmt --from=iec "${1%B}"; }
WORKING_SET=${WORKING_SET:-$(( $(to_bytes "$SIZE") / 2 ))}

# shellcheck source=nbd-lib.sh
source "$ROOT/bench/scripts/nbd-lib.sh"
command -v numfmt >/dev/null || { echo "nbd-fio-sequence: numfmt is not installed" >&2; exit 1; }
nbd_require_tools
nbd_build
mkdir -p "$WORKDIR"
rm -rf "$WORKDIR"/*.json "$WORKDIR"/*.log
clean_exports

# name rw bs iodepth, in the issue's order
JOBS=("write-1m write 1m 8" "randwrite-4k randwrite 4k 32" "randread-4k randread 4k 32" "read-1m read 1m 8")

for run in $(seq "$RUNS"); do
  for side in vstore qemu; do
    "start_$side" volume
    for job in "${JOBS[@]}"; do
      read -r name rw bs depth <<<"$job"
      run_fio "$WORKDIR/run$run-$side-$name.json" "$PORT" "$name" "$rw" "$bs" "$depth" \
        --size="$WORKING_SET" --time_based --runtime="$SECONDS_PER_JOB"
    done
    stop_server
    clean_exports
  done
  echo "run $run of $RUNS done" >&2
done

python3 - "$WORKDIR" "$RUNS" "$SIZE" "$WORKING_SET" "$SECONDS_PER_JOB" <<'PY'
import json, sys
d, runs, size, ws, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
names = ["write-1m", "randwrite-4k", "randread-4k", "read-1m"]
def metric(run, side, name):
    j = json.load(open(f"{d}/run{run}-{side}-{name}.json"))["jobs"][0]
    part = j["write"] if "write" in name else j["read"]
    return part["iops"] if name.endswith("4k") else part["bw_bytes"] / 2**20
print(f"volume {size}, working set {ws / 2**20:.0f} MiB, {secs} s per job; vstore: fresh volume in a fresh "
      f"datastore; qemu-nbd: fresh qcow2, -t --cache=none --aio=native")
worst = {n: None for n in names}
for run in range(1, runs + 1):
    print(f"run {run}")
    print(f"  {'job':<14}{'unit':>6}{'vstore':>12}{'qemu-nbd':>12}{'ratio':>8}")
    for name in names:
        v, q = metric(run, "vstore", name), metric(run, "qemu", name)
        r = v / q if q else float("inf")
        worst[name] = r if worst[name] is None else min(worst[name], r)
        unit = "IOPS" if name.endswith("4k") else "MiB/s"
        print(f"  {name:<14}{unit:>6}{v:>12.0f}{q:>12.0f}{r:>7.2f}x")
print("lowest ratio over the runs (floor: >= 1.00x in every run)")
for name in names:
    print(f"  {name:<14}{worst[name]:>7.2f}x {'ok' if worst[name] >= 1.0 else 'BELOW'}")
PY
