#!/usr/bin/env bash
# End-to-end: import the benchmark image into a fresh datastore with `vstore volume import`, and
# convert the same image with `qemu-img convert -O qcow2`, in the same run and on the same file
# system; each timing includes a final sync so that both results are durable. Prints both times,
# the ratio and the allocated size of both results.
#
# Usage: bench/scripts/import-bench.sh [WORKDIR] [SIZE_MIB]   (defaults: bench/work, 4096)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$root/bench/work}"
mib="${2:-4096}"
mkdir -p "$work"
image="$work/test-$mib.raw"
if [ ! -f "$image" ]; then
  echo "making $image ($mib MiB) ..." >&2
  python3 "$root/bench/scripts/make-test-image.py" "$image" "$mib"
fi
"$root/vstore" --version >/dev/null # build before timing

now() { date +%s.%N; }
rm -rf "$work/ds" "$work/out.qcow2"
sync
"$root/vstore" datastore init -D "$work/ds" >/dev/null
t0=$(now)
"$root/vstore" volume import -D "$work/ds" "$image" bench >/dev/null
sync
t1=$(now)
qemu-img convert -f raw -O qcow2 "$image" "$work/out.qcow2"
sync
t2=$(now)

vstore_alloc=$("$root/vstore" volume info -D "$work/ds" bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocated"])')
vstore_disk=$(du -sb "$work/ds" | cut -f1)
qemu_alloc=$(qemu-img info --output=json "$work/out.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["actual-size"])')
python3 - "$image" "$mib" "$t0" "$t1" "$t2" "$vstore_alloc" "$vstore_disk" "$qemu_alloc" <<'PY'
import sys
image, mib, t0, t1, t2, va, vd, qa = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
g = 1 << 30
print(f"image: {image} ({mib} MiB)")
print(f"vstore volume import:      {t1 - t0:8.2f} s   allocated {va / g:6.3f} GiB (datastore directory {vd / g:6.3f} GiB)")
print(f"qemu-img convert -O qcow2: {t2 - t1:8.2f} s   allocated {qa / g:6.3f} GiB")
print(f"ratio (qemu-img time / vstore time): {(t2 - t1) / (t1 - t0):.2f}x")
PY
