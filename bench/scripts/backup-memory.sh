#!/usr/bin/env bash
# Issue 14's memory floor: a backup of a 1 TiB volume holding 10 GiB of scattered data must use at
# most 512 MiB of heap; and prune, check and gc must need memory in proportion to their work, not to
# the repository. Runs every vstore command with -Xmx$HEAP (default 512m, the floor: a command that
# needs more fails with OutOfMemoryError) and the JVM's own GC log, and prints for each command the
# largest heap in use after a collection (the live set, which is what grows with the data) and its
# time.
#
#   1. a sparse raw file of SIZE (default 1T) with DATA (default 10G) in 1 MiB regions at seeded random
#      offsets, alternately random bytes and word-like text (so both compression and dedup have work);
#   2. imported as a volume (sparse: only the data is read), backed up into a fresh encrypted repository;
#   3. 5% of the regions rewritten over NBD, an incremental backup;
#   4. backup check, backup verify --sample 1, prune --keep-last 1, gc (twice: the second collects).
#
# Usage: SIZE=1T DATA=10G bench/scripts/backup-memory.sh [WORKDIR]   (default WORKDIR=bench/work/memory;
# it needs DATA bytes twice over on disk, plus the repository). HEAP=512m. SKIP_BUILD=1 reuses the jar.
# Needs: python3, qemu-io.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORKDIR="${1:-$ROOT/bench/work/memory}"
SIZE="${SIZE:-1T}" DATA="${DATA:-10G}" HEAP="${HEAP:-512m}"
for tool in python3 qemu-io; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 1; }
done
mib() { python3 -c "import sys; s=sys.argv[1].upper(); m={'M':1,'G':1024,'T':1024*1024}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s)//(1<<20))" "$1"; }
size_mib=$(mib "$SIZE") data_mib=$(mib "$DATA")
source "$ROOT/bench/scripts/nbd-lib.sh" # JAVA, JAR, free_port, wait_port, stop_server (trap EXIT)
if [[ -z ${SKIP_BUILD:-} ]]; then nbd_build; fi
mkdir -p "$WORKDIR"
logs="$WORKDIR/gc"
rm -rf "$WORKDIR/ds" "$WORKDIR/repo" "$logs" "$WORKDIR/sparse.raw"
mkdir -p "$logs"

# Runs vstore with the heap bound and a GC log named after $1; prints "<name> <max heap after GC MiB> <s>".
measured() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$JAVA" "-Xmx$HEAP" "-Xlog:gc:file=$logs/$name.log" -jar "$JAR" "$@" >"$logs/$name.out" 2>&1 \
    || { echo "vstore $* failed:" >&2; cat "$logs/$name.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 - "$logs/$name.log" "$name" "$t0" "$t1" <<'PY'
import re, sys
peak, marked, gcs = 0.0, 0.0, 0
units = {"K": 1 / 1024, "M": 1, "G": 1024}
for line in open(sys.argv[1]):
    m = re.search(r"(\d+)([KMG])->(\d+)([KMG])\((\d+)([KMG])\)", line)
    if m:
        gcs += 1
        after = int(m.group(3)) * units[m.group(4)]
        peak = max(peak, after)
        if "Remark" in line or "Pause Full" in line:
            marked = max(marked, after)  # after a marking or full collection: closest to the live set
print(f"  {sys.argv[2]:<20} heap after GC at most {peak:7.1f} MiB, after marking/full GC at most {marked:7.1f} MiB"
      f" ({gcs} GCs)  {float(sys.argv[4]) - float(sys.argv[3]):7.2f} s")
PY
}

echo "making a sparse $SIZE file with $DATA of scattered data ..." >&2
python3 - "$WORKDIR/sparse.raw" "$size_mib" "$data_mib" "$WORKDIR/regions" <<'PY'
import os, random, sys
path, size_mib, data_mib, regions_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(20261207)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(4096)]
text = b" ".join(rng.choice(words) for _ in range(1 << 20))  # about 6 MiB of word-like text
slots = sorted(rng.sample(range(size_mib), data_mib))
with open(path, "wb") as f:
    f.truncate(size_mib << 20)
    for i, slot in enumerate(slots):
        if i % 2 == 0:
            data = rng.randbytes(1 << 20)
        else:
            start = rng.randrange(len(text) - (1 << 20))
            data = text[start : start + (1 << 20)]
        f.seek(slot << 20)
        f.write(data)
with open(regions_out, "w") as r:
    r.write("\n".join(map(str, slots)))
PY
pass="$WORKDIR/passphrase"
printf 'memory benchmark\n' >"$pass"
"$JAVA" -jar "$JAR" datastore init -D "$WORKDIR/ds" >/dev/null
"$JAVA" -jar "$JAR" volume import -D "$WORKDIR/ds" "$WORKDIR/sparse.raw" big >/dev/null
rm -f "$WORKDIR/sparse.raw"
"$JAVA" -jar "$JAR" backup init "$WORKDIR/repo" --passphrase-file "$pass" >/dev/null
repo=(--repo "$WORKDIR/repo" --passphrase-file "$pass")

echo "volume of $SIZE with $DATA of data in 1 MiB regions; every command with -Xmx$HEAP (machine load $(cut -d' ' -f1 /proc/loadavg)):"
measured full-backup backup create -D "$WORKDIR/ds" big "${repo[@]}"

# 5% of the regions rewritten, 64 KiB in each, over NBD (so changed-block tracking sees the writes).
python3 - "$WORKDIR/regions" "$WORKDIR/patch" <<'PY'
import os, random, sys
slots = [int(x) for x in open(sys.argv[1]).read().split()]
rng = random.Random(7)
os.makedirs(sys.argv[2], exist_ok=True)
blob = os.path.join(sys.argv[2], "blob")
with open(blob, "wb") as b:
    b.write(rng.randbytes(64 << 10))
with open(os.path.join(sys.argv[2], "commands"), "w") as c:
    for slot in rng.sample(slots, max(1, len(slots) // 20)):
        c.write("write -q -P %d %d %d\n" % (rng.randint(1, 255), (slot << 20) + rng.randrange(16) * (64 << 10), 64 << 10))
    c.write("flush\n")
PY
port=$(free_port)
"$JAVA" -Xmx1g -jar "$JAR" nbd serve -D "$WORKDIR/ds" --port "$port" big=big >"$WORKDIR/nbd.log" 2>&1 &
SERVER_PID=$!
wait_port "$port" "$WORKDIR/nbd.log"
qemu-io -f raw "nbd://127.0.0.1:$port/big" <"$WORKDIR/patch/commands" >/dev/null
stop_server
rm -rf "$WORKDIR/patch"

measured incremental-backup backup create -D "$WORKDIR/ds" big "${repo[@]}"
measured list backup list "${repo[@]}"
measured check backup check "${repo[@]}"
measured verify-1pct backup verify --sample 1 "${repo[@]}"
measured prune-keep-last-1 backup prune --keep-last 1 "${repo[@]}"
measured gc-1 backup gc "${repo[@]}"
measured gc-2 backup gc "${repo[@]}"
echo "repository: $(du -sh "$WORKDIR/repo" | cut -f1); GC logs and outputs in $logs"
