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
JAVA=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
JAR=$ROOT/cli/target/vstore.jar

for tool in fio qemu-nbd qemu-img python3; do
  command -v "$tool" >/dev/null || { echo "nbd-bench: $tool is not installed" >&2; exit 1; }
done
# Always rebuild: a stale jar would benchmark old code.
if true; then
  (cd "$ROOT" && ./mvnw -q -B -pl cli -am package -DskipTests)
fi
mkdir -p "$WORKDIR"
rm -rf "$WORKDIR"/*.json "$WORKDIR"/*.qcow2 "$WORKDIR"/*.log "$WORKDIR/datastore"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

wait_port() {
  for _ in $(seq 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nbd-bench: server on port $1 did not come up; log:" >&2
  cat "$2" >&2
  exit 1
}

# name rw bs iodepth
JOBS=("randwrite-4k randwrite 4k 32" "randread-4k randread 4k 32" "write-1m write 1m 8" "read-1m read 1m 8")

run_fio() { # side port job...
  local side=$1 port=$2 name=$3 rw=$4 bs=$5 depth=$6
  fio --name="$name" --ioengine=nbd --uri="nbd://127.0.0.1:$port/disk" --rw="$rw" --bs="$bs" \
    --iodepth="$depth" --size="$SIZE" --time_based --runtime="$RUNTIME" --ramp_time=2 \
    --randrepeat=1 --norandommap --output-format=json --output="$WORKDIR/$side-$name.json" >/dev/null
}

start_vstore() {
  local port spec; port=$(free_port)
  if [[ $MODE == memory ]]; then
    spec=memory:$SIZE
  else
    "$JAVA" -jar "$JAR" datastore init -D "$WORKDIR/datastore" >/dev/null
    "$JAVA" -jar "$JAR" volume create -D "$WORKDIR/datastore" bench "$SIZE" >/dev/null
    spec=bench
  fi
  "$JAVA" -Xmx4g -jar "$JAR" nbd serve -D "$WORKDIR/datastore" --port "$port" "disk=$spec" >"$WORKDIR/vstore.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" "$WORKDIR/vstore.log"
  PORT=$port
}

start_qemu() {
  local port; port=$(free_port)
  qemu-img create -q -f qcow2 "$WORKDIR/fresh.qcow2" "$SIZE"
  qemu-nbd -t --cache=none --aio=native -f qcow2 -b 127.0.0.1 -p "$port" -x disk "$WORKDIR/fresh.qcow2" \
    >"$WORKDIR/qemu-nbd.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" "$WORKDIR/qemu-nbd.log"
  PORT=$port
}

# Each side gets one fresh export for the whole sequence (writes first, so the reads read data).
for side in vstore qemu; do
  "start_$side"
  for job in "${JOBS[@]}"; do
    # shellcheck disable=SC2086
    run_fio "$side" "$PORT" $job
  done
  stop_server
  rm -rf "$WORKDIR/fresh.qcow2" "$WORKDIR/datastore"
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
