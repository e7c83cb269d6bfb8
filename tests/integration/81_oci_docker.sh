#!/bin/sh
# OCI runtime mode under a private dockerd (Debian's docker.io 20.10): its own
# data-root, exec-root, socket and pidfile, no iptables, no bridge, in a mount
# namespace of its own (its /etc/docker is a folder of the test), with
# `--add-runtime minirun=$MINIRUN`: docker run --runtime minirun with -it,
# exec, top, stats, pause, update --memory, stop, kill, rm. dockerd, its
# containerd and the shims are stopped and the cgroups removed on exit.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
"$MINIRUN" version | grep -q -- '+oci' || skip "built without MINIRUN_WITH_OCI"
command -v dockerd >/dev/null && command -v docker >/dev/null ||
	skip "dockerd missing (apt-get install docker.io)"
command -v containerd >/dev/null || skip "containerd missing"
command -v script >/dev/null || skip "script (util-linux) missing: needed for a tty"
fixtures

DK=$T/docker
mkdir -p "$DK/etc"
dk_stop() {
	if [ -S "$DK/sock" ]; then
		for c in $(docker -H "unix://$DK/sock" ps -aq 2>/dev/null); do
			docker -H "unix://$DK/sock" rm -f "$c" >/dev/null 2>&1
		done
	fi
	[ -f "$DK/pid" ] && kill "$(cat "$DK/pid")" 2>/dev/null
	for _ in $(seq 100); do [ -f "$DK/pid" ] && kill -0 "$(cat "$DK/pid")" 2>/dev/null || break; sleep 0.1; done
	for p in /proc/[0-9]*; do
		case $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") in
		*"$DK"*) kill -KILL "${p#/proc/}" 2>/dev/null ;;
		esac
	done
	sleep 0.2
	for id in $(cat "$T/cids" 2>/dev/null); do
		rmdir /sys/fs/cgroup/*/docker/"$id" /sys/fs/cgroup/docker/"$id" 2>/dev/null
	done
	# the parent "docker" folders, when this test made them
	[ "$DOCKER_CG_BEFORE" = 0 ] && rmdir /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker 2>/dev/null
	return 0
}
DOCKER_CG_BEFORE=$(ls -d /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker 2>/dev/null | wc -l)
EXTRA_CLEANUP=dk_stop

# /etc/docker (dockerd writes its key.json there) is the test's own folder,
# in a mount namespace that only dockerd and its children share.
unshare -m --propagation private sh -c '
	[ -d /etc/docker ] && mount --bind "$1/etc" /etc/docker
	exec dockerd --data-root "$1/data" --exec-root "$1/exec" -H "unix://$1/sock" \
		--pidfile "$1/pid" --iptables=false --ip6tables=false --bridge=none \
		--add-runtime "minirun=$2"' sh "$DK" "$MINIRUN" >"$DK/log" 2>&1 &
for _ in $(seq 200); do docker -H "unix://$DK/sock" version >/dev/null 2>&1 && break; sleep 0.1; done
D="docker -H unix://$DK/sock"
$D version >/dev/null 2>&1 || { tail -20 "$DK/log"; bad "dockerd started"; finish; }
R="--runtime minirun --network none"

check "docker info lists the minirun runtime" sh -c "$D info 2>/dev/null | grep -q 'Runtimes:.*minirun'"
check "docker load" $D load -i "$FIX/busybox-docker.tar"
check "run --rm: output" sh -c "$D run --rm $R busybox echo hello-oci | grep -qx hello-oci"
$D run --rm $R busybox sh -c 'exit 5' >/dev/null 2>&1
rc=$?
check "run --rm: the exit code (5) comes through: $rc" [ "$rc" = 5 ]
check "run -it: a tty" sh -c "script -qec \"$D run --rm -it $R busybox sh -c tty\" /dev/null | grep -q /dev/pts/"
check "run -d" sh -c "$D run -d --name w1 $R busybox sleep 1000 >>'$T/cids'"
check "the container runs under minirun" sh -c "$D inspect -f '{{.HostConfig.Runtime}} {{.State.Running}}' w1 | grep -qx 'minirun true'"
check "exec: output" sh -c "$D exec w1 sh -c 'echo exec-ok' | grep -qx exec-ok"
$D exec w1 sh -c 'exit 3' >/dev/null 2>&1
rc=$?
check "exec: exit code (3): $rc" [ "$rc" = 3 ]
check "exec -it: a tty" sh -c "script -qec \"$D exec -it w1 sh -c tty\" /dev/null | grep -q /dev/pts/"
check "Docker's seccomp profile is enforced (Seccomp: 2)" sh -c "$D exec w1 grep -E '^Seccomp:' /proc/self/status | grep -q 2"
check "seccomp refuses unshare without CAP_SYS_ADMIN (EPERM)" sh -c "$D exec w1 busybox unshare -u true 2>&1 | grep -q 'not permitted'"
check "--security-opt seccomp=unconfined: no filter" sh -c "$D run --rm $R --security-opt seccomp=unconfined busybox grep -E '^Seccomp:' /proc/self/status | grep -q 0"
check "Docker's profile with --cap-add SYS_ADMIN (dockerd resolves its includes.caps) lets unshare through" $D run --rm $R --cap-add SYS_ADMIN busybox busybox unshare -u true
printf '%s' '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' >"$T/dk-profile.json"
check "--security-opt seccomp=FILE (dockerd puts it in config.json): mkdir gets its errno (EACCES)" sh -c "$D run --rm $R --security-opt seccomp='$T/dk-profile.json' busybox mkdir /tmp/d 2>&1 | grep -q 'Permission denied'"
check "... with no-new-privileges too (installed last, as runc)" sh -c "$D run --rm $R --security-opt no-new-privileges --security-opt seccomp='$T/dk-profile.json' busybox sh -c 'touch /tmp/f && mkdir /tmp/d' 2>&1 | grep -q 'Permission denied'"
check "top: the init" sh -c "$D top w1 | grep -q 'sleep 1000'"
check "stats: one row" sh -c "$D stats --no-stream w1 | grep -qE '^[0-9a-f]+ +w1 '"
check "pause" $D pause w1
check "ps shows Paused" sh -c "$D ps --filter name=w1 | grep -q Paused"
check "unpause" $D unpause w1
check "update --memory 64m" $D update --memory 64m --memory-swap 128m w1
check "the limit is in the container's cgroup" sh -c "$D exec w1 cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null | grep -qx 67108864"
check "stop" $D stop -t 1 w1
check "stopped: Running false" sh -c "$D inspect -f '{{.State.Running}}' w1 | grep -qx false"
check "start again" $D start w1
check "kill" $D kill w1
check "killed: exit code 137" sh -c "$D inspect -f '{{.State.ExitCode}}' w1 | grep -qx 137"
check "rm" $D rm w1
check "no container left" sh -c "[ -z \"\$($D ps -aq)\" ]"
finish
