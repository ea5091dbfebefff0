#!/usr/bin/env bash
# Instant restore (issue 14): times `vstore restore POINT --instant --to-volume NAME` to the first NBD
# read served from the new volume, whatever the size, then the background copy to its end, and checks
# the finished volume against the source image with qemu-img compare over NBD.
#
#   1. the test image (1 MiB regions cycling hole / zeros / random / text) imported as volume "src";
#   2. a backup point of it in a fresh repository;
#   3. vstore serve (the daemon: instant restore serves through its NBD server);
#   4. t0; vstore restore --instant; qemu-io reads 4 KiB at offset 0 and at the middle; t1;
#   5. vstore job wait for the copy; qemu-img compare image vs the export.
#
# Usage: SIZE=4G bench/scripts/instant-restore.sh [WORKDIR]   (defaults: SIZE=4G, WORKDIR=bench/work/instant)
# Needs: python3, qemu-io, qemu-img. vstore runs through the ./vstore launcher, as users run it (it
# builds first when the sources changed); the daemon is started fresh, so the timed command pays
# the daemon's first use of the backup code too.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORKDIR="${1:-$ROOT/bench/work/instant}"
SIZE="${SIZE:-4G}"
for tool in python3 qemu-io qemu-img; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 1; }
done
mib=$(python3 -c "import sys; s=sys.argv[1].upper(); m={'M':1,'G':1024,'T':1024*1024}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s)//(1<<20))" "$SIZE")
source "$ROOT/bench/scripts/nbd-lib.sh" # free_port, wait_port, stop_server (trap EXIT)
vstore() { "$ROOT/vstore" "$@"; }
vstore --version >/dev/null # builds first when the sources are newer than the last build
now() { python3 -c 'import time; print(time.monotonic())'; }
secs() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

mkdir -p "$WORKDIR"
image="$WORKDIR/test-$mib.raw"
if [ ! -f "$image" ]; then
  echo "making $image ($mib MiB) ..." >&2
  python3 "$ROOT/bench/scripts/make-test-image.py" "$image" "$mib"
fi
ds="$WORKDIR/ds" repo="$WORKDIR/repo"
rm -rf "$ds"
vstore datastore init -D "$ds" >/dev/null
vstore volume import -D "$ds" "$image" src >/dev/null
if [ ! -f "$repo/config" ]; then
  rm -rf "$repo"
  vstore backup init "$repo" >/dev/null
fi
point=$(vstore backup create src --repo "$repo" -D "$ds" --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["point"]["id"])')
echo "point $point of a $mib MiB volume"

port=$(free_port)
"$ROOT/vstore" serve -D "$ds" --nbd-listen "127.0.0.1:$port" >"$WORKDIR/serve.log" 2>&1 & # not the function: $! must be the launcher, which execs java
SERVER_PID=$!
wait_port "$port" "$WORKDIR/serve.log"
for _ in $(seq 100); do [ -S "$ds/vstore.sock" ] && break; sleep 0.1; done

t0wall=$(date +%s.%N)
t0=$(now)
out=$(vstore restore "$point" --repo "$repo" --instant --to-volume dst -D "$ds")
t1=$(now)
qemu-io -f raw -r -c "read 0 4096" "nbd://127.0.0.1:$port/dst" >/dev/null
t2=$(now)
qemu-io -f raw -r -c "read $(( mib / 2 ))M 4096" "nbd://127.0.0.1:$port/dst" >/dev/null
t3=$(now)
echo "$out"
job=$(sed -n 's/.*copy job \([0-9a-f]*\).*/\1/p' <<<"$out")
vstore job wait "$job" -D "$ds" >/dev/null
t4=$(now)
qemu-img compare -f raw -F raw "$image" "nbd://127.0.0.1:$port/dst" >/dev/null
# When the daemon had the volume exported and its copy job started, on the wall clock from t0: the
# command runs at once in the daemon (no job of its own), the copy is the job of kind instant-restore.
inside=$(vstore job list -D "$ds" --json | python3 -c '
import json, sys
from datetime import datetime
jobs = [j for j in json.load(sys.stdin) if j["kind"] == "instant-restore"]
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
print("%.2f" % (t(jobs[0]["started"]) - float(sys.argv[1])))' "$t0wall")
stop_server

echo "instant restore of $mib MiB (this machine, load average $(cut -d' ' -f1 /proc/loadavg) while measured):"
echo "  copy job started after          $inside s"
echo "  command returned after          $(secs "$t0" "$t1") s"
echo "  first NBD read served after     $(secs "$t0" "$t2") s   (floor: <= 2 s whatever the size)"
echo "  read in the middle served after $(secs "$t0" "$t3") s"
echo "  background copy finished after  $(secs "$t0" "$t4") s"
echo "  qemu-img compare image vs restored volume: identical"
