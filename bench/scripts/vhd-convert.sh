#!/usr/bin/env bash
# Converts the 4 GiB benchmark image from raw to VHD (vpc) and VHDX with qemu-img and with vstore,
# on the same file in the same run, checks that vstore's outputs compare identical in qemu-img, and
# prints the times and the ratios (qemu-img time / vstore time: above 1 means vstore is faster).
#
# vstore's side is ConvertBench (test sources), a sparse-preserving copy into the VHD/VHDX writers
# on both cores, until the generic `vstore image convert` lands; its time includes JVM start-up
# and the final fdatasync (vstore's close() makes the image durable). qemu-img convert's default
# cache mode for the target is "unsafe" (no flush at the end), so the script also runs qemu-img
# with -t writeback, which flushes like vstore; both ratios are printed.
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
# Each run starts with no dirty pages of another run's output (sync, untimed), so none pays for
# another's write-back; the order rotates between rounds.
timed() { rm -f "$2"; sync; local t0; t0=$(now); "${@:3}"; echo "$(now) - $t0" | bc -l; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(qemu-img --version | head -n 1); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for fmt in vpc vhdx; do
  for round in $(seq 1 "$rounds"); do
    runs=(qd qw vs)
    for i in 0 1 2; do
      r=${runs[$(( (i + round) % 3 ))]}
      case $r in
        qd) qd=$(timed "$fmt" "$work/q.$fmt" qemu-img convert -f raw -O "$fmt" "$raw" "$work/q.$fmt") ;;
        qw) qw=$(timed "$fmt" "$work/w.$fmt" qemu-img convert -t writeback -f raw -O "$fmt" "$raw" "$work/w.$fmt") ;;
        vs) vs=$(timed "$fmt" "$work/v.$fmt" "$java" -cp "$cp" io.vstore.vdisk.vhd.ConvertBench "$fmt" "$raw" "$work/v.$fmt") ;;
      esac
    done
    printf '%-5s round %d: vstore %6.2f s | qemu-img default %6.2f s (ratio %.2f) | qemu-img -t writeback %6.2f s (ratio %.2f) | allocated: vstore %sK qemu %sK\n' \
      "$fmt" "$round" "$vs" "$qd" "$(echo "$qd / $vs" | bc -l)" "$qw" "$(echo "$qw / $vs" | bc -l)" \
      "$(du -k "$work/v.$fmt" | cut -f1)" "$(du -k "$work/q.$fmt" | cut -f1)"
  done
  qemu-img compare -q -f "$fmt" -F raw "$work/v.$fmt" "$raw" && echo "$fmt: vstore output compares identical to the source"
  if [ "$fmt" = vhdx ]; then qemu-img check -q -f vhdx "$work/v.vhdx" && echo "vhdx: qemu-img check of vstore output clean"; fi
  rm -f "$work/q.$fmt" "$work/w.$fmt" "$work/v.$fmt"
done
