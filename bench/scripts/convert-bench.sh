#!/usr/bin/env bash
# Times `vstore image convert` against `qemu-img convert` on the same raw test image in one run and
# prints, per output format, the median of both tools' times over ROUNDS rounds, the ratio
# (qemu-img time / vstore time: above 1 means vstore is faster) and both output sizes. A format
# vstore does not have yet is reported as "not available".
#
# Fairness: both tools use their default cache mode (qemu-img convert: cache=unsafe, no sync at the
# end; vstore image convert: -t unsafe, the same), the source is read into the page cache first,
# dirty pages are synced before every timed run, and the order alternates between rounds so
# neither tool always inherits the other's writeback. vstore's time includes JVM start-up.
#
# Usage: bench/scripts/convert-bench.sh [SIZE_MIB] [ROUNDS]   (defaults: 4096 = the 4 GiB image, 3)
#        ONLY=REGEX limits the run to the targets whose name matches.
# Needs: python3, qemu-img, bc; builds vstore on first use through ./vstore.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
size_mib="${1:-4096}"
rounds="${2:-3}"
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
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# runs one tool once; prints its time; leaves the output in $2
time_vstore() { # args: out vstore-args...
  local out="$1"; shift
  rm -f "$out"; sync
  local t0; t0=$(now)
  "$root/vstore" image convert "$src" "$out" "$@" >/dev/null
  echo "$(now) - $t0" | bc -l
}
time_qemu() {
  local out="$1"; shift
  rm -f "$out"; sync
  local t0; t0=$(now)
  qemu-img convert -f raw "$@" "$src" "$out"
  echo "$(now) - $t0" | bc -l
}

# name | vstore args | qemu-img args
cases=(
  "qcow2|-O qcow2|-O qcow2"
  "qcow2 -c (zlib)|-O qcow2 -c|-O qcow2 -c"
  "vmdk streamOptimized|-O vmdk -o subformat=streamOptimized|-O vmdk -o subformat=streamOptimized"
  "vpc|-O vpc|-O vpc"
  "vhdx|-O vhdx|-O vhdx"
)

echo "convert-bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), image $size_mib MiB, $rounds rounds (median), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-img --version | head -n 1)"
printf '%-24s %10s %10s %8s %14s %14s\n' "target" "vstore s" "qemu-img s" "ratio" "vstore bytes" "qemu bytes"
for c in "${cases[@]}"; do
  IFS='|' read -r name vargs qargs <<<"$c"
  if [ -n "${ONLY:-}" ] && ! grep -qE "$ONLY" <<<"$name"; then
    continue # ONLY=REGEX limits the run to matching targets
  fi
  out_v="$work/out.vstore"
  out_q="$work/out.qemu"
  # shellcheck disable=SC2086
  if ! err=$("$root/vstore" image convert "$src" "$out_v" $vargs 2>&1 >/dev/null); then
    rm -f "$out_v"
    if grep -q "unsupported" <<<"$err"; then
      printf '%-24s %s\n' "$name" "not available ($err)"
      continue
    fi
    echo "vstore failed on $name: $err" >&2
    exit 1
  fi
  tv=(); tq=()
  for ((r = 0; r < rounds; r++)); do
    # shellcheck disable=SC2086
    if ((r % 2 == 0)); then
      tv+=("$(time_vstore "$out_v" $vargs)"); tq+=("$(time_qemu "$out_q" $qargs)")
    else
      tq+=("$(time_qemu "$out_q" $qargs)"); tv+=("$(time_vstore "$out_v" $vargs)")
    fi
  done
  mv=$(printf '%s\n' "${tv[@]}" | median)
  mq=$(printf '%s\n' "${tq[@]}" | median)
  ratio=$(echo "$mq / $mv" | bc -l)
  printf '%-24s %10.2f %10.2f %8.2f %14s %14s   (vstore runs: %s; qemu-img runs: %s)\n' "$name" "$mv" "$mq" "$ratio" \
    "$(stat -c %s "$out_v")" "$(stat -c %s "$out_q")" \
    "$(printf '%.2f ' "${tv[@]}")" "$(printf '%.2f ' "${tq[@]}")"
  if ! qemu-img compare -q "$out_v" "$out_q"; then
    echo "MISMATCH: vstore's and qemu-img's $name outputs differ" >&2
    exit 1
  fi
  rm -f "$out_v" "$out_q"
done
