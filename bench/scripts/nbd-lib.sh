# Helpers shared by the fio-over-NBD scripts (nbd-bench.sh, nbd-fio-sequence.sh): build the jar,
# start `vstore nbd serve` or `qemu-nbd` on a free port, run one fio job, read its figure back.
# Source it after setting ROOT, SIZE and WORKDIR; it sets PORT and SERVER_PID and traps EXIT.
# shellcheck shell=bash

JAVA=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
JAR=${JAR:-$ROOT/cli/target/vstore.jar}

nbd_require_tools() {
  for tool in fio qemu-nbd qemu-img python3; do
    command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 1; }
  done
}

# Always rebuild (a stale jar would benchmark old code), unless SKIP_BUILD=1 says the jar is current.
nbd_build() {
  if [[ ${SKIP_BUILD:-} == 1 ]]; then
    [[ -f $JAR ]] || { echo "$(basename "$0"): SKIP_BUILD=1 but $JAR is missing" >&2; exit 1; }
    return
  fi
  (cd "$ROOT" && ./mvnw -q -B -pl cli -am package -DskipTests)
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

wait_port() {
  for _ in $(seq 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$(basename "$0"): server on port $1 did not come up; log:" >&2
  cat "$2" >&2
  exit 1
}

# usage: run_fio OUT.json PORT NAME RW BS IODEPTH [fio options...]
# One fio job over the export "disk", limited to the first SIZE bytes (override with --size=).
run_fio() {
  local out=$1 port=$2 name=$3 rw=$4 bs=$5 depth=$6
  shift 6
  fio --name="$name" --ioengine=nbd --uri="nbd://127.0.0.1:$port/disk" --rw="$rw" --bs="$bs" \
    --iodepth="$depth" --size="$SIZE" --randrepeat=1 --norandommap "$@" \
    --output-format=json --output="$out" >/dev/null
}

# usage: start_vstore volume|memory   (a fresh datastore in WORKDIR/datastore with one empty volume)
start_vstore() {
  local mode=${1:-volume} port spec; port=$(free_port)
  if [[ $mode == memory ]]; then
    spec=memory:$SIZE
  else
    "$JAVA" -jar "$JAR" datastore init -D "$WORKDIR/datastore" >/dev/null
    "$JAVA" -jar "$JAR" volume create -D "$WORKDIR/datastore" bench "$SIZE" >/dev/null
    spec=bench
  fi
  "$JAVA" -Xmx4g -jar "$JAR" nbd serve -D "$WORKDIR/datastore" --port "$port" "disk=$spec" >"$WORKDIR/vstore.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" "$WORKDIR/vstore.log"
  PORT=$port
}

# A fresh qcow2 in WORKDIR served the way issue reports compare with: no host cache, native AIO.
start_qemu() {
  local port; port=$(free_port)
  qemu-img create -q -f qcow2 "$WORKDIR/fresh.qcow2" "$SIZE"
  qemu-nbd -t --cache=none --aio=native -f qcow2 -b 127.0.0.1 -p "$port" -x disk "$WORKDIR/fresh.qcow2" \
    >"$WORKDIR/qemu-nbd.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" "$WORKDIR/qemu-nbd.log"
  PORT=$port
}

# Removes what start_vstore and start_qemu made.
clean_exports() {
  rm -rf "$WORKDIR/fresh.qcow2" "$WORKDIR/datastore"
}
