#!/usr/bin/env bash
# Start-up cost of a short command: wall time of `vstore volume list` on a datastore of 100
# volumes against `qemu-img info` on one image, in the same run. Floors (issue 12): median
# <= 600 ms without a daemon, <= 250 ms with one (VSTORE_BENCH_DAEMON=1 starts `vstore serve`).
#
#   bench/scripts/cli-startup.sh [RUNS] [WORKDIR]      (defaults: 20 runs, a temporary directory)
#
# Builds vstore first through the launcher (which also builds the AOT cache at package time).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${1:-20}"
keep="${2:-}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
vstore="$here/vstore"
ds="$work/ds"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
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

if [ "${VSTORE_BENCH_DAEMON:-0}" = 1 ]; then
  "$vstore" serve -D "$ds" >"$work/serve.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 100); do [ -S "$ds/vstore.sock" ] && break; sleep 0.1; done
  [ -S "$ds/vstore.sock" ] || { echo "cli-startup: the daemon did not start; see $work/serve.log" >&2; exit 1; }
fi

# Prints the median wall time in ms of RUNS runs of the command.
median_ms() {
  local times=()
  for _ in $(seq 1 "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)) }'
}

count=$("$vstore" volume list -D "$ds" --json | grep -c '"name"')
list=$(median_ms "$vstore" volume list -D "$ds")
qemu=$(median_ms qemu-img info "$img")
floor=600
[ -n "$daemon_pid" ] && floor=250
echo "vstore volume list ($count volumes, daemon: $([ -n "$daemon_pid" ] && echo yes || echo no)): median ${list} ms of $runs runs"
echo "qemu-img info (reference):                      median ${qemu} ms of $runs runs"
if [ "$list" -le "$floor" ]; then echo "floor ${floor} ms: met"; else echo "floor ${floor} ms: NOT met"; fi
