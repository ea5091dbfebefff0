#!/usr/bin/env bash
# Converts the 4 GiB benchmark image to streamOptimized VMDK with qemu-img and with vstore, in the
# same run on the same file, and prints both times, both output sizes and the ratios.
# Usage: bench/scripts/vmdk-stream-bench.sh [WORKDIR] [SIZE_MIB]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/tmp/vstore-vmdk-bench}
mib=${2:-4096}
mkdir -p "$work"
raw="$work/bench-$mib.raw"
[ -f "$raw" ] || python3 "$root/bench/scripts/make-test-image.py" "$raw" "$mib"
(cd "$root" && ./mvnw -q -B -pl vdisk-formats -am test-compile)
cp="$root/vdisk-formats/target/classes:$root/vdisk-formats/target/test-classes:$root/blockstore/target/classes"
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
cat "$raw" > /dev/null   # same warm page cache for both tools

# /usr/bin/time adds CPU seconds (user+sys): on a shared machine they say more than wall time.
T="/usr/bin/time -f %U+%S"
t0=$(date +%s.%N)
$T -o "$work/qemu.cpu" qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$raw" "$work/qemu.vmdk"
t1=$(date +%s.%N)
$T -o "$work/vstore.cpu" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.vstore.vdisk.vmdk.StreamOptimizedConvertBench "$raw" "$work/vstore.vmdk"
t2=$(date +%s.%N)
$T -o "$work/vstore-convert.cpu" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.vstore.vdisk.vmdk.StreamOptimizedConvertBench "$raw" "$work/vstore-convert.vmdk" generic
t3=$(date +%s.%N)

q=$(echo "$t1 - $t0" | bc -l); v=$(echo "$t2 - $t1" | bc -l); g=$(echo "$t3 - $t2" | bc -l)
qs=$(stat -c %s "$work/qemu.vmdk"); vs=$(stat -c %s "$work/vstore.vmdk"); gs=$(stat -c %s "$work/vstore-convert.vmdk")
cpu() { echo "$(tail -1 "$work/$1.cpu")" | bc -l; }
printf 'qemu-img                %.2f s wall  %.2f s cpu  %d bytes\n' "$q" "$(cpu qemu)" "$qs"
printf 'vstore (extent copy)    %.2f s wall  %.2f s cpu  %d bytes (JVM start included)\n' "$v" "$(cpu vstore)" "$vs"
printf 'vstore (image convert)  %.2f s wall  %.2f s cpu  %d bytes (JVM start included)\n' "$g" "$(cpu vstore-convert)" "$gs"
printf 'extent copy:   speed ratio (qemu time / vstore time) %.2f   size ratio (vstore / qemu) %.4f\n' \
  "$(echo "$q / $v" | bc -l)" "$(echo "$vs / $qs" | bc -l)"
printf 'image convert: speed ratio (qemu time / vstore time) %.2f   size ratio (vstore / qemu) %.4f\n' \
  "$(echo "$q / $g" | bc -l)" "$(echo "$gs / $qs" | bc -l)"
for f in vstore vstore-convert; do
  qemu-img compare -f vmdk -F vmdk "$work/qemu.vmdk" "$work/$f.vmdk"
  qemu-img check -f vmdk "$work/$f.vmdk" | tail -1
done
