#!/usr/bin/env bash
# ceph-rgw-start.sh DIR
#
# Starts a throw-away single-node Ceph cluster (one monitor, one OSD, no manager, no cephx) and a
# RADOS Gateway (S3 API) bound to 127.0.0.1, all under DIR, from Debian's ceph-mon, ceph-osd and
# radosgw packages. The tests start it through CephRgw (a JUnit extension); ceph-rgw-stop.sh DIR
# stops it by the PIDs recorded in DIR/run. Adopted from the team's shared tooling, whose measured
# pitfalls are kept as comments here.
#
# Environment: RGW_PORT (default 7480), MON_PORT (default 3300), OSD_SIZE_GB (default 4),
# S3_ACCESS_KEY / S3_SECRET_KEY (test user's keys). On success DIR/s3.env holds S3_ENDPOINT and the
# keys. The OSD is a memstore: objects live in its RAM (about twice the stored bytes), which is
# what a test wants: no disk, fastest start (~3 s).
set -euo pipefail

DIR=${1:?usage: ceph-rgw-start.sh DIR}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-3300}
OSD_SIZE_GB=${OSD_SIZE_GB:-4}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-vstoretestaccess}
S3_SECRET_KEY=${S3_SECRET_KEY:-vstoretestsecret}

t0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - t0) / 1000000 )); printf '[ceph-rgw %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"; }
# On failure: show the logs' last lines and SIGKILL what this script started (by recorded PID only).
die() {
  trap - ERR
  echo "ceph-rgw-start: $*" >&2
  if [[ "${STARTED:-0}" == 1 ]]; then
    tail -n 15 "$DIR"/log/*.log "$DIR"/log/*.out >&2 2>/dev/null || true
    local f
    for f in "$DIR"/run/*.pid; do
      [[ -f "$f" ]] && kill -KILL "$(cat "$f")" 2>/dev/null
      rm -f "$f"
    done
  fi
  exit 1
}
trap 'die "command failed at line $LINENO"' ERR

# spawn NAME CMD...: a daemon in the foreground (-f) as a background job, its PID recorded at once.
spawn() {
  local name=$1; shift
  "$@" -f </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo $! >"$DIR/run/$name.pid"
}
alive() { kill -0 "$(cat "$DIR/run/$1.pid" 2>/dev/null)" 2>/dev/null; }

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install ceph-mon ceph-osd radosgw curl)"
done
[[ -n "$DIR" && "$DIR" != / ]] || die "bad DIR '$DIR'"
if [[ -d "$DIR" && -n "$(ls -A "$DIR")" ]]; then die "$DIR is not empty"; fi
for port in "$RGW_PORT" "$MON_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "127.0.0.1:$port is already in use"; fi
done
mkdir -p "$DIR"/{mon,osd,rgw,run,log}
DIR=$(cd "$DIR" && pwd)
STARTED=1
CONF="$DIR/ceph.conf"
FSID=$(cat /proc/sys/kernel/random/uuid)
CEPH=(ceph -c "$CONF" --connect-timeout 20)

# auth none needs 'ms mon client mode = crc', or radosgw refuses to start (it insists on 'secure').
# Size-1 pools with few PGs so that RGW's ~8 pools fit on one OSD. Everything binds to 127.0.0.1.
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon warn on insecure global id reclaim allowed = false

[mon]
# every pool and bucket creation waits for one map proposal: 0.1 s instead of 1 s
paxos propose interval = 0.1
paxos min wait = 0.01
mon data = $DIR/mon/\$name
mon cluster log file = $DIR/log/cluster.log

[osd]
osd data = $DIR/osd/\$name
osd objectstore = memstore
memstore device bytes = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
osd memory target = 1073741824
osd op num shards = 2
osd op num threads per shard = 2

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw thread pool size = 64
rgw enable usage log = false
# tails of deleted objects (> 4 MiB) are collected after 60 s, not 2 h: memstore holds them in RAM
rgw gc obj min wait = 60
rgw gc processor period = 60
CONF

log "monitor"
# mkfs wants a mon keyring even with auth none
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
spawn mon.a ceph-mon -c "$CONF" -i a
"${CEPH[@]}" -s >/dev/null || die "the monitor does not answer"

log "OSD"
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$("${CEPH[@]}" osd new "$OSD_UUID")
mkdir -p "$DIR/osd/osd.$OSD_ID"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/osd-mkfs.out" 2>&1 \
  || die "ceph-osd --mkfs failed (see $DIR/log/osd-mkfs.out)"
spawn "osd.$OSD_ID" ceph-osd -c "$CONF" -i "$OSD_ID"
up=0
for _ in $(seq 1 120); do
  if "${CEPH[@]}" osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1,'; then up=1; break; fi
  alive "osd.$OSD_ID" || die "ceph-osd exited"
  sleep 0.5
done
[[ "$up" == 1 ]] || die "the OSD did not come up in 60 s"

log "radosgw on 127.0.0.1:$RGW_PORT"
spawn client.rgw.a radosgw -c "$CONF" -n client.rgw.a
code=000
for _ in $(seq 1 240); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RGW_PORT/" || true)
  [[ "$code" == 200 ]] && break
  alive client.rgw.a || die "radosgw exited"
  sleep 0.25
done
[[ "$code" == 200 ]] || die "radosgw does not answer on 127.0.0.1:$RGW_PORT"

radosgw-admin -c "$CONF" user create --uid tester --display-name tester \
  --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" >"$DIR/user.json" 2>>"$DIR/log/radosgw-admin.out" \
  || die "radosgw-admin user create failed"
cat >"$DIR/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
AWS_REGION=us-east-1
ENV
log "ready: http://127.0.0.1:$RGW_PORT"
