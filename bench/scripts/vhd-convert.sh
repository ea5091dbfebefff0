#!/usr/bin/env bash
# Converts the 4 GiB benchmark image from raw to VHD (vpc) and VHDX with qemu-img and with vstore,
# on the same file in the same run, checks that vstore's outputs compare identical in qemu-img, and
# prints the times and the ratios (qemu-img time / vstore time: above 1 means vstore is faster).
#
# vstore's side is ConvertBench (test sources), a sparse-preserving copy into the VHD/VHDX writers
# on both cores, until the generic `vstore image convert` lands; its time includes JVM start-up.
# Two pairings with the same durability are timed: qemu-img's default (target cache mode
# "unsafe": no sync at the end) against vstore with cache=unsafe (metadata written, no sync), and
# qemu-img -t writeback (syncs at the end) against vstore's default (close() syncs).
#
# Usage: bench/scripts/vhd-convert.sh [WORKDIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/vstore-bench-vhd}
rounds=${2:-3}
mkdir -p "$work"
raw="$work/test.raw"
[ -f "$raw" ] || python3 bench/scripts/make-test-image.py "$raw"
./mvnw -q -B -pl vdisk-formats -am test-compile
cp="vdisk-formats/target/classes:vdisk-formats/target/test-classes:blockstore/target/classes"
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
cat "$raw" > /dev/null # every run reads from the page cache

now() { date +%s.%N; }
# Each run starts with no dirty pages of another run's output (sync, untimed) and with the source
# in the page cache (re-read, untimed: the machine is shared and evicts it), so none pays for
# another's write-back or read; the order rotates between rounds.
timed() { rm -f "$2"; sync; cat "$raw" > /dev/null; local t0; t0=$(now); "${@:3}"; echo "$(now) - $t0" | bc -l; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(qemu-img --version | head -n 1); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for fmt in vpc vhdx; do
  for round in $(seq 1 "$rounds"); do
    runs=(qd qw vs vu)
    for i in 0 1 2 3; do
      r=${runs[$(( (i + round) % 4 ))]}
      case $r in
        qd) qd=$(timed "$fmt" "$work/q.$fmt" qemu-img convert -f raw -O "$fmt" "$raw" "$work/q.$fmt") ;;
        qw) qw=$(timed "$fmt" "$work/w.$fmt" qemu-img convert -t writeback -f raw -O "$fmt" "$raw" "$work/w.$fmt") ;;
        vs) vs=$(timed "$fmt" "$work/v.$fmt" "$java" -cp "$cp" io.vstore.vdisk.vhd.ConvertBench "$fmt" "$raw" "$work/v.$fmt" writeback) ;;
        vu) vu=$(timed "$fmt" "$work/u.$fmt" "$java" -cp "$cp" io.vstore.vdisk.vhd.ConvertBench "$fmt" "$raw" "$work/u.$fmt" unsafe) ;;
      esac
    done
    printf '%-5s round %d: no sync: qemu-img %6.2f s, vstore unsafe %6.2f s, ratio %.2f | sync: qemu-img -t writeback %6.2f s, vstore %6.2f s, ratio %.2f | allocated: vstore %sK qemu %sK\n' \
      "$fmt" "$round" "$qd" "$vu" "$(echo "$qd / $vu" | bc -l)" "$qw" "$vs" "$(echo "$qw / $vs" | bc -l)" \
      "$(du -k "$work/v.$fmt" | cut -f1)" "$(du -k "$work/q.$fmt" | cut -f1)"
  done
  for out in v u; do
    qemu-img compare -q -f "$fmt" -F raw "$work/$out.$fmt" "$raw" && echo "$fmt: vstore output $out.$fmt compares identical to the source"
    if [ "$fmt" = vhdx ]; then qemu-img check -q -f vhdx "$work/$out.vhdx" && echo "vhdx: qemu-img check of $out.vhdx clean"; fi
  done
  rm -f "$work/q.$fmt" "$work/w.$fmt" "$work/v.$fmt" "$work/u.$fmt"
done
