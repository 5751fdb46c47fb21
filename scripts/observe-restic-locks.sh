#!/usr/bin/env bash
# Observes which lock each restic command takes, for docs/repositories.md ("Lock classes").
#   scripts/observe-restic-locks.sh [RESTIC_BIN]      (default: restic on PATH; needs rclone)
# Repository A is served by `rclone serve restic -vv`, whose log shows every lock file
# restic writes (POST /a/locks/…). Each command runs twice: once alone (does it write a
# lock file on A?) and once while a `backup --stdin` holds a shared lock on A (does it
# fail on that lock? then its lock is exclusive). Prints one line per command.
set -u
B=${1:-restic}
W=$(mktemp -d /tmp/rf-locks.XXXX)
trap 'kill $RPID 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
mkdir -p store/a data
for i in $(seq 1 50); do head -c 20000 /dev/urandom > data/f$i; done
PORT=$((20000 + RANDOM % 20000))
rclone serve restic --addr 127.0.0.1:$PORT -vv store > rclone.log 2>&1 &
RPID=$!
sleep 1
export RESTIC_PASSWORD=observe RESTIC_CACHE_DIR=$W/cache
A=rest:http://127.0.0.1:$PORT/a/
L=$W/local-b
"$B" version
"$B" -r "$A" init >/dev/null 2>&1 || { echo "init of A failed"; exit 1; }
"$B" -r "$L" init >/dev/null 2>&1 || { echo "init of B failed"; exit 1; }
"$B" -r "$A" backup data -q >/dev/null 2>&1
echo more > data/g
"$B" -r "$A" backup data -q >/dev/null 2>&1
"$B" -r "$L" backup data -q >/dev/null 2>&1
ids=$("$B" -r "$A" snapshots --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log(a[0].id, a[a.length-1].id)})')
S1=${ids% *}
S2=${ids#* }
locks_on_a() { grep -a -c "POST /a/locks/" rclone.log; }
hold_shared_lock() {
  rm -f fifo && mkfifo fifo
  : > rclone.log
  "$B" -r "$A" backup --stdin --stdin-filename held.txt < fifo > hold.out 2>&1 &
  HPID=$!
  exec 3>fifo
  for _ in $(seq 1 100); do grep -a -q "POST /a/locks/" rclone.log && break; sleep 0.1; done
}
release() { exec 3>&-; wait $HPID 2>/dev/null; }
# name, repository for -r, extra environment, restic arguments
observe() {
  local name=$1 repo=$2 envs=$3; shift 3
  rm -rf "$W/restore" "$W/c"; : > rclone.log
  env $envs "$B" -r "$repo" "$@" > out.txt 2>&1; local rc=$?
  local n; n=$(locks_on_a)
  rm -rf "$W/restore" "$W/c"; hold_shared_lock
  env $envs "$B" -r "$repo" "$@" > out2.txt 2>&1; local rc2=$?
  local locked; locked=$(grep -a -c -i "locked" out2.txt)
  release
  printf "%-28s rc=%-3s lock files on A=%-2s rc while A is share-locked=%-3s says locked=%s\n" "$name" "$rc" "$n" "$rc2" "$locked"
}
FROM_A="RESTIC_FROM_REPOSITORY=$A RESTIC_FROM_PASSWORD=observe"
FROM_B="RESTIC_FROM_REPOSITORY=$L RESTIC_FROM_PASSWORD=observe"
observe backup "$A" "" backup data -q
observe snapshots "$A" "" snapshots -q
observe stats "$A" "" stats --json
observe stats-raw-data "$A" "" stats --mode raw-data --json
# The agent's reports after a job (docs/repositories.md, "Reports after a job"): no lock file, no failure on a lock.
observe snapshots-no-lock "$A" "" snapshots --no-lock --json
observe stats-raw-data-no-lock "$A" "" stats --no-lock --mode raw-data --json
observe check "$A" "" check
observe ls "$A" "" ls "$S2"
observe find "$A" "" find f1
observe diff "$A" "" diff "$S1" "$S2"
observe dump "$A" "" dump "$S2" /data/g
observe restore "$A" "" restore "$S2" --target "$W/restore"
observe forget "$A" "" forget --keep-last 10
observe forget-prune "$A" "" forget --keep-last 10 --prune
observe prune "$A" "" prune
observe unlock "$A" "" unlock
observe cat-config "$A" "" cat config
observe copy-A-is-source "$L" "$FROM_A" copy
observe copy-A-is-destination "$A" "$FROM_B" copy
observe init-copy-chunker-from-A "$W/c" "$FROM_A" init --copy-chunker-params
