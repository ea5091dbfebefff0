#!/usr/bin/env bash
# OVA export and import against what a script does with the peers (issue 16's floors), in one run:
#
#   export: `vstore ovf export VM --to x.ova` of a VM whose disk holds the test image, against
#           `qemu-img convert -O vmdk -o subformat=streamOptimized` + `tar` + `sha256sum` of the
#           same data (floor: vstore >= 1.5x as fast; OVA size <= 1.02x the peers');
#   import: `vstore ovf import` of vstore's OVA, against `tar -x` + `qemu-img convert -O qcow2` of
#           its disk (floor: vstore >= 1.5x as fast);
#   manifest: the same import with the manifest removed from the OVA (floor: verifying the
#           manifest while importing costs <= 5%).
#
# Prints one line per comparison with both times (median of ROUNDS) and the ratio (peer time /
# vstore time: above 1 means vstore is faster). vstore's times include JVM start-up; both sides
# start with the source in the page cache and sync dirty pages before every timed run.
#
# Usage: bench/scripts/ova-bench.sh [SIZE_MIB] [ROUNDS]   (defaults: 4096 = the 4 GiB image, 3)
# Needs: python3, qemu-img, tar, sha256sum, bc; builds vstore on first use through ./vstore.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
size_mib="${1:-4096}"
rounds="${2:-3}"
work="$root/bench/work/ova"
rm -rf "$work/run"
mkdir -p "$work/run"
src="$work/test-${size_mib}M.raw"
if [ ! -f "$src" ]; then
  echo "making $src ($size_mib MiB) ..." >&2
  python3 "$root/bench/scripts/make-test-image.py" "$src" "$size_mib"
fi
run="$work/run"
export VSTORE_DATASTORE="$run/ds"
vstore() { "$root/vstore" "$@"; }
vstore --version >/dev/null          # build outside the timed runs
vstore datastore init >/dev/null
cat "$src" > /dev/null               # same page-cache state for every tool

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
timed() { # runs "$@" once after a sync, prints its seconds
  sync
  local t0; t0=$(now)
  "$@" >/dev/null
  echo "$(now) - $t0" | bc -l
}

# 1. A descriptor for a VM with one disk of the image's size, as vstore writes it (an empty VM's
#    export), which the peers' OVA reuses with their own disk in it.
vstore vm create seed --disk "${size_mib}M" >/dev/null
vstore ovf export seed --to "$run/seed" >/dev/null
ovf_name="$(cd "$run/seed" && ls ./*.ovf | head -n 1)"; ovf_name="${ovf_name#./}"
disk_name="$(cd "$run/seed" && ls ./*.vmdk | head -n 1)"; disk_name="${disk_name#./}"
base="${ovf_name%.ovf}"

# 2. The peers' export: qemu-img streamOptimized, then tar, then sha256sum for the manifest.
peer_export() {
  local d="$run/peer"
  rm -rf "$d" "$run/peer.ova"; mkdir -p "$d"
  qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$src" "$d/$disk_name"
  local size; size=$(stat -c %s "$d/$disk_name")
  sed -E "s|(ovf:href=\"$disk_name\"[^>]*ovf:size=\")[0-9]+|\1$size|" "$run/seed/$ovf_name" > "$d/$ovf_name"
  (cd "$d" && sha256sum "$ovf_name" "$disk_name" | awk '{print "SHA256(" $2 ")= " $1}' > "$base.mf")
  tar -C "$d" -cf "$run/peer.ova" "$ovf_name" "$base.mf" "$disk_name"
}
peer_export_times=(); for _ in $(seq "$rounds"); do peer_export_times+=("$(timed peer_export)"); done

# 3. vstore imports the peers' OVA: the VM whose disk holds the image.
vstore ovf import "$run/peer.ova" --name bench >/dev/null

# 4. vstore's export of that VM.
vstore_export() { rm -f "$run/vstore.ova"; vstore ovf export bench --to "$run/vstore.ova"; }
vstore_export_times=(); for _ in $(seq "$rounds"); do vstore_export_times+=("$(timed vstore_export)"); done

# 5. Imports of vstore's OVA: the peers' tar -x + qemu-img convert -O qcow2, vstore's import, and
#    vstore's import of the same OVA without its manifest.
vmdk_member="$(tar -tf "$run/vstore.ova" | grep '\.vmdk$' | head -n 1)"
peer_import() {
  rm -rf "$run/x" "$run/x.qcow2"; mkdir -p "$run/x"
  tar -C "$run/x" -xf "$run/vstore.ova"
  qemu-img convert -f vmdk -O qcow2 "$run/x/$vmdk_member" "$run/x.qcow2"
}
cp "$run/vstore.ova" "$run/nomf.ova"
tar --delete -f "$run/nomf.ova" "$(tar -tf "$run/vstore.ova" | grep '\.mf$')"
vstore_import() { vstore ovf import "$1" --name "$2"; }
peer_import_times=(); vstore_import_times=(); nomf_times=()
for i in $(seq "$rounds"); do
  peer_import_times+=("$(timed peer_import)")
  vstore_import_times+=("$(timed vstore_import "$run/vstore.ova" "imp$i")")
  nomf_times+=("$(timed vstore_import "$run/nomf.ova" "nomf$i")")
done

pe=$(printf '%s\n' "${peer_export_times[@]}" | median)
ve=$(printf '%s\n' "${vstore_export_times[@]}" | median)
pi=$(printf '%s\n' "${peer_import_times[@]}" | median)
vi=$(printf '%s\n' "${vstore_import_times[@]}" | median)
ni=$(printf '%s\n' "${nomf_times[@]}" | median)
ps=$(stat -c %s "$run/peer.ova"); vs=$(stat -c %s "$run/vstore.ova")
echo "ova-bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), image $size_mib MiB, $rounds rounds (median), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-img --version | head -n 1)"
awk -v p="$pe" -v v="$ve" 'BEGIN { printf "export: vstore %.2f s, qemu-img+tar+sha256sum %.2f s, ratio %.2fx (floor 1.5x)\n", v, p, p / v }'
awk -v p="$ps" -v v="$vs" 'BEGIN { printf "export size: vstore %d bytes, peers %d bytes, %.4fx (floor <= 1.02x)\n", v, p, v / p }'
awk -v p="$pi" -v v="$vi" 'BEGIN { printf "import: vstore %.2f s, tar -x + qemu-img convert -O qcow2 %.2f s, ratio %.2fx (floor 1.5x)\n", v, p, p / v }'
awk -v m="$vi" -v n="$ni" 'BEGIN { printf "manifest: import %.2f s with it, %.2f s without: +%.1f%% (floor <= 5%%)\n", m, n, 100 * (m - n) / n }'
