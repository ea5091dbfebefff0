#!/usr/bin/env bash
# ceph-rgw-stop.sh DIR [--purge]
#
# Stops what ceph-rgw-start.sh DIR started, by the PIDs in DIR/run only (never by name), and only
# processes that still are ceph daemons (a PID may have been reused). Without --purge: SIGTERM to
# radosgw, then the OSD, then the monitor (radosgw hangs if the OSD goes first), SIGKILL after 15 s.
# With --purge the data is thrown away anyway: SIGKILL all at once, then delete DIR.
set -uo pipefail
DIR=${1:?usage: ceph-rgw-stop.sh DIR [--purge]}
PURGE=${2:-}

signal_and_wait() {
  local sig=$1 f pid pids=() alive=(); shift
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    pid=$(cat "$f"); rm -f "$f"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || continue
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
      */radosgw|*/ceph-osd|*/ceph-mon) ;;
      *) continue ;;
    esac
    kill "-$sig" "$pid" && pids+=("$pid")
  done
  for _ in $(seq 1 75); do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [[ ${#alive[@]} == 0 ]] && return 0
    sleep 0.2
  done
  for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null; done
}

shopt -s nullglob
if [[ "$PURGE" == --purge ]]; then
  signal_and_wait KILL "$DIR"/run/*.pid
  rm -rf "$DIR"
else
  signal_and_wait TERM "$DIR"/run/client.rgw.*.pid
  signal_and_wait TERM "$DIR"/run/osd.*.pid
  signal_and_wait TERM "$DIR"/run/mon.*.pid
fi
exit 0
