#!/usr/bin/env bash
# Times `vstore image convert` against `qemu-img convert` on the same raw test image in one run and
# prints, per output format, both times, the ratio (qemu-img time / vstore time: above 1 means vstore
# is faster) and both output sizes. A format vstore does not have yet is reported as "not available".
#
# Usage: bench/scripts/convert-bench.sh [SIZE_MIB]   (default 4096 = the 4 GiB benchmark image)
# Needs: python3, qemu-img; builds vstore on first use through ./vstore.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
size_mib="${1:-4096}"
work="$root/bench/work/convert"
mkdir -p "$work"
src="$work/test-${size_mib}M.raw"
if [ ! -f "$src" ]; then
  echo "making $src ($size_mib MiB) ..." >&2
  python3 "$root/bench/scripts/make-test-image.py" "$src" "$size_mib"
fi
"$root/vstore" --version >/dev/null   # build outside the timed runs
cat "$src" > /dev/null                 # same page-cache state for both tools

now() { date +%s.%N; }
fmt_size() { stat -c %s "$1"; }

# name | vstore args | qemu-img args
cases=(
  "qcow2|-O qcow2|-O qcow2"
  "qcow2 -c (zlib)|-O qcow2 -c|-O qcow2 -c"
  "vmdk streamOptimized|-O vmdk -o subformat=streamOptimized|-O vmdk -o subformat=streamOptimized"
  "vpc|-O vpc|-O vpc"
  "vhdx|-O vhdx|-O vhdx"
)

echo "convert-bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), image $size_mib MiB, $(nproc) cores, $(qemu-img --version | head -n 1)"
printf '%-24s %10s %10s %8s %14s %14s\n' "target" "vstore s" "qemu-img s" "ratio" "vstore bytes" "qemu bytes"
for c in "${cases[@]}"; do
  IFS='|' read -r name vargs qargs <<<"$c"
  out_v="$work/out.vstore"
  out_q="$work/out.qemu"
  rm -f "$out_v" "$out_q"
  t0=$(now)
  # shellcheck disable=SC2086
  if ! err=$("$root/vstore" image convert "$src" "$out_v" $vargs 2>&1 >/dev/null); then
    if grep -q "unsupported" <<<"$err"; then
      printf '%-24s %s\n' "$name" "not available ($err)"
      continue
    fi
    echo "vstore failed on $name: $err" >&2
    exit 1
  fi
  t1=$(now)
  # shellcheck disable=SC2086
  qemu-img convert -f raw $qargs "$src" "$out_q"
  t2=$(now)
  tv=$(echo "$t1 - $t0" | bc -l)
  tq=$(echo "$t2 - $t1" | bc -l)
  ratio=$(echo "$tq / $tv" | bc -l)
  printf '%-24s %10.2f %10.2f %8.2f %14s %14s\n' "$name" "$tv" "$tq" "$ratio" "$(fmt_size "$out_v")" "$(fmt_size "$out_q")"
  rm -f "$out_v" "$out_q"
done
