#!/bin/sh
# Resource limits through cgroups (v2, or v1 controllers on a hybrid layout):
# --memory (an allocation past it is OOM-killed: 137 and OOMKilled),
# --memory-swap, --cpus, --pids-limit (a fork bomb is stopped), the values
# in the container's cgroup, stats, and the cgroups removed at exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
[ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || skip "no cgroup filesystem"
v2=0; [ -f /sys/fs/cgroup/cgroup.controllers ] && v2=1
cg() { # FILE-v1 CTRL FILE-v2 ID
	if [ $v2 = 1 ]; then cat "/sys/fs/cgroup/minirun/$4/$3"; else cat "/sys/fs/cgroup/$2/minirun/$4/$1"; fi
}

# Doubling a shell string past 16 MiB: the kernel's OOM killer ends it.
mr run --name oom -m 16m busybox sh -c 'a=x; while true; do a="$a$a"; done' 2>/dev/null; rc=$?
check "--memory 16m: an allocation past it ends with 137" [ "$rc" = 137 ]
check "...and inspect says OOMKilled" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}" oom)" = "true 137 16777216" ]'
mr rm oom >/dev/null
mr run --name fine -m 16m busybox true
check "a container that stays under the limit is not OOMKilled" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.OOMKilled}}" fine)" = false ]'
mr rm fine >/dev/null

# A bounded fork bomb: 40 background sleeps against --pids-limit 10.
mr run --rm --pids-limit 10 busybox sh -c 'i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo all 40 started' >"$T/pids" 2>&1; rc=$?
check "--pids-limit 10 stops a fork bomb (the shell cannot fork)" sh -c "[ $rc != 0 ] && grep -q \"can't fork\" $T/pids && ! grep -q 'all 40' $T/pids"
check "...and the container still exits (the bomb's children die with it)" sh -c '[ -z "$("$MINIRUN" ps -aq)" ]'

id=$(mr run -d --name lim -m 32m --memory-swap 64m --cpus 0.5 --pids-limit 20 busybox sleep 60)
if [ $v2 = 1 ]; then
	check "memory.max" sh -c "[ \"\$(cat /sys/fs/cgroup/minirun/$id/memory.max)\" = 33554432 ]"
	check "cpu.max for --cpus 0.5" sh -c "[ \"\$(cat /sys/fs/cgroup/minirun/$id/cpu.max)\" = '50000 100000' ]"
else
	check "v1 memory.limit_in_bytes" [ "$(cg memory.limit_in_bytes memory x $id)" = 33554432 ]
	if [ -f /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
		check "v1 memory.memsw.limit_in_bytes (--memory-swap)" [ "$(cg memory.memsw.limit_in_bytes memory x $id)" = 67108864 ]
	fi
	check "v1 cpu.cfs_quota_us for --cpus 0.5" [ "$(cg cpu.cfs_quota_us cpu x $id) $(cg cpu.cfs_period_us cpu x $id)" = "50000 100000" ]
	[ -d /sys/fs/cgroup/unified ] && check "hybrid: tracked in the unified hierarchy" grep -q . /sys/fs/cgroup/unified/minirun/$id/cgroup.procs
fi
check "pids.max" [ "$(cg pids.max pids pids.max $id)" = 20 ]
check "the init is in the cgroup" sh -c "grep -qx \"\$(\"\$MINIRUN\" inspect -f '{{.State.Pid}}' lim)\" /sys/fs/cgroup/$( [ $v2 = 1 ] && echo '' || echo pids/)minirun/$id/cgroup.procs"
check "stats shows the memory limit" sh -c '"$MINIRUN" stats --no-stream lim | grep -q " / 32MiB "'
check "inspect: Memory, MemorySwap, NanoCpus, PidsLimit" sh -c '[ "$("$MINIRUN" inspect -f "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}" lim)" = "33554432 67108864 500000000 20" ]'
mr rm -f lim >/dev/null
check "rm removes the container's cgroups" sh -c "! ls -d /sys/fs/cgroup/*/minirun/$id /sys/fs/cgroup/minirun/$id 2>/dev/null | grep -q ."

mr run --rm -m 1m busybox true >"$T/e" 2>&1; rc=$?
check "a memory limit under 6MB is refused (125)" sh -c "[ $rc = 125 ] && grep -q 'Minimum memory limit' $T/e"
mr run --rm --cpus 1000 busybox true >"$T/e" 2>&1; rc=$?
check "more CPUs than the machine has: 125" sh -c "[ $rc = 125 ] && grep -q 'Range of CPUs' $T/e"
mr run --rm -m 64m --memory-swap 32m busybox true >"$T/e" 2>&1; rc=$?
check "memory-swap under memory: 125" [ "$rc" = 125 ]

# /sys/fs/cgroup inside (issue 17 item 9): the container reads its own limits, read-only
if [ $v2 = 1 ]; then
	check "inside: memory.max and pids.max show the limits" sh -c '[ "$("$MINIRUN" run --rm -m 64m --pids-limit 50 busybox cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max | tr "\n" " ")" = "67108864 50 " ]'
else
	check "inside: memory.limit_in_bytes and pids.max show the limits" sh -c '[ "$("$MINIRUN" run --rm -m 64m --pids-limit 50 busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max | tr "\n" " ")" = "67108864 50 " ]'
	check "inside: /sys/fs/cgroup a tmpfs as Docker 20.10's (rw,nosuid,nodev,noexec), the hierarchy read-only" sh -c '"$MINIRUN" run --rm -m 64m busybox grep -E "^(tmpfs|cgroup) /sys/fs/cgroup(/memory)? " /proc/mounts | tr "\n" " " | grep -qE "^tmpfs /sys/fs/cgroup tmpfs rw,nosuid,nodev,noexec,[^ ]* 0 0 cgroup /sys/fs/cgroup/memory cgroup ro,nosuid,nodev,noexec,"'
fi
check "inside: the cgroup files are read-only" sh -c '"$MINIRUN" run --rm --pids-limit 50 busybox sh -c "echo 100 >\$(ls /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null)" 2>&1 | grep -q "Read-only file system"'
check "inside, --privileged: writable, as in Docker" sh -c '"$MINIRUN" run --rm --privileged --pids-limit 50 busybox sh -c "echo 60 >\$(ls /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null) && cat \$(ls /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null)" | grep -qx 60'

ctr_assert_clean
finish
