#!/usr/bin/env bash
# Issue 13's memory floor: N random 4 KiB writes (fio's nbd engine, QD32, default 1,000,000) spread
# over a 64 GiB volume, served by `vstore nbd serve` and, in the same run, by
# `qemu-nbd -t --cache=none --aio=native` on a fresh qcow2. Prints for vstore the heap after a
# full GC before and after the writes (the growth is what the floor bounds), the RSS, the IOPS,
# the bytes stored, and the same figures of qemu-nbd where they apply, with the IOPS ratio.
#
# usage: bench/scripts/metadata-memory.sh
#   Env: IOS (default 1000000), SIZE (default 64G), WORKDIR (default bench/target/metadata-memory;
#   not tmpfs: qemu-nbd --cache=none needs O_DIRECT), VSTORE_JAVA_OPTS (extra JVM options for the
#   server, which runs through the `vstore` launcher with its server settings),
#   QEMU_IOS (default IOS): the writes given to qemu-nbd. A fresh qcow2 allocates a 64 KiB cluster
#   per scattered 4 KiB write (about 40 GB for 1,000,000); where the disk cannot hold that, give
#   qemu-nbd fewer writes: its rate is the allocation rate either way, and the script says so.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IOS=${IOS:-1000000}
QEMU_IOS=${QEMU_IOS:-$IOS}
SIZE=${SIZE:-64G}
WORKDIR=${WORKDIR:-$ROOT/bench/target/metadata-memory}
JDK=${JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JDK/bin/java
# shellcheck source=nbd-lib.sh
source "$ROOT/bench/scripts/nbd-lib.sh"

nbd_require_tools
nbd_build
touch "$ROOT/cli/target/vstore.built" # the launcher's mark of a build that matches the sources
mkdir -p "$WORKDIR"
rm -rf "$WORKDIR/datastore" "$WORKDIR"/*.qcow2 "$WORKDIR"/*.json "$WORKDIR"/*.log

# Heap in use after a full GC, in MiB (jstat: S0U + S1U + EU + OU).
heap_after_gc() {
  "$JDK/bin/jcmd" "$1" GC.run >/dev/null
  sleep 1
  "$JDK/bin/jstat" -gc "$1" | awk 'NR==2 { printf "%.1f", ($3 + $4 + $6 + $8) / 1024 }'
}
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

random_writes() { # side port ios
  run_fio "$WORKDIR/$1.json" "$2" randwrite randwrite 4k 32 --number_ios="$3"
}
iops() { python3 -c "import json,sys; print('%.0f' % json.load(open(sys.argv[1]))['jobs'][0]['write']['iops'])" "$1"; }

# vstore
"$JAVA" -jar "$JAR" datastore init -D "$WORKDIR/datastore" >/dev/null
"$JAVA" -jar "$JAR" volume create -D "$WORKDIR/datastore" bench "$SIZE" >/dev/null
port=$(free_port)
"$ROOT/vstore" nbd serve -D "$WORKDIR/datastore" --port "$port" disk=bench >"$WORKDIR/vstore.log" 2>&1 &
SERVER_PID=$!
wait_port "$port" "$WORKDIR/vstore.log"
heap_empty=$(heap_after_gc "$SERVER_PID")
random_writes vstore "$port" "$IOS"
heap_full=$(heap_after_gc "$SERVER_PID")
rss=$(rss_mib "$SERVER_PID")
hwm=$(hwm_mib "$SERVER_PID")
stop_server
stored=$(du -sm "$WORKDIR/datastore" | cut -f1)
vstore_iops=$(iops "$WORKDIR/vstore.json")

# qemu-nbd
need=$((QEMU_IOS * 64 / 1024 + 1024)) # MiB: a 64 KiB cluster per write, and some room
free=$(df -m --output=avail "$WORKDIR" | tail -1)
if ((free < need)); then
  echo "metadata-memory: qemu-nbd's qcow2 may need ${need} MiB, ${free} MiB free; set QEMU_IOS lower" >&2
  exit 1
fi
start_qemu
random_writes qemu "$PORT" "$QEMU_IOS"
qrss=$(rss_mib "$SERVER_PID")
qhwm=$(hwm_mib "$SERVER_PID")
stop_server
qstored=$(du -sm "$WORKDIR/fresh.qcow2" | cut -f1)
qemu_iops=$(iops "$WORKDIR/qemu.json")
rm -f "$WORKDIR/fresh.qcow2"

python3 - "$IOS" "$QEMU_IOS" "$SIZE" "$heap_empty" "$heap_full" "$rss" "$hwm" "$stored" "$vstore_iops" \
  "$qrss" "$qhwm" "$qstored" "$qemu_iops" <<'PY'
import sys
ios, qios, size, he, hf, rss, hwm, st, vi, qrss, qhwm, qst, qi = sys.argv[1:]
he, hf, rss, hwm, vi, qrss, qhwm, qi = map(float, (he, hf, rss, hwm, vi, qrss, qhwm, qi))
print(f"{int(ios):,} random 4 KiB writes, QD32, over a {size} volume (fio nbd engine)"
      + (f"; qemu-nbd given the first {int(qios):,} of them (disk room)" if qios != ios else ""))
print(f"{'':<28}{'vstore':>12}{'qemu-nbd':>12}")
print(f"{'IOPS':<28}{vi:>12.0f}{qi:>12.0f}   ratio {vi / qi:.2f}x (floor 4x)")
print(f"{'heap after full GC, empty':<28}{he:>11.1f}M")
print(f"{'heap after full GC, written':<28}{hf:>11.1f}M   growth {hf - he:.1f} MiB (floor 64)")
print(f"{'RSS at the end':<28}{rss:>11.1f}M{qrss:>11.1f}M   (floor 512 MiB)")
print(f"{'peak RSS':<28}{hwm:>11.1f}M{qhwm:>11.1f}M")
print(f"{'stored':<28}{int(st):>11}M{int(qst):>11}M")
PY
