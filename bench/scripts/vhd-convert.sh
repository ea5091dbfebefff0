#!/usr/bin/env bash
# Converts the 4 GiB benchmark image from raw to VHD (vpc) and VHDX with `vstore image convert`
# and with `qemu-img convert`, on the same file in the same run; checks that vstore's outputs
# compare identical in qemu-img; prints the times and the ratios (qemu-img time / vstore time:
# above 1 means vstore is faster). Times include process (JVM) start-up.
#
# Two pairings with the same durability are timed: qemu-img's default (its target cache mode is
# "unsafe": no sync at the end) against vstore with -o cache=unsafe (metadata written, no sync),
# and qemu-img -t writeback (syncs at the end) against vstore's default (close() syncs).
#
# Usage: bench/scripts/vhd-convert.sh [WORKDIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/vstore-bench-vhd}
rounds=${2:-3}
mkdir -p "$work"
raw="$work/test.raw"
[ -f "$raw" ] || python3 bench/scripts/make-test-image.py "$raw"
./vstore --version > /dev/null 2>&1 || ./vstore image --help > /dev/null # builds the jar when needed, untimed

now() { date +%s.%N; }
# Each run starts with no dirty pages of another run's output (sync, untimed) and with the source
# in the page cache (re-read, untimed: the machine is shared and evicts it), so none pays for
# another's write-back or read; the order rotates between rounds.
timed() { rm -f "$1"; sync; cat "$raw" > /dev/null; local t0; t0=$(now); "${@:2}" > /dev/null; echo "$(now) - $t0" | bc -l; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(qemu-img --version | head -n 1); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for fmt in vpc vhdx; do
  for round in $(seq 1 "$rounds"); do
    runs=(qd qw vs vu)
    for i in 0 1 2 3; do
      case ${runs[$(( (i + round) % 4 ))]} in
        qd) qd=$(timed "$work/q.$fmt" qemu-img convert -f raw -O "$fmt" "$raw" "$work/q.$fmt") ;;
        qw) qw=$(timed "$work/w.$fmt" qemu-img convert -t writeback -f raw -O "$fmt" "$raw" "$work/w.$fmt") ;;
        vs) vs=$(timed "$work/v.$fmt" ./vstore image convert -f raw -O "$fmt" "$raw" "$work/v.$fmt") ;;
        vu) vu=$(timed "$work/u.$fmt" ./vstore image convert -f raw -O "$fmt" -o cache=unsafe "$raw" "$work/u.$fmt") ;;
      esac
    done
    printf '%-4s round %d: no sync: qemu-img %5.2f s, vstore -o cache=unsafe %5.2f s, ratio %.2f | sync: qemu-img -t writeback %5.2f s, vstore %5.2f s, ratio %.2f | allocated: vstore %sK, qemu-img %sK\n' \
      "$fmt" "$round" "$qd" "$vu" "$(echo "$qd / $vu" | bc -l)" "$qw" "$vs" "$(echo "$qw / $vs" | bc -l)" \
      "$(du -k "$work/v.$fmt" | cut -f1)" "$(du -k "$work/q.$fmt" | cut -f1)"
  done
  for out in v u; do
    qemu-img compare -q -f "$fmt" -F raw "$work/$out.$fmt" "$raw" && echo "$fmt: vstore output $out.$fmt compares identical to the source"
    if [ "$fmt" = vhdx ]; then qemu-img check -q -f vhdx "$work/$out.vhdx" && echo "vhdx: qemu-img check of $out.vhdx clean"; fi
  done
  rm -f "$work/q.$fmt" "$work/w.$fmt" "$work/v.$fmt" "$work/u.$fmt"
done
