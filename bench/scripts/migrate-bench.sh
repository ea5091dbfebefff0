#!/usr/bin/env bash
# Storage VMotion (issue 15): moves a volume between two datastores of one `vstore serve` while fio
# writes 4 KiB random blocks at QD8 through its NBD export, and compares with
#   (a) an offline copy of the same volume: `vstore volume export` to a sparse file, then
#       `vstore volume import` of it into the second datastore (the daemon not running);
#   (b) qemu-storage-daemon running a `blockdev-mirror` (sync full, copy-mode write-blocking) of the
#       same data between two qcow2 files under the same fio load, driven over QMP.
# Prints the times, fio's p99 write latency during each live move (and with no move, as a baseline),
# the bytes copied against the unique allocated bytes, the switch-over pause, and the ratios of the
# issue's floors (vstore <= 1.3x offline; <= 1.0x QEMU's time; p99 <= 1.0x QEMU's).
#
# Usage: SIZE=4G bench/scripts/migrate-bench.sh [WORKDIR]   (defaults: SIZE=4G, WORKDIR=bench/work/migrate)
# Needs: python3, fio (nbd engine), qemu-img, qemu-storage-daemon; builds the jar (SKIP_BUILD=1 reuses it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORKDIR="${1:-$ROOT/bench/work/migrate}"
SIZE="${SIZE:-4G}"
BASELINE_SECONDS="${BASELINE_SECONDS:-10}"
for tool in python3 fio qemu-img qemu-storage-daemon; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 1; }
done
mib=$(python3 -c "import sys; s=sys.argv[1].upper(); m={'M':1,'G':1024,'T':1024*1024}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s)//(1<<20))" "$SIZE")
source "$ROOT/bench/scripts/nbd-lib.sh" # JAVA, JAR, free_port, wait_port, stop_server (trap EXIT)
if [[ -z ${SKIP_BUILD:-} ]]; then nbd_build; fi
vstore() { "$JAVA" -Xmx2g -jar "$JAR" "$@"; }
now() { python3 -c 'import time; print(time.monotonic())'; }
secs() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
# fio's JSON (after the "terminating on signal" line it writes first when stopped)
fio_json() { python3 -c 'import json,sys; t=open(sys.argv[1]).read(); j=json.loads(t[t.index("{"):])["jobs"][0]["write"]; print(eval(sys.argv[2]))' "$1" "$2"; }
p99() { fio_json "$1" '"%.2f" % (j["clat_ns"]["percentile"]["99.000000"] / 1e6)'; }
iops() { fio_json "$1" '"%.0f" % j["iops"]'; }
FIO_PID=
# fio writing 4 KiB random blocks at QD8 to $1 until stopped with SIGINT; JSON results in $2.
start_fio() {
  fio --name=load --ioengine=nbd --uri="$1" --rw=randwrite --bs=4k --iodepth=8 --size="$SIZE" --time_based \
    --runtime=3600 --randrepeat=1 --norandommap --output-format=json --output="$2" >/dev/null 2>&1 &
  FIO_PID=$!
  sleep 1 # connected and writing before the move starts
}
stop_fio() { kill -INT "$FIO_PID" 2>/dev/null || true; wait "$FIO_PID" 2>/dev/null || true; FIO_PID=; }
cleanup() { [[ -n $FIO_PID ]] && stop_fio; stop_server; [[ -n ${QSD_PID:-} ]] && kill "$QSD_PID" 2>/dev/null; true; }
trap cleanup EXIT

mkdir -p "$WORKDIR"
image="$WORKDIR/test-$mib.raw"
if [ ! -f "$image" ]; then
  echo "making $image ($mib MiB) ..." >&2
  python3 "$ROOT/bench/scripts/make-test-image.py" "$image" "$mib"
fi
a="$WORKDIR/a" b="$WORKDIR/b"
fresh() {
  rm -rf "$a" "$b"
  vstore datastore init -D "$a" >/dev/null
  vstore datastore init -D "$b" >/dev/null
  vstore volume import -D "$a" "$image" disk >/dev/null
}

# (a) offline export + import
fresh
t0=$(now)
vstore volume export -D "$a" disk "$WORKDIR/offline.raw" >/dev/null
vstore volume import -D "$b" "$WORKDIR/offline.raw" disk >/dev/null
t1=$(now)
offline=$(secs "$t0" "$t1")
rm -f "$WORKDIR/offline.raw"

# vstore migrate under fio
fresh
port=$(free_port)
"$JAVA" -Xmx2g -jar "$JAR" serve -D "$a" -D "$b" --nbd-listen "127.0.0.1:$port" >"$WORKDIR/serve.log" 2>&1 &
SERVER_PID=$!
wait_port "$port" "$WORKDIR/serve.log"
for _ in $(seq 100); do [ -S "$a/vstore.sock" ] && break; sleep 0.1; done
vstore export add -D "$a" disk >/dev/null
start_fio "nbd://127.0.0.1:$port/disk" "$WORKDIR/fio-baseline.json"
sleep "$BASELINE_SECONDS"
stop_fio
start_fio "nbd://127.0.0.1:$port/disk" "$WORKDIR/fio-vstore.json"
result=$(vstore migrate -D "$a" disk --to "$b" --json)
stop_fio
moved=$(vstore job list -D "$a" --json | python3 -c '
import json, sys
from datetime import datetime
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
j = [j for j in json.load(sys.stdin) if j["kind"] == "migrate"][0]
print("%.2f" % (t(j["finished"]) - t(j["started"])).total_seconds())')
stop_server
read -r copied unique mirrored pause <<<"$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["copiedBytes"], r["allocatedBytes"], r["mirroredBytes"], r["switchPauseMicros"])' "$result")"
# The unique allocated bytes: the source's data at the switch-over (fio adds data while the move runs),
# and the test image's own non-zero 4 KiB blocks.
image_unique=$(python3 - "$image" <<'PY'
import sys
# The unique allocated bytes of the test image: 4 KiB blocks that are not all zeros.
n = 0
with open(sys.argv[1], "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        for i in range(0, len(b), 4096):
            if b[i:i + 4096].count(0) != len(b[i:i + 4096]):
                n += 4096
print(n)
PY
)

# (b) qemu-storage-daemon blockdev-mirror, write-blocking, under the same fio load
qemu-img convert -f raw -O qcow2 "$image" "$WORKDIR/src.qcow2"
rm -f "$WORKDIR/dst.qcow2"
qemu-img create -f qcow2 "$WORKDIR/dst.qcow2" "$SIZE" >/dev/null
qport=$(free_port)
qmp="$WORKDIR/qmp.sock"
rm -f "$qmp"
qemu-storage-daemon --chardev socket,path="$qmp",server=on,wait=off,id=qmp0 --monitor chardev=qmp0 \
  --blockdev driver=file,filename="$WORKDIR/src.qcow2",node-name=src-file,cache.direct=off \
  --blockdev driver=qcow2,file=src-file,node-name=src \
  --nbd-server addr.type=inet,addr.host=127.0.0.1,addr.port="$qport" \
  --export type=nbd,id=exp0,node-name=src,name=disk,writable=on >"$WORKDIR/qsd.log" 2>&1 &
QSD_PID=$!
wait_port "$qport" "$WORKDIR/qsd.log"
start_fio "nbd://127.0.0.1:$qport/disk" "$WORKDIR/fio-qemu.json"
qemu_out=$(python3 - "$qmp" "$WORKDIR/dst.qcow2" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def read():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
        events.append(m)
def cmd(name, **args):
    f.write(json.dumps({"execute": name, "arguments": args}) + "\n"); f.flush()
    r = read()
    if "error" in r:
        sys.exit("QMP %s: %s" % (name, r["error"]))
    return r["return"]
events = []
read()  # greeting
cmd("qmp_capabilities")
cmd("blockdev-add", driver="qcow2", **{"node-name": "dst", "file": {"driver": "file", "filename": sys.argv[2]}})
t0 = time.monotonic()
cmd("blockdev-mirror", **{"job-id": "m", "device": "src", "target": "dst", "sync": "full",
    "copy-mode": "write-blocking"})
done = 0
while True:
    jobs = cmd("query-block-jobs")
    if jobs and jobs[0].get("ready"):
        done = jobs[0]["offset"]
        break
    time.sleep(0.05)
cmd("block-job-complete", device="m")
while cmd("query-block-jobs"):
    time.sleep(0.02)
print("%.2f %d" % (time.monotonic() - t0, done))
PY
)
stop_fio
kill "$QSD_PID"; wait "$QSD_PID" 2>/dev/null || true; QSD_PID=
read -r qemu_time qemu_bytes <<<"$qemu_out"

ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / max(1e-9, float(sys.argv[2]))))" "$1" "$2"; }
echo "migrating a $mib MiB volume under fio 4 KiB random writes at QD8 (load average $(cut -d' ' -f1 /proc/loadavg) at the end):"
echo "  offline export + import          $offline s"
echo "  vstore migrate (job)              $moved s     ratio to offline $(ratio "$moved" "$offline")   (floor <= 1.3)"
echo "  qemu-storage-daemon mirror        $qemu_time s     vstore / qemu $(ratio "$moved" "$qemu_time")   (floor <= 1.0)"
echo "  fio p99 write latency: no move $(p99 "$WORKDIR/fio-baseline.json") ms, vstore move $(p99 "$WORKDIR/fio-vstore.json") ms, qemu mirror $(p99 "$WORKDIR/fio-qemu.json") ms   vstore / qemu $(ratio "$(p99 "$WORKDIR/fio-vstore.json")" "$(p99 "$WORKDIR/fio-qemu.json")")   (floor <= 1.0)"
echo "  fio write IOPS:        no move $(iops "$WORKDIR/fio-baseline.json"), vstore move $(iops "$WORKDIR/fio-vstore.json"), qemu mirror $(iops "$WORKDIR/fio-qemu.json")"
echo "  bytes copied: vstore $copied (+ $mirrored mirrored), qemu $qemu_bytes; unique allocated at the switch $unique (image alone $image_unique)   vstore copied / unique $(ratio "$copied" "$unique")   (floor <= 1.05)"
echo "  switch-over pause (writes held)   $(python3 -c "print('%.2f' % ($pause / 1000))") ms"
