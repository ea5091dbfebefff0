#!/usr/bin/env bash
# Start-up cost of a short command: wall time of `vstore volume list` on a datastore of 100
# volumes, without a daemon and with one (`vstore serve`), against `qemu-img info` on one image,
# in the same run. Floors (issue 12): median <= 600 ms without a daemon, <= 250 ms with one.
# The three commands run in turn, round after round, so that a change in the machine's load
# touches all three alike; the CPU time (user + system) of each is printed too, since it varies
# less with the load than the wall time.
#
#   bench/scripts/cli-startup.sh [RUNS] [WORKDIR]      (defaults: 20 runs, a temporary directory)
#
# Builds vstore first through the launcher (which also builds the AOT cache at package time).
# VSTORE_BENCH_DAEMON=0 or 1 measures only that case.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${1:-20}"
keep="${2:-}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
vstore="$here/vstore"
ds="$work/ds"
daemon_pid=""
stop_daemon() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  daemon_pid=""
}
cleanup() {
  stop_daemon
  if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

"$vstore" --version >/dev/null # builds on first use, outside the timings
if [ ! -d "$ds" ]; then
  "$vstore" datastore init -D "$ds" >/dev/null
  "$vstore" volume create -D "$ds" base 1G >/dev/null
  "$vstore" snapshot create -D "$ds" base@gold >/dev/null
  "$vstore" clone create -D "$ds" base@gold vm --count 99 >/dev/null # 100 volumes in all
fi
img="$work/disk.qcow2"
[ -f "$img" ] || qemu-img create -q -f qcow2 "$img" 1G

start_daemon() {
  # Port 0 for NBD: the benchmark must not collide with a daemon already on the default port.
  "$vstore" serve -D "$ds" --nbd-listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 300); do [ -S "$ds/vstore.sock" ] && return 0; sleep 0.1; done
  echo "cli-startup: the daemon did not start; see $work/serve.log" >&2
  exit 1
}

# Appends "WALL_MS CPU_MS" of one run of the command to the file $1.
time_once() {
  local file="$1" t0 t1 cpu
  shift
  t0=$(date +%s%N)
  /usr/bin/time -f "%U %S" -o "$work/.cpu" "$@" >/dev/null 2>"$work/.err" || {
    echo "cli-startup: '$*' failed:" >&2; cat "$work/.err" >&2; exit 1; }
  t1=$(date +%s%N)
  cpu=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$work/.cpu")
  echo "$(( (t1 - t0) / 1000000 )) $cpu" >>"$file"
}

# Prints the median of column $2 of the file $1.
median() {
  cut -d' ' -f"$2" "$1" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)) }'
}

cases="${VSTORE_BENCH_DAEMON:-both}"
rm -f "$work"/t.*
count=$("$vstore" volume list -D "$ds" --json | grep -c '"name"')
# Without a daemon first, then with one: starting and stopping the daemon between rounds would
# disturb the other measurements more than the order does.
if [ "$cases" != 1 ]; then
  for _ in $(seq 1 "$runs"); do
    time_once "$work/t.local" "$vstore" volume list -D "$ds"
    time_once "$work/t.qemu-local" qemu-img info "$img"
  done
fi
if [ "$cases" != 0 ]; then
  start_daemon
  "$vstore" volume list -D "$ds" >/dev/null # the daemon's first command loads its classes
  for _ in $(seq 1 "$runs"); do
    time_once "$work/t.daemon" "$vstore" volume list -D "$ds"
    time_once "$work/t.qemu-daemon" qemu-img info "$img"
  done
  stop_daemon
fi

report() {
  local label="$1" file="$2" qemu="$3" floor="$4"
  [ -f "$file" ] || return 0
  local wall cpu
  wall=$(median "$file" 1)
  cpu=$(median "$file" 2)
  printf '%-44s median %5d ms wall, %5d ms CPU (%d runs); qemu-img info: %d ms wall; floor %d ms: %s\n' \
    "vstore volume list ($count volumes), $label:" "$wall" "$cpu" "$runs" "$(median "$qemu" 1)" "$floor" \
    "$([ "$wall" -le "$floor" ] && echo met || echo NOT met)"
}
report "no daemon" "$work/t.local" "$work/t.qemu-local" 600
report "daemon" "$work/t.daemon" "$work/t.qemu-daemon" 250
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
