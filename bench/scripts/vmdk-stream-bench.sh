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

t0=$(date +%s.%N)
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$raw" "$work/qemu.vmdk"
t1=$(date +%s.%N)
"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.vstore.vdisk.vmdk.StreamOptimizedConvertBench "$raw" "$work/vstore.vmdk"
t2=$(date +%s.%N)

q=$(echo "$t1 - $t0" | bc -l); v=$(echo "$t2 - $t1" | bc -l)
qs=$(stat -c %s "$work/qemu.vmdk"); vs=$(stat -c %s "$work/vstore.vmdk")
printf 'qemu-img   %.2f s  %d bytes\n' "$q" "$qs"
printf 'vstore     %.2f s  %d bytes (JVM start included)\n' "$v" "$vs"
printf 'speed ratio (qemu time / vstore time): %.2f   size ratio (vstore / qemu): %.4f\n' \
  "$(echo "$q / $v" | bc -l)" "$(echo "$vs / $qs" | bc -l)"
qemu-img compare -f vmdk -F vmdk "$work/qemu.vmdk" "$work/vstore.vmdk"
qemu-img check -f vmdk "$work/vstore.vmdk" | tail -1
