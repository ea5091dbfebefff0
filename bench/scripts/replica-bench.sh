#!/usr/bin/env bash
# Synchronous replication benchmark of issue 15, through the daemon's NBD export with fio's nbd engine:
#
#   1. 4 KiB random writes at iodepth 32 (IOPS) and at iodepth 1 (mean and p99 latency) on a volume
#      that is not replicated and on one replicated to a second datastore of the same daemon (each a
#      fresh volume of SIZE, same fio job, same seed); ratios against the floors (IOPS >= 0.8x,
#      QD1 latency <= 1.3x);
#   2. re-protect: the replica is paused (the primary sees a disconnect), 1% of the volume is
#      rewritten in random 64 KiB blocks (fio's random map: each block once, so the changed bytes
#      are exactly the bytes written), the replica resumed; bytes the resync sent vs changed bytes
#      (floor <= 1.1x).
#
# Usage: SIZE=4G RUNTIME=20 bench/scripts/replica-bench.sh [WORKDIR]
#   (defaults: SIZE=1G, RUNTIME=15 seconds per fio job, WORKDIR=bench/work/replica)
# Needs: fio (with its nbd engine), python3; builds the vstore jar first.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORKDIR="${1:-$ROOT/bench/work/replica}"
SIZE="${SIZE:-1G}"
RUNTIME="${RUNTIME:-15}"
for tool in fio python3; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 1; }
done
fio --enghelp=nbd >/dev/null 2>&1 || { echo "$(basename "$0"): this fio has no nbd engine" >&2; exit 1; }
source "$ROOT/bench/scripts/nbd-lib.sh" # JAVA, JAR, nbd_build, free_port, wait_port, SERVER_PID, stop_server
nbd_build
vstore() { "$JAVA" -jar "$JAR" "$@"; }

rm -rf "$WORKDIR"
mkdir -p "$WORKDIR"
A="$WORKDIR/a"
B="$WORKDIR/b"
vstore datastore init -D "$A" >/dev/null
vstore datastore init -D "$B" >/dev/null
vstore volume create -D "$A" plain "$SIZE" >/dev/null
vstore volume create -D "$A" repl "$SIZE" >/dev/null

PORT=$(free_port)
"$JAVA" -Xmx2g -jar "$JAR" serve -D "$A" -D "$B" --nbd-listen "127.0.0.1:$PORT" >"$WORKDIR/serve.log" 2>&1 &
SERVER_PID=$!
wait_port "$PORT" "$WORKDIR/serve.log"
vstore export add -D "$A" plain >/dev/null
vstore export add -D "$A" repl >/dev/null
vstore replica create -D "$A" repl --to "$B" --id bench >/dev/null

replica_field() { # field
  vstore replica info -D "$A" bench --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['$1'])"
}
wait_active() {
  for _ in $(seq 6000); do
    [ "$(replica_field state)" = ACTIVE ] && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): the replica did not become ACTIVE" >&2
  exit 1
}
wait_active

cpu_ticks() { # the daemon's user + system CPU time so far, in clock ticks
  awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"
}
job() { # out export iodepth; also writes out.cpu: the daemon's CPU ticks during the job
  local before
  before=$(cpu_ticks)
  fio --name=w --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/$2" --rw=randwrite --bs=4k --iodepth="$3" \
    --size="$SIZE" --time_based --runtime="$RUNTIME" --randrepeat=1 --norandommap \
    --output-format=json --output="$1" >/dev/null
  echo $(( $(cpu_ticks) - before )) >"$1.cpu"
}
echo "fio 4 KiB random writes, ${RUNTIME}s per job ..." >&2
# A short unmeasured job on each export first: otherwise the first measured job (unreplicated)
# pays the JIT's warm-up alone and the ratios flatter replication.
fio --name=warm --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/plain" --rw=randwrite --bs=4k --iodepth=32 \
  --size="$SIZE" --time_based --runtime=3 --norandommap >/dev/null
fio --name=warm --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/repl" --rw=randwrite --bs=4k --iodepth=32 \
  --size="$SIZE" --time_based --runtime=3 --norandommap >/dev/null
job "$WORKDIR/plain-qd32.json" plain 32
job "$WORKDIR/repl-qd32.json" repl 32
job "$WORKDIR/plain-qd1.json" plain 1
job "$WORKDIR/repl-qd1.json" repl 1
[ "$(replica_field state)" = ACTIVE ] || { echo "$(basename "$0"): the replica left ACTIVE during the run" >&2; exit 1; }

echo "re-protect after a disconnect with 1% rewritten ..." >&2
vstore replica pause -D "$A" bench >/dev/null
sent_before=$(replica_field bytesSent)
changed=$(python3 -c "
s='$SIZE'.upper(); m={'K':1<<10,'M':1<<20,'G':1<<30,'T':1<<40}
size=int(s[:-1])*m[s[-1]] if s[-1] in m else int(s)
print(max(65536, size // 100 // 65536 * 65536))")
fio --name=rewrite --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/repl" --rw=randwrite --bs=64k --iodepth=8 \
  --size="$SIZE" --io_size="$changed" --randseed=15 >/dev/null
behind=$(replica_field bytesBehind)
t0=$(date +%s.%N)
vstore replica resume -D "$A" bench >/dev/null
wait_active
t1=$(date +%s.%N)
sent=$(( $(replica_field bytesSent) - sent_before ))
stop_server

python3 - "$WORKDIR" "$SIZE" "$changed" "$behind" "$sent" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
w, size, changed, behind, sent, t0, t1, tck = sys.argv[1:]
changed, behind, sent = int(changed), int(behind), int(sent)
def load(name):
    return json.load(open(f"{w}/{name}.json"))["jobs"][0]["write"]
p32, r32 = load("plain-qd32"), load("repl-qd32")
p1, r1 = load("plain-qd1"), load("repl-qd1")
def cpu_us(name):
    # The daemon's CPU time per write: robust to other load on the machine, unlike IOPS.
    ios = json.load(open(f"{w}/{name}.json"))["jobs"][0]["write"]["total_ios"]
    return int(open(f"{w}/{name}.json.cpu").read()) / int(tck) * 1e6 / max(ios, 1)
def p99(j):
    return j["clat_ns"]["percentile"]["99.000000"] / 1000
print(f"replication benchmark, volume {size}, 4 KiB random writes through the daemon's NBD export")
print(f"  QD32 IOPS: unreplicated {p32['iops']:.0f}, replicated {r32['iops']:.0f}:"
      f" ratio {r32['iops'] / p32['iops']:.2f} (floor >= 0.80)")
print(f"  QD1 mean latency: unreplicated {p1['clat_ns']['mean'] / 1000:.1f} us, replicated"
      f" {r1['clat_ns']['mean'] / 1000:.1f} us: ratio {r1['clat_ns']['mean'] / p1['clat_ns']['mean']:.2f} (floor <= 1.30)")
print(f"  QD1 p99 latency: unreplicated {p99(p1):.1f} us, replicated {p99(r1):.1f} us: ratio {p99(r1) / p99(p1):.2f}")
print(f"  daemon CPU per write: QD32 unreplicated {cpu_us('plain-qd32'):.1f} us, replicated {cpu_us('repl-qd32'):.1f} us:"
      f" ratio {cpu_us('repl-qd32') / cpu_us('plain-qd32'):.2f}; QD1 {cpu_us('plain-qd1'):.1f} us,"
      f" {cpu_us('repl-qd1'):.1f} us: ratio {cpu_us('repl-qd1') / cpu_us('plain-qd1'):.2f}")
print(f"  re-protect: changed {changed} bytes, reported behind {behind}, sent {sent} in {float(t1) - float(t0):.2f} s:"
      f" ratio {sent / changed:.3f} (floor <= 1.10)")
PY
