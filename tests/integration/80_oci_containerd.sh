#!/bin/sh
# OCI runtime mode under a private containerd (Debian's 1.6): minirun is the
# `runc` first on containerd's PATH (a symlink named runc, so argv[0] selects
# runc mode), driven with ctr: image import, run --rm with exit codes, -t,
# run -d, task exec (with and without a tty), ps, metrics, pause/resume,
# kill, delete. Everything runs under $T (root, state, socket); containerd
# and its shims are stopped and the cgroups removed on exit, also on failure.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
"$MINIRUN" version | grep -q -- '+oci' || skip "built without MINIRUN_WITH_OCI"
command -v containerd >/dev/null && command -v ctr >/dev/null ||
	skip "containerd missing (apt-get install containerd)"
command -v containerd-shim-runc-v2 >/dev/null || skip "containerd-shim-runc-v2 missing"
command -v script >/dev/null || skip "script (util-linux) missing: needed for a tty"
fixtures

NS=mrtest$$
CD=$T/containerd
mkdir -p "$CD/bin"
ln -s "$MINIRUN" "$CD/bin/runc"
cat >"$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CD/sock"
[ttrpc]
  address = "$CD/sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF

cd_stop() {
	if [ -S "$CD/sock" ]; then
		for t in $(ctr -a "$CD/sock" -n "$NS" task ls -q 2>/dev/null); do
			ctr -a "$CD/sock" -n "$NS" task kill -s KILL "$t" >/dev/null 2>&1
			sleep 0.2
			ctr -a "$CD/sock" -n "$NS" task delete -f "$t" >/dev/null 2>&1
		done
		for c in $(ctr -a "$CD/sock" -n "$NS" containers ls -q 2>/dev/null); do
			ctr -a "$CD/sock" -n "$NS" containers delete "$c" >/dev/null 2>&1
		done
	fi
	[ -n "${CD_PID:-}" ] && kill "$CD_PID" 2>/dev/null && wait "$CD_PID" 2>/dev/null
	# shims of this containerd (by its state folder in their command line)
	for p in /proc/[0-9]*; do
		case $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") in
		*containerd-shim*"$CD"*) kill -KILL "${p#/proc/}" 2>/dev/null ;;
		esac
	done
	rm -rf "/run/containerd/runc/$NS"
	for d in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}
EXTRA_CLEANUP=cd_stop

PATH=$CD/bin:$PATH containerd --config "$CD/config.toml" >"$CD/log" 2>&1 &
CD_PID=$!
for _ in $(seq 100); do [ -S "$CD/sock" ] && break; sleep 0.1; done
[ -S "$CD/sock" ] || { cat "$CD/log"; bad "containerd started"; finish; }
C="ctr -a $CD/sock -n $NS"
I=docker.io/library/busybox:latest

check "ctr images import (docker-archive)" $C images import "$FIX/busybox-docker.tar"
check "run --rm: output" sh -c "$C run --rm $I r1 echo hello-oci | grep -qx hello-oci"
$C run --rm $I r2 sh -c 'exit 7' >/dev/null 2>&1
rc=$?
check "run --rm: the exit code (7) comes through: $rc" [ "$rc" = 7 ]
check "run --rm: hostname, pid 1, own namespaces" sh -c \
	"$C run --rm $I r3 sh -c 'echo \$\$; hostname' | tr -d '\r' | head -1 | grep -qx 1"
check "run -t: a tty" sh -c "script -qec \"$C run --rm -t $I r4 sh -c tty\" /dev/null | grep -q /dev/pts/"
check "run -d" $C run -d $I d1 sleep 1000
check "task ls: RUNNING" sh -c "$C task ls | grep -E '^d1 .*RUNNING'"
check "task exec: output" sh -c "$C task exec --exec-id e1 d1 sh -c 'echo exec-ok' | grep -qx exec-ok"
$C task exec --exec-id e2 d1 sh -c 'exit 4' >/dev/null 2>&1
rc=$?
check "task exec: exit code (4): $rc" [ "$rc" = 4 ]
check "task exec -t: a tty" sh -c "script -qec \"$C task exec -t --exec-id e3 d1 sh -c tty\" /dev/null | grep -q /dev/pts/"
check "task exec sees the init as pid 1" sh -c "$C task exec --exec-id e4 d1 sh -c 'cat /proc/1/cmdline' | grep -q sleep"
check "task ps: the init" sh -c "$C task ps d1 | grep -E '^[0-9]+ '"
check "task metrics: memory usage" sh -c "$C task metrics d1 | grep -E 'memory\\.(usage_in_bytes|usage)'"
check "task pause" $C task pause d1
check "task ls: PAUSED" sh -c "$C task ls | grep -E '^d1 .*PAUSED'"
check "task resume" $C task resume d1
check "task ls: RUNNING again" sh -c "$C task ls | grep -E '^d1 .*RUNNING'"
check "task kill (SIGTERM to sleep as pid 1 is ignored; KILL)" $C task kill -s KILL d1
for _ in $(seq 50); do $C task ls | grep -qE '^d1 .*STOPPED' && break; sleep 0.1; done
check "task ls: STOPPED" sh -c "$C task ls | grep -E '^d1 .*STOPPED'"
check "task delete" $C task delete d1
check "container delete" $C containers delete d1
check "runc state folder empty after delete" sh -c "[ -z \"\$(ls /run/containerd/runc/$NS 2>/dev/null)\" ]"
check "no cgroup of d1 left" sh -c "! ls -d /sys/fs/cgroup/*/$NS/d1 2>/dev/null | grep -q ."
finish
