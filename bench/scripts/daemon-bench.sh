#!/usr/bin/env bash
# The daemon's floors (issue 11), in one run, each against its peer in the same run:
#  (a) `vstore snapshot create` through the daemon, CLI start included, vs a plain `vstore volume
#      list` without a daemon: medians and ratio (floor <= 1.5);
#  (b) GET /api/v1/volumes with N_VOLUMES volumes over the Unix socket: p50/p99 (floor p99 <= 50 ms);
#  (c) N_SNAPSHOTS sequential POST /api/v1/volumes/VOL/snapshots: rate (floor >= 500/s), and the
#      daemon's CPU per snapshot (user + system, from /proc: unlike the rate, robust to other load);
#  (d) fio 4 KiB random write and read through the daemon's export vs `vstore nbd serve` (floor >=
#      0.95x), with /metrics scraped every second during the daemon's run and the dashboard open
#      (headless chromium on `vstore dashboard`'s login URL when both exist; otherwise a client
#      reading /api/v1/events as the page does; the output says which). Each side's server CPU per
#      1,000 operations over fio's timed window is printed beside its IOPS, per round, and so is its
#      idle CPU per second (the last half of SETTLE, no fio: scrapes, dashboard, background work).
#      The same less the JIT compiler threads' CPU is printed too: C2 was still compiling on both
#      sides during fio's window on the loaded VM, half of each server's CPU there.
#      The viewer's CPU (chromium with all its processes, or the events client) is printed over the
#      same windows: it runs on the daemon side only and competes with fio and the server for the
#      CPUs. So are the safepoints each server took during fio's windows (-Xlog:safepoint on both
#      sides), with their total pause: each one stops the NBD workers too.
#      A warm-up round (both sides, short jobs) runs first and is not counted: the first fio run of
#      a session met a colder page cache and disk than the rest. The sides' order alternates by round.
#
# usage: bench/scripts/daemon-bench.sh
#   Env: N_VOLUMES (10000), N_REQUESTS (200), N_WARMUP (50, GETs not counted), N_SNAPSHOTS (1000), RUNS CLI runs per side (11),
#   SIZE of the fio volume (1G), RUNTIME seconds per fio job (15), ROUNDS of
#   (d), the sides taking turns (2), WARMUP=0 to skip the uncounted warm-up round, PARTS the parts to
#   run (abcd; e.g. PARTS=d for the fio part alone), WORKDIR (default
#   bench/target/daemon-bench; not tmpfs), SKIP_BUILD=1 to use the jar as built.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N_VOLUMES=${N_VOLUMES:-10000}
N_REQUESTS=${N_REQUESTS:-200}
N_SNAPSHOTS=${N_SNAPSHOTS:-1000}
RUNS=${RUNS:-11}
SIZE=${SIZE:-1G}
RUNTIME=${RUNTIME:-15}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-1}
PARTS=${PARTS:-abcd}
SETTLE=${SETTLE:-10} # seconds between a server's start (and the dashboard's, on the daemon side) and fio
WORKDIR=${WORKDIR:-$ROOT/bench/target/daemon-bench}
VSTORE=$ROOT/vstore

for tool in fio python3; do
  command -v "$tool" >/dev/null || { echo "daemon-bench: $tool is not installed" >&2; exit 1; }
done
# Rebuild unless told not to: a stale jar would benchmark old code.
if [[ ${SKIP_BUILD:-} != 1 ]]; then
  (cd "$ROOT" && ./mvnw -q -B -pl cli -am package -DskipTests)
  touch "$ROOT/cli/target/vstore.jar" # the launcher would otherwise rebuild on its first use
fi
mkdir -p "$WORKDIR"
rm -rf "$WORKDIR"/*.json "$WORKDIR"/*.cpu "$WORKDIR"/*.viewer "$WORKDIR"/*.safepoints "$WORKDIR"/*.log "$WORKDIR"/ds-* "$WORKDIR"/chromium*

# Runs a setup command quietly; shows its output only when it fails.
quiet() {
  "$@" >"$WORKDIR/setup.out" 2>&1 || { cat "$WORKDIR/setup.out" >&2; exit 1; }
}

# CPU time (user + system) a process has used, in clock ticks: a figure other load hardly moves.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The CPU ticks a JVM's JIT compiler threads have used: compiling is a warm-up cost, not a per-op one,
# and on a loaded machine it was half of either server's CPU over fio's window.
jit_ticks() {
  python3 -c 'import os, sys
total = 0
for t in os.listdir(f"/proc/{sys.argv[1]}/task"):
    try:
        s = open(f"/proc/{sys.argv[1]}/task/{t}/stat").read()
    except OSError:
        continue  # the thread ended
    if "CompilerThre" in s[s.index("(") + 1:s.rindex(")")]:
        f = s[s.rindex(")") + 2:].split()
        total += int(f[11]) + int(f[12])
print(total)' "$1"
}

# CPU ticks of a process and all its live descendants (chromium's browser, zygotes, renderers...).
tree_ticks() {
  python3 -c 'import os, sys
root, parent, ticks = int(sys.argv[1]), {}, {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open(f"/proc/{p}/stat").read()
    except OSError:
        continue  # the process ended
    f = s[s.rindex(")") + 2:].split()
    parent[int(p)], ticks[int(p)] = int(f[1]), int(f[11]) + int(f[12])
def under(p):
    while p > 1:
        if p == root:
            return True
        p = parent.get(p, 0)
    return False
print(sum(t for p, t in ticks.items() if under(p)))' "$1"
}
# Safepoints a server has logged so far (-Xlog:safepoint) and their total pause in ns.
safepoints() {
  awk '/Safepoint "/ { n++; for (i = 1; i < NF; i++) if ($i == "Total:") ns += $(i + 1) } END { printf "%d %.0f\n", n, ns }' "$1" 2>/dev/null || echo "0 0"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVER_PID=
HELPER_PIDS=()
stop_helpers() {
  for pid in "${HELPER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  HELPER_PIDS=()
}
stop_server() {
  stop_helpers
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
  echo "daemon-bench: server on port $1 did not come up; log:" >&2
  cat "$2" >&2
  exit 1
}

wait_socket() { # socket log
  for _ in $(seq 300); do
    if python3 "$WORKDIR/uds.py" "$1" ping 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "daemon-bench: no daemon answered on $1; log:" >&2
  cat "$2" >&2
  exit 1
}

# HTTP over the daemon's Unix socket with http.client, one kept-alive connection per command.
cat >"$WORKDIR/uds.py" <<'PY'
import http.client, json, os, socket, statistics, sys, time
WARMUP = int(os.environ.get("N_WARMUP", "50"))

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(self.path)

def call(c, method, path, body=None, expect=200):
    data = None if body is None else json.dumps(body).encode()
    c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    r = c.getresponse()
    text = r.read()
    if r.status != expect:
        sys.exit(f"daemon-bench: {method} {path} -> {r.status} (expected {expect}): {text[:300]!r}")
    return text

def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]

sock, what = sys.argv[1], sys.argv[2]
c = UnixConnection(sock)
if what == "ping":
    call(c, "GET", "/api/v1/version")
elif what == "volumes":  # create N volumes, then time GETs of the whole list
    n, requests = int(sys.argv[3]), int(sys.argv[4])
    t = time.perf_counter()
    for i in range(n):
        call(c, "POST", "/api/v1/volumes", {"name": f"v{i:05d}", "size": 1 << 30}, 201)
    print(f"  created {n} volumes through POST /api/v1/volumes in {time.perf_counter() - t:.1f} s")
    # Warm-up, as JMH does: the first GETs of a 2.7 MB list run while the JIT compiles its path
    # (the creations above warmed the POST path, not this one); the floor is the steady state.
    for _ in range(WARMUP):
        call(c, "GET", "/api/v1/volumes")
    ms = []
    for _ in range(requests):
        t = time.perf_counter()
        body = call(c, "GET", "/api/v1/volumes")
        ms.append((time.perf_counter() - t) * 1000)
    listed = len(json.loads(body))
    p99 = pct(ms, 0.99)
    print(f"(b) GET /api/v1/volumes, {listed} volumes, {requests} requests after {WARMUP} warm-up ones: p50 {statistics.median(ms):.1f} ms,"
          f" p99 {p99:.1f} ms (floor p99 <= 50 ms: {'met' if p99 <= 50 else 'NOT met'})")
elif what == "snapshots":  # N sequential snapshot creations of one volume
    volume, n = sys.argv[3], int(sys.argv[4])
    t = time.perf_counter()
    for i in range(n):
        call(c, "POST", f"/api/v1/volumes/{volume}/snapshots", {"name": f"b{i:05d}"}, 201)
    rate = n / (time.perf_counter() - t)
    print(f"(c) {n} sequential POST /api/v1/volumes/{volume}/snapshots: {rate:.0f}/s"
          f" (floor >= 500/s: {'met' if rate >= 500 else 'NOT met'})")
elif what == "export":
    call(c, "POST", "/api/v1/exports", {"spec": sys.argv[3], "name": "disk"}, 201)
elif what == "scrape":  # GET /metrics every second until killed
    n = 0
    while True:
        call(c, "GET", "/metrics")
        n += 1
        with open(sys.argv[3], "w") as f:
            f.write(str(n))
        time.sleep(1)
elif what == "events":  # what the dashboard page does: hold the event stream open and read it
    c.request("GET", "/api/v1/events", headers={"Accept": "text/event-stream"})
    r = c.getresponse()
    if r.status != 200:
        sys.exit(f"daemon-bench: GET /api/v1/events -> {r.status}")
    while r.readline():
        pass
PY

median_time() { # runs... command: prints the median wall time in seconds of RUNS runs of command
  python3 - "$RUNS" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for i in range(runs):
    argv = [a.replace("{i}", str(i)) for a in cmd]
    t = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"daemon-bench: {' '.join(argv)} exited {r.returncode}: {r.stderr}")
    times.append(time.perf_counter() - t)
print(f"{statistics.median(times):.3f}")
PY
}

start_daemon() { # datastore log [extra serve options]
  local nbd; nbd=$(free_port)
  VSTORE_JAVA_OPTS="${VSTORE_JAVA_OPTS:-} -Xlog:safepoint:file=$2.safepoints" "$VSTORE" serve -D "$1" --nbd-listen "127.0.0.1:$nbd" "${@:3}" >"$2" 2>&1 &
  SERVER_PID=$!
  wait_socket "$1/vstore.sock" "$2"
  NBD_PORT=$nbd
}

echo "daemon-bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# (a) CLI start included: snapshot create through the daemon vs volume list without one.
if [[ $PARTS == *[abc]* ]]; then
DS=$WORKDIR/ds-api
quiet "$VSTORE" datastore init -D "$DS"
quiet "$VSTORE" volume create -D "$DS" vm1 1G
plain=$(median_time "$VSTORE" volume list -D "$DS")
start_daemon "$DS" "$WORKDIR/daemon-api.log"
through=$(median_time "$VSTORE" snapshot create -D "$DS" "vm1@cli{i}")
python3 - "$plain" "$through" "$RUNS" <<'PY'
import sys
plain, through, runs = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
r = through / plain
print(f"(a) median of {runs}: `vstore snapshot create` through the daemon {through:.3f} s, `vstore volume list`"
      f" without a daemon {plain:.3f} s: ratio {r:.2f} (floor <= 1.5: {'met' if r <= 1.5 else 'NOT met'})")
PY

# (b) and (c) on the same daemon.
python3 "$WORKDIR/uds.py" "$DS/vstore.sock" volumes "$N_VOLUMES" "$N_REQUESTS"
ticks=$(cpu_ticks "$SERVER_PID")
python3 "$WORKDIR/uds.py" "$DS/vstore.sock" snapshots vm1 "$N_SNAPSHOTS"
python3 -c "import sys; print(f'    daemon CPU {int(sys.argv[1]) * 1000 / int(sys.argv[2]) / int(sys.argv[3]):.2f} ms per snapshot')" \
  "$(($(cpu_ticks "$SERVER_PID") - ticks))" "$(getconf CLK_TCK)" "$N_SNAPSHOTS"
stop_server
fi
[[ $PARTS == *d* ]] || exit 0

# (d) fio through a daemon's export (metrics scraped, dashboard open) vs `vstore nbd serve`, each
# on a fresh volume in a fresh datastore, filled sequentially first (not timed) so that the reads
# read data everywhere: after the timed random writes alone, the side that had written more read
# fewer holes, and reading data costs more than reading a hole, so a faster writer read slower. The sides take
# turns for ROUNDS rounds (daemon then serve in odd rounds, serve then daemon in even ones) so that
# neither always runs first on a machine whose speed drifts; the ratio is of the sums over the rounds.
JOBS=("randwrite-4k randwrite" "randread-4k randread")
RAMP=2
prefill() { # port: writes the whole volume once, sequentially, before the timed jobs
  fio --name=prefill --ioengine=nbd --uri="nbd://127.0.0.1:$1/disk" --rw=write --bs=1M --iodepth=8 --size="$SIZE" \
    --output-format=json --output=/dev/null >/dev/null
}
run_fio() { # side port name rw: also writes the server's CPU ticks over fio's timed window to side-name.cpu,
  # the viewer's to side-name.viewer and the server's safepoints to side-name.safepoints
  fio --name="$3" --ioengine=nbd --uri="nbd://127.0.0.1:$2/disk" --rw="$4" --bs=4k --iodepth=32 --size="$SIZE" \
    --time_based --runtime="$RUNTIME" --ramp_time="$RAMP" --randrepeat=1 --norandommap --output-format=json \
    --output="$WORKDIR/$1-$3.json" >/dev/null &
  local fio_pid=$! before jit viewer sp
  sleep "$RAMP" # fio counts no operation during its ramp; neither does the CPU figure
  before=$(cpu_ticks "$SERVER_PID")
  jit=$(jit_ticks "$SERVER_PID")
  viewer=$(viewer_ticks)
  sp=$(safepoints "$SERVER_LOG.safepoints")
  wait "$fio_pid"
  # A compiler thread that ends within the window takes its ticks along: the JIT figure is a floor.
  echo "$(($(cpu_ticks "$SERVER_PID") - before)) $(($(jit_ticks "$SERVER_PID") - jit))" >"$WORKDIR/$1-$3.cpu"
  echo "$(($(viewer_ticks) - viewer))" >"$WORKDIR/$1-$3.viewer"
  echo "$sp $(safepoints "$SERVER_LOG.safepoints")" >"$WORKDIR/$1-$3.safepoints"
}

# The viewer's CPU ticks so far (0 on the side without one).
viewer_ticks() {
  if [[ -n $VIEWER_PID ]]; then tree_ticks "$VIEWER_PID"; else echo 0; fi
}

# Waits SETTLE seconds, writing the server's CPU ticks over the last half of them to side-idle.cpu.
settle() { # side
  local half=$((SETTLE / 2)) before viewer
  sleep "$((SETTLE - half))"
  before=$(cpu_ticks "$SERVER_PID")
  viewer=$(viewer_ticks)
  sleep "$half"
  echo "$(($(cpu_ticks "$SERVER_PID") - before)) $half" >"$WORKDIR/$1-idle.cpu"
  echo "$(($(viewer_ticks) - viewer))" >"$WORKDIR/$1-idle.viewer"
}

daemon_side() { # round
  DS=$WORKDIR/ds-daemon-$1
  quiet "$VSTORE" datastore init -D "$DS"
  quiet "$VSTORE" volume create -D "$DS" bench "$SIZE"
  # TCP on loopback too: the dashboard's login link points there.
  SERVER_LOG=$WORKDIR/daemon-nbd-$1.log
  start_daemon "$DS" "$SERVER_LOG" --listen "127.0.0.1:$(free_port)"
  python3 "$WORKDIR/uds.py" "$DS/vstore.sock" export bench
  python3 "$WORKDIR/uds.py" "$DS/vstore.sock" scrape "$WORKDIR/scrapes-$1.txt" &
  HELPER_PIDS+=($!)
  viewer=
  if command -v chromium >/dev/null && "$VSTORE" dashboard --help >/dev/null 2>&1; then
    url=$(timeout 60 "$VSTORE" dashboard -D "$DS" 2>&1 | grep -o 'https\?://[^ ]*/login?t=[^ ]*' | head -1 || true)
    if [[ -n $url ]]; then
      chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$WORKDIR/chromium-$1" \
        --remote-debugging-port=0 "$url" >"$WORKDIR/chromium.log" 2>&1 &
      VIEWER_PID=$!
      HELPER_PIDS+=($!)
      viewer="the dashboard open in headless chromium"
    fi
  fi
  if [[ -z $viewer ]]; then
    python3 "$WORKDIR/uds.py" "$DS/vstore.sock" events &
    VIEWER_PID=$!
    HELPER_PIDS+=($!)
    viewer="a client reading /api/v1/events as the dashboard page does (chromium or \`vstore dashboard\` unavailable)"
  fi
  # The floor is about a daemon whose dashboard is open, not one whose browser is starting: both
  # sides wait SETTLE seconds between their server's start and fio's first job.
  prefill "$NBD_PORT"
  settle "daemon-r$1"
  for job in "${JOBS[@]}"; do
    # shellcheck disable=SC2086
    run_fio "daemon-r$1" "$NBD_PORT" $job
  done
  scrapes=$((scrapes + $(cat "$WORKDIR/scrapes-$1.txt" 2>/dev/null || echo 0)))
  stop_server
  VIEWER_PID=
}

serve_side() { # round
  DS=$WORKDIR/ds-nbd-$1
  quiet "$VSTORE" datastore init -D "$DS"
  quiet "$VSTORE" volume create -D "$DS" bench "$SIZE"
  port=$(free_port)
  SERVER_LOG=$WORKDIR/nbd-serve-$1.log
  VSTORE_JAVA_OPTS="${VSTORE_JAVA_OPTS:-} -Xlog:safepoint:file=$SERVER_LOG.safepoints" \
    "$VSTORE" nbd serve -D "$DS" --port "$port" disk=bench >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" "$SERVER_LOG"
  prefill "$port"
  settle "serve-r$1"
  for job in "${JOBS[@]}"; do
    # shellcheck disable=SC2086
    run_fio "serve-r$1" "$port" $job
  done
  stop_server
}

echo "$RUNTIME" >"$WORKDIR/runtime"
VIEWER_PID=
scrapes=0
if [[ $WARMUP == 1 ]]; then
  echo "(d) warm-up round (not counted): both sides, 5 s jobs"
  full_runtime=$RUNTIME
  RUNTIME=5
  daemon_side 0
  serve_side 0
  RUNTIME=$full_runtime
  rm -rf "$WORKDIR"/ds-*-0
  scrapes=0
fi
for round in $(seq 1 "$ROUNDS"); do
  # Alternating which side goes first: a machine whose speed drifts within a round favours neither.
  if ((round % 2)); then
    daemon_side "$round"
    serve_side "$round"
  else
    serve_side "$round"
    daemon_side "$round"
  fi
  rm -rf "$WORKDIR"/ds-*-"$round"
done

python3 - "$WORKDIR" "$scrapes" "$viewer" "$ROUNDS" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d, scrapes, viewer, rounds, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
print(f"(d) fio 4 KiB, iodepth 32, fresh volume each side, {rounds} rounds, the first side alternating; daemon side with"
      f" /metrics scraped {scrapes} times and {viewer}")
idle = {}
for side in ["daemon", "serve"]:
    ms = []
    for r in range(1, rounds + 1):
        ticks, secs = open(f"{d}/{side}-r{r}-idle.cpu").read().split()
        ms.append(int(ticks) * 1000 / hz / max(int(secs), 1))
    idle[side] = ms
each = ", ".join(f"{a:.0f} vs {b:.0f}" for a, b in zip(idle["daemon"], idle["serve"]))
print(f"    idle server CPU before fio (ms per second), daemon vs nbd serve, per round: {each}")
def viewer_ms(name, secs):
    return [int(open(f"{d}/daemon-r{r}-{name}.viewer").read()) * 1000 / hz / max(secs, 1) for r in range(1, rounds + 1)]
runtime = int(open(f"{d}/runtime").read())
idle_secs = int(open(f"{d}/daemon-r1-idle.cpu").read().split()[1])
parts = [f"idle {', '.join(f'{v:.0f}' for v in viewer_ms('idle', idle_secs))}"]
for name in ["randwrite-4k", "randread-4k"]:
    parts.append(f"{name} {', '.join(f'{v:.0f}' for v in viewer_ms(name, runtime))}")
print(f"    the viewer's CPU (all its processes; daemon side only; ms per second), per round: {'; '.join(parts)}")
for name in ["randwrite-4k", "randread-4k"]:
    iops = {"daemon": [], "serve": []}
    cpu = {"daemon": [], "serve": []}  # server CPU ms per 1,000 operations
    total = {"daemon": [], "serve": []}
    net = {"daemon": [], "serve": []}
    nojit = {"daemon": [], "serve": []}  # the same without the JIT compiler threads' CPU
    for r in range(1, rounds + 1):
        for side in iops:
            j = json.load(open(f"{d}/{side}-r{r}-{name}.json"))["jobs"][0]
            done = j["write"] if "write" in name else j["read"]
            iops[side].append(done["iops"])
            total[side].append(max(done["total_ios"], 1))
            ticks, jit = (int(x) for x in open(f"{d}/{side}-r{r}-{name}.cpu").read().split())
            cpu[side].append(ticks * 1000 / hz / max(done["total_ios"], 1) * 1000)
            nojit[side].append(max(ticks - max(jit, 0), 0) * 1000 / hz / max(done["total_ios"], 1) * 1000)
    ratio = sum(iops["daemon"]) / sum(iops["serve"])
    each = ", ".join(f"{a:.0f} vs {b:.0f}" for a, b in zip(iops["daemon"], iops["serve"]))
    print(f"    {name}: daemon export vs vstore nbd serve, per round: {each} IOPS;"
          f" ratio of the sums {ratio:.2f}x (floor >= 0.95x: {'met' if ratio >= 0.95 else 'NOT met'})")
    each = ", ".join(f"{a:.0f} vs {b:.0f}" for a, b in zip(cpu["daemon"], cpu["serve"]))
    print(f"        server CPU per 1,000 operations, daemon vs nbd serve, per round: {each} ms;"
          f" ratio of the sums {sum(cpu['daemon']) / sum(cpu['serve']):.2f}x")
    each = ", ".join(f"{a:.0f} vs {b:.0f}" for a, b in zip(nojit["daemon"], nojit["serve"]))
    print(f"        the same less the JIT compiler threads' CPU: {each} ms; ratio of the sums"
          f" {sum(nojit['daemon']) / sum(nojit['serve']):.2f}x")
    # The same less each side's idle CPU rate over fio's window: what the operations cost beyond the
    # work a server does anyway (scrapes, dashboard, JIT). That work is fixed per second, so its share
    # per operation grows as a loaded machine lowers the IOPS; both figures are printed.
    for side in net:
        net[side] = [c - i * runtime / ops * 1000 for c, i, ops in zip(cpu[side], idle[side], total[side])]
    each = ", ".join(f"{a:.0f} vs {b:.0f}" for a, b in zip(net["daemon"], net["serve"]))
    print(f"        the same less each side's idle CPU rate: {each} ms; ratio of the sums"
          f" {sum(net['daemon']) / sum(net['serve']):.2f}x")
    sp = {"daemon": [], "serve": []}
    for r in range(1, rounds + 1):
        for side in sp:
            n0, ns0, n1, ns1 = (float(x) for x in open(f"{d}/{side}-r{r}-{name}.safepoints").read().split())
            n0, n1 = int(n0), int(n1)
            sp[side].append(f"{n1 - n0} ({(ns1 - ns0) / 1e6:.1f} ms)")
    each_sp = ", ".join(f"{a} vs {b}" for a, b in zip(sp["daemon"], sp["serve"]))
    print(f"        safepoints in fio's window (their total pause), daemon vs nbd serve, per round: {each_sp}")
PY
