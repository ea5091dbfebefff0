#!/usr/bin/env bash
# Offline check-out and check-in (issue 17), side by side with curl in the same run:
#
#   1. the test image (1 MiB regions cycling hole / zeros / random / text) written into VM "desk"'s disk;
#   2. vstore serve with HTTPS on loopback (a self-signed certificate made here with openssl);
#   3. vstore checkout desk over HTTPS, timed; then curl downloading the same allocated bytes (the
#      image's non-zero MiB regions, as one file) from python3's http.server behind TLS 1.3;
#      speeds and their ratio (floor: vstore >= 0.8x curl), and the CPU seconds of each side (the client
#      command, the daemon's share; curl, python3's server), which a loaded machine changes less than wall time;
#   4. vstore offline run, 1% of the disk rewritten through NBD (qemu-io, 64 KiB pieces), stopped;
#      vstore checkin --json: bytes sent against changed bytes (floor: <= 1.05 x changed + 1 MiB);
#   5. vstore checkout --stream into a second directory: the time from the command to the first NBD
#      read served (floor: <= 2 s), then a boot-like read (the first BOOT_MIB MiB in 64 KiB requests,
#      one at a time, as a guest boot reads; the test image holds no OS to boot) while the download
#      runs, against the same read from the completed copy under `vstore offline run`
#      (floor: streaming <= 1.5x).
#
# Usage: SIZE=4G bench/scripts/checkout-bench.sh [WORKDIR]   (defaults: SIZE=4G, WORKDIR=bench/work/checkout)
# Needs: python3, qemu-io, openssl, curl; builds the vstore jar first (SKIP_BUILD=1 reuses it).
# vstore runs as its users run it: every command through the ./vstore launcher (its JVM options per
# command and the AOT cache made at package time), as backup-bench.sh does.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORKDIR="${1:-$ROOT/bench/work/checkout}"
SIZE="${SIZE:-4G}"
for tool in python3 qemu-io openssl curl; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 1; }
done
mib=$(python3 -c "import sys; s=sys.argv[1].upper(); m={'M':1,'G':1024,'T':1024*1024}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s)//(1<<20))" "$SIZE")
source "$ROOT/bench/scripts/nbd-lib.sh" # JAVA, JAR, free_port, wait_port, stop_server (trap EXIT)
if [[ -z ${SKIP_BUILD:-} ]]; then nbd_build && touch "$ROOT/cli/target/vstore.built"; fi
vstore() { "$ROOT/vstore" "$@"; }
now() { python3 -c 'import time; print(time.monotonic())'; }
secs() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
PEER_PID= RUN_PID= STREAM_PID=
cleanup() {
  for p in $STREAM_PID $RUN_PID $PEER_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  stop_server
}
trap cleanup EXIT

mkdir -p "$WORKDIR"
image="$WORKDIR/test-$mib.raw"
if [ ! -f "$image" ]; then
  echo "making $image ($mib MiB) ..." >&2
  python3 "$ROOT/bench/scripts/make-test-image.py" "$image" "$mib"
fi
ds="$WORKDIR/ds" client="$WORKDIR/client" www="$WORKDIR/www"
rm -rf "$ds" "$client" "$WORKDIR/client2" "$www"
mkdir -p "$www"
# The same allocated bytes as one file: the image's MiB regions that are not all zeros.
python3 - "$image" "$www/alloc.bin" <<'PY'
import sys
with open(sys.argv[1], 'rb') as src, open(sys.argv[2], 'wb') as dst:
    while True:
        b = src.read(1 << 20)
        if not b:
            break
        if b.count(0) != len(b):
            dst.write(b)
PY
alloc=$(stat -c %s "$www/alloc.bin")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$WORKDIR/key.pem" -out "$WORKDIR/cert.pem" 2>/dev/null
printf 'bench passphrase\n' >"$WORKDIR/pass"

vstore datastore init -D "$ds" >/dev/null
vstore vm create -D "$ds" desk --disk "${mib}M" >/dev/null
vstore volume write -D "$ds" desk-disk0 0 "$image" >/dev/null

api=$(free_port) nbd=$(free_port)
"$ROOT/vstore" serve -D "$ds" --listen "127.0.0.1:$api" --tls-cert "$WORKDIR/cert.pem" \
  --tls-key "$WORKDIR/key.pem" --nbd-listen "127.0.0.1:$nbd" >"$WORKDIR/serve.log" 2>&1 &
SERVER_PID=$!
wait_port "$api" "$WORKDIR/serve.log"
for _ in $(seq 100); do [ -S "$ds/vstore.sock" ] && break; sleep 0.1; done
token=$(vstore token create -D "$ds" bench --scope write --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# CPU seconds (user + system) a process has used so far, from /proc: the daemon's share of the check-out.
cpu_of() { python3 -c "import os,sys; f=open(f'/proc/{sys.argv[1]}/stat').read().rsplit(')',1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK'))" "$1"; }
server_cpu0=$(cpu_of "$SERVER_PID")
t0=$(now)
out=$(/usr/bin/time -f '%U %S' -o "$WORKDIR/client.cpu" "$ROOT/vstore" checkout desk --server "https://127.0.0.1:$api" \
  --token "$token" --ca-cert "$WORKDIR/cert.pem" --to "$client" --passphrase-file "$WORKDIR/pass" --json)
t1=$(now)
server_cpu=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$server_cpu0" "$(cpu_of "$SERVER_PID")")
client_cpu=$(python3 -c "import sys; u, s = open(sys.argv[1]).read().split()[-2:]; print('%.2f' % (float(u) + float(s)))" "$WORKDIR/client.cpu")
data=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["dataBytes"])' "$out")

peer=$(free_port)
python3 "$ROOT/bench/scripts/https-file-server.py" "$www" "$peer" "$WORKDIR/cert.pem" "$WORKDIR/key.pem" \
  >"$WORKDIR/peer.log" 2>&1 &
PEER_PID=$!
wait_port "$peer" "$WORKDIR/peer.log"
t2=$(now)
peer_cpu0=$(cpu_of "$PEER_PID")
/usr/bin/time -f '%U %S' -o "$WORKDIR/curl.cpu" curl -sS --fail --cacert "$WORKDIR/cert.pem" -o /dev/null \
  "https://127.0.0.1:$peer/alloc.bin"
t3=$(now)
peer_cpu=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$peer_cpu0" "$(cpu_of "$PEER_PID")")
curl_cpu=$(python3 -c "import sys; u, s = open(sys.argv[1]).read().split()[-2:]; print('%.2f' % (float(u) + float(s)))" "$WORKDIR/curl.cpu")

co=$(secs "$t0" "$t1") cu=$(secs "$t2" "$t3")
python3 - "$data" "$co" "$alloc" "$cu" <<'PY'
import sys
data, co, alloc, cu = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
v, c = data / co / 2**20, alloc / cu / 2**20
print(f"check-out: {data} bytes of data in {co:.2f} s = {v:.1f} MiB/s (whole command, JVM start included)")
print(f"curl:      {alloc} bytes in {cu:.2f} s = {c:.1f} MiB/s (python3 http.server behind TLS 1.3)")
print(f"ratio vstore/curl: {v / c:.2f} (floor 0.80)")
PY
echo "CPU seconds: check-out client $client_cpu, daemon $server_cpu; curl $curl_cpu, its server $peer_cpu"

# Check-in after 1% of the disk rewritten through the copy's NBD export.
run_port=$(free_port)
"$ROOT/vstore" offline run "$client" --passphrase-file "$WORKDIR/pass" \
  --nbd-listen "127.0.0.1:$run_port" >"$WORKDIR/run.log" 2>&1 &
RUN_PID=$!
wait_port "$run_port" "$WORKDIR/run.log"
pieces=$(( mib * 1024 / 100 / 64 ))
cmds=$(python3 - "$mib" "$pieces" <<'PY'
import random, sys
mib, pieces = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(17)
slots = rnd.sample(range(mib * 16), pieces)
print(" ".join(f'-c "write -P {rnd.randrange(1, 255)} {s * 65536} 65536"' for s in slots))
PY
)
eval qemu-io -f raw "$cmds" "nbd://127.0.0.1:$run_port/desk-disk0" >/dev/null
kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null || true; RUN_PID=
t4=$(now)
in=$(vstore checkin "$client" --token "$token" --passphrase-file "$WORKDIR/pass" --json)
t5=$(now)
python3 - "$in" "$(secs "$t4" "$t5")" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
sent, changed = r["bytesSent"], r["changedBytes"]
limit = 1.05 * changed + 2**20
print(f"check-in after 1% rewritten: changed {changed} bytes, sent {sent} bytes ({sent / changed:.3f}x; "
      f"floor <= 1.05x + 1 MiB = {int(limit)}: {'met' if sent <= limit else 'MISSED'}), {sys.argv[2]} s")
PY

# Streaming check-out ("instant on") of the same VM, now checked in.
boot_mib=${BOOT_MIB:-$(( mib / 4 < 64 ? mib / 4 : 64 ))}
boot_cmds=$(python3 - "$boot_mib" <<'PY'
import sys
print(" ".join(f'-c "read {i * 65536} 65536"' for i in range(int(sys.argv[1]) * 16)))
PY
)
stream_port=$(free_port)
t6=$(now)
"$ROOT/vstore" checkout desk --stream --server "https://127.0.0.1:$api" --token "$token" \
  --ca-cert "$WORKDIR/cert.pem" --to "$WORKDIR/client2" --passphrase-file "$WORKDIR/pass" \
  --nbd-listen "127.0.0.1:$stream_port" >"$WORKDIR/stream.log" 2>&1 &
STREAM_PID=$!
until qemu-io -f raw -c "read 0 4096" "nbd://127.0.0.1:$stream_port/desk-disk0" >/dev/null 2>&1; do
  kill -0 "$STREAM_PID" 2>/dev/null || { echo "checkout --stream failed:" >&2; cat "$WORKDIR/stream.log" >&2; exit 1; }
  sleep 0.02
done
t7=$(now)
eval qemu-io -f raw "$boot_cmds" "nbd://127.0.0.1:$stream_port/desk-disk0" >/dev/null
t8=$(now)
for _ in $(seq 3000); do grep -q "download complete" "$WORKDIR/stream.log" && break; sleep 0.1; done
grep -q "download complete" "$WORKDIR/stream.log" || { echo "the streamed download did not finish" >&2; exit 1; }
kill "$STREAM_PID"; wait "$STREAM_PID" 2>/dev/null || true; STREAM_PID=
run_port=$(free_port)
"$ROOT/vstore" offline run "$WORKDIR/client2" --passphrase-file "$WORKDIR/pass" \
  --nbd-listen "127.0.0.1:$run_port" >"$WORKDIR/run2.log" 2>&1 &
RUN_PID=$!
wait_port "$run_port" "$WORKDIR/run2.log"
t9=$(now)
eval qemu-io -f raw "$boot_cmds" "nbd://127.0.0.1:$run_port/desk-disk0" >/dev/null
t10=$(now)
kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null || true; RUN_PID=
python3 - "$(secs "$t6" "$t7")" "$(secs "$t7" "$t8")" "$(secs "$t9" "$t10")" "$boot_mib" <<'PY'
import sys
first, streamed, local, mib = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"--stream: first NBD read served {first:.2f} s after the command (floor <= 2 s: "
      f"{'met' if first <= 2 else 'MISSED'}; JVM start and qemu-io included)")
print(f"boot-like read of {mib} MiB: {streamed:.2f} s while streaming, {local:.2f} s from the completed copy: "
      f"{streamed / local:.2f}x (floor <= 1.5x: {'met' if streamed <= 1.5 * local else 'MISSED'})")
PY
