#!/usr/bin/env bash
# End-to-end backup benchmark of issue 14: vstore against borg (--compression lz4) and restic on the
# same bytes, in the same run and on the same file system. Every timing ends with a sync.
#
#   1. the test image (1 MiB regions cycling hole / zeros / random / text), imported as a volume;
#   2. full backup: vstore backup create vs borg create vs restic backup (times, repository sizes);
#   3. 5% of the image rewritten in random 64 KiB regions (seeded), the same bytes into the volume
#      (over NBD, so changed-block tracking sees exactly those writes) and into the raw file;
#   4. incremental: vstore backup create vs borg create vs restic backup (times, repository growth);
#   5. restore of the full point: vstore restore --to-file (raw) vs restic restore.
# Prints the figures and the ratios against the issue's floors. All three repositories are encrypted
# with the same passphrase (restic always encrypts; borg with repokey-blake2).
#
# vstore runs as its users run it: every command through the ./vstore launcher (its JVM options and
# AOT cache), and the datastore owned by a daemon (`vstore serve`), as it is while VMs run on it. The
# backups are jobs of that daemon (the command forwards them over the datastore's socket and waits),
# the rewrite goes through the daemon's NBD export, and the restore to a file is a job of that
# daemon too (with a daemon running, a restore goes to it, as every command on its datastore does).
# The daemon starts before the full backup, so the full backup pays its first-use costs (JIT, the
# repository key's derivation) and the incremental and the restore do not, as with a daemon that has
# been running.
#
# Usage: SIZE=4G bench/scripts/backup-bench.sh [WORKDIR]   (defaults: SIZE=4G, WORKDIR=bench/work/backup)
# Needs: python3, qemu-io, borg, restic; the launcher builds vstore first when the sources changed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORKDIR="${1:-$ROOT/bench/work/backup}"
SIZE="${SIZE:-4G}"
for tool in python3 qemu-io borg restic; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 1; }
done
mib=$(python3 -c "import sys; s=sys.argv[1].upper(); m={'M':1,'G':1024,'T':1024*1024}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s)//(1<<20))" "$SIZE")
source "$ROOT/bench/scripts/nbd-lib.sh" # free_port, wait_port, stop_server (trap EXIT)
vstore() { "$ROOT/vstore" "$@"; }
vstore --version >/dev/null # builds first when the sources are newer than the last build

mkdir -p "$WORKDIR"
image="$WORKDIR/test-$mib.raw"
if [ ! -f "$image" ]; then
  echo "making $image ($mib MiB) ..." >&2
  python3 "$ROOT/bench/scripts/make-test-image.py" "$image" "$mib"
fi
rm -rf "$WORKDIR/ds" "$WORKDIR/vrepo" "$WORKDIR/borg" "$WORKDIR/restic" "$WORKDIR/restore" "$WORKDIR/patch" \
  "$WORKDIR/vstore-restore.raw"
raw="$WORKDIR/disk.raw" # the raw file borg and restic back up: a copy that receives the same rewrite
cp --sparse=always "$image" "$raw"
pass="$WORKDIR/passphrase"
printf 'benchmark passphrase\n' >"$pass"
export BORG_PASSPHRASE="benchmark passphrase" RESTIC_PASSWORD="benchmark passphrase"
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

vstore datastore init -D "$WORKDIR/ds" >/dev/null
vstore volume import -D "$WORKDIR/ds" "$image" disk >/dev/null
vstore backup init "$WORKDIR/vrepo" --passphrase-file "$pass" >/dev/null
port=$(free_port)
"$ROOT/vstore" serve -D "$WORKDIR/ds" --nbd-listen "127.0.0.1:$port" >"$WORKDIR/serve.log" 2>&1 & # not the function: $! must be the launcher, which execs java
SERVER_PID=$!
wait_port "$port" "$WORKDIR/serve.log"
for _ in $(seq 100); do [ -S "$WORKDIR/ds/vstore.sock" ] && break; sleep 0.1; done
borg init --encryption=repokey-blake2 "$WORKDIR/borg" >/dev/null 2>&1
restic init -q --repo "$WORKDIR/restic" >/dev/null
sync

now() { date +%s.%N; }
size_of() { du -sb "$1" | cut -f1; }
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; sync; t1=$(now); python3 -c "print($t1 - $t0)"; }
# CPU seconds (user + system) the daemon has used so far: its share of a job, robust to the machine's load.
daemon_cpu() { python3 -c "import os,sys; f=open('/proc/%s/stat' % sys.argv[1]).read().rsplit(')',1)[1].split(); print((int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK'))" "$SERVER_PID"; }

echo "full backups ..." >&2
c0=$(daemon_cpu)
t_vfull=$(timed vstore backup create -D "$WORKDIR/ds" disk --repo "$WORKDIR/vrepo" --passphrase-file "$pass" --tag full --no-progress)
c_vfull=$(python3 -c "print($(daemon_cpu) - $c0)")
s_vfull=$(size_of "$WORKDIR/vrepo")
t_bfull=$(cd "$WORKDIR" && timed borg create --compression lz4 "$WORKDIR/borg::full" disk.raw)
s_bfull=$(size_of "$WORKDIR/borg")
t_rfull=$(cd "$WORKDIR" && timed restic backup -q --repo "$WORKDIR/restic" disk.raw)
s_rfull=$(size_of "$WORKDIR/restic")
full_point=$(vstore backup list --repo "$WORKDIR/vrepo" --passphrase-file "$pass" --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')

echo "rewriting 5% in random 64 KiB regions ..." >&2
mkdir -p "$WORKDIR/patch"
python3 - "$raw" "$WORKDIR/patch" "$mib" <<'PY'
import os, random, sys
raw, patch, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(20261206)
region = 64 << 10
slots = mib * 16
chosen = sorted(rng.sample(range(slots), max(1, slots // 20)))
with open(raw, "r+b") as f, open(os.path.join(patch, "commands"), "w") as cmds:
    for i, slot in enumerate(chosen):
        data = rng.randbytes(region)
        f.seek(slot * region)
        f.write(data)
        name = os.path.join(patch, "r%06d" % i)
        with open(name, "wb") as p:
            p.write(data)
        cmds.write("write -q -s %s %d %d\n" % (name, slot * region, region))
    cmds.write("flush\n")
print(len(chosen), file=sys.stderr)
PY
vstore export add -D "$WORKDIR/ds" disk >/dev/null # the daemon's NBD export: a VM writing to its disk
qemu-io -f raw "nbd://127.0.0.1:$port/disk" <"$WORKDIR/patch/commands" >/dev/null
rm -rf "$WORKDIR/patch"
sync

echo "incremental backups ..." >&2
c0=$(daemon_cpu)
t_vinc=$(timed vstore backup create -D "$WORKDIR/ds" disk --repo "$WORKDIR/vrepo" --passphrase-file "$pass" --tag inc --no-progress)
c_vinc=$(python3 -c "print($(daemon_cpu) - $c0)")
g_v=$(( $(size_of "$WORKDIR/vrepo") - s_vfull ))
t_binc=$(cd "$WORKDIR" && timed borg create --compression lz4 "$WORKDIR/borg::inc" disk.raw)
g_b=$(( $(size_of "$WORKDIR/borg") - s_bfull ))
t_rinc=$(cd "$WORKDIR" && timed restic backup -q --repo "$WORKDIR/restic" disk.raw)
g_r=$(( $(size_of "$WORKDIR/restic") - s_rfull ))

echo "restores of the full point ..." >&2
sync; echo 3 | sudo -n tee /proc/sys/vm/drop_caches >/dev/null 2>&1 || true
c0=$(daemon_cpu)
t_vres=$(timed vstore restore "$full_point" -D "$WORKDIR/ds" --repo "$WORKDIR/vrepo" --passphrase-file "$pass" \
  --to-file "$WORKDIR/vstore-restore.raw" -O raw --no-progress)
c_vres=$(python3 -c "print($(daemon_cpu) - $c0)")
stop_server
r_first=$(restic snapshots --repo "$WORKDIR/restic" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["short_id"])')
sync; echo 3 | sudo -n tee /proc/sys/vm/drop_caches >/dev/null 2>&1 || true
t_rres=$(timed restic restore -q --repo "$WORKDIR/restic" "$r_first" --target "$WORKDIR/restore")
cmp "$image" "$WORKDIR/vstore-restore.raw" || { echo "vstore restore differs from the image" >&2; exit 1; }

python3 - "$image" "$mib" "$t_vfull" "$t_bfull" "$t_rfull" "$s_vfull" "$s_bfull" "$s_rfull" \
  "$t_vinc" "$t_binc" "$t_rinc" "$g_v" "$g_b" "$g_r" "$t_vres" "$t_rres" "$c_vfull" "$c_vinc" "$c_vres" <<'PY'
import sys
image, mib = sys.argv[1], int(sys.argv[2])
tvf, tbf, trf, svf, sbf, srf, tvi, tbi, tri, gv, gb, gr, tvr, trr, cvf, cvi, cvr = map(float, sys.argv[3:])
M = 1 << 20
def line(name, t, s, what="repo"):
    print(f"  {name:<22} {t:8.2f} s   {what} {s / M:10.1f} MiB")
def ratio(label, value, floor, higher=True):
    ok = value >= floor if higher else value <= floor
    print(f"  {label:<52} {value:7.2f}  (floor {'>=' if higher else '<='} {floor}) {'ok' if ok else 'BELOW FLOOR'}")
print(f"image: {image} ({mib} MiB)")
print("full backup:")
line("vstore backup create", tvf, svf); line("borg create (lz4)", tbf, sbf); line("restic backup", trf, srf)
print("incremental after rewriting 5% in 64 KiB regions:")
line("vstore backup create", tvi, gv, "growth"); line("borg create (lz4)", tbi, gb, "growth")
line("restic backup", tri, gr, "growth")
print("restore of the full point:")
line("vstore restore", tvr, 0, "-"); line("restic restore", trr, 0, "-")
print(f"daemon CPU (user + system) of vstore's jobs: full {cvf:.2f} s, incremental {cvi:.2f} s, restore {cvr:.2f} s")
print("ratios:")
ratio("full backup speed, vstore / borg", tbf / tvf, 1.5)
ratio("repository size, vstore / borg", svf / sbf, 1.0, higher=False)
ratio("incremental speed, vstore / borg", tbi / tvi, 10)
ratio("repository growth, vstore / borg", gv / max(gb, 1), 0.3, higher=False)
ratio("restore speed, vstore / restic", trr / tvr, 2)
PY
