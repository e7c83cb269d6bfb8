#!/bin/sh
# Run flags people paste from their docker commands and compose files:
# --sysctl (namespaced only), --ulimit, --group-add, --shm-size, --ipc host,
# --uts host, --pid host, health checks (--health-*). Each is checked inside the container (run and exec), against
# the host (left unchanged), after stop/start (kept in the record), in
# inspect, and with bad values (125, nothing created).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"

host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
host_shmmax=$(cat /proc/sys/kernel/shmmax)
[ "$host_fwd" = 1 ] && want_fwd=0 || want_fwd=1
out=$(mr run --rm --sysctl net.ipv4.ip_forward=$want_fwd --sysctl kernel.shmmax=12345678 \
	--sysctl net/ipv4/conf/all/src_valid_mark=1 busybox sh -c \
	'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/net/ipv4/conf/all/src_valid_mark' | tr '\n' ' ')
echo "  sysctls inside: $out"
check "--sysctl: net and IPC parameters set inside (dots or slashes)" [ "$out" = "$want_fwd 12345678 1 " ]
check "--sysctl: the host's values unchanged" sh -c "[ \"\$(cat /proc/sys/net/ipv4/ip_forward)\" = $host_fwd ] && [ \"\$(cat /proc/sys/kernel/shmmax)\" = $host_shmmax ]"

check "--ulimit nofile=1024:2048 core=0" sh -c "[ \"\$('$MINIRUN' run --rm --ulimit nofile=1024:2048 --ulimit core=0 busybox sh -c 'ulimit -n; ulimit -Hn; ulimit -c' | tr '\n' ' ')\" = '1024 2048 0 ' ]"
check "--group-add (number and the user's own groups kept)" sh -c "'$MINIRUN' run --rm -u nobody --group-add 1234 --group-add 20 busybox id | grep -q 'groups=20,1234,65534(nogroup)\$'"
check "--shm-size 8m: /dev/shm is 8 MiB" sh -c "'$MINIRUN' run --rm --shm-size 8m busybox grep ' /dev/shm ' /proc/mounts | grep -q 'size=8192k'"
check "default /dev/shm is 64 MiB" sh -c "'$MINIRUN' run --rm busybox grep ' /dev/shm ' /proc/mounts | grep -q 'size=65536k'"
check "--ipc host: the host's IPC namespace" [ "$(mr run --rm --ipc host busybox readlink /proc/self/ns/ipc)" = "$(readlink /proc/self/ns/ipc)" ]
check "default: a private IPC namespace" [ "$(mr run --rm busybox readlink /proc/self/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ]
check "--uts host: the host's name, the host's UTS namespace" sh -c "[ \"\$('$MINIRUN' run --rm --uts host busybox sh -c 'hostname; readlink /proc/self/ns/uts' | tr '\n' ' ')\" = \"\$(hostname) \$(readlink /proc/self/ns/uts) \" ]"

# --pid host: the host's processes are seen; what the init leaves behind is
# killed through the container's cgroup when it ends (no PID namespace does it)
check "--pid host: the host's PID namespace" [ "$(mr run --rm --pid host busybox readlink /proc/self/ns/pid)" = "$(readlink /proc/self/ns/pid)" ]
check "--pid host: a process the init left behind is killed at its exit" sh -c "'$MINIRUN' run --rm --pid host busybox sh -c 'sleep 4243 & exit 0' && sleep 0.3 && ! pgrep -f '^sleep 4243$'"
mr run -d --name ph --pid host busybox sh -c 'sleep 4245 & sleep 600' >/dev/null
sleep 0.3
check "--pid host: top lists the container's processes only" sh -c "[ \"\$('$MINIRUN' top ph | tail -n +2 | wc -l)\" = 2 ]"
mr stop -t 1 ph >/dev/null
check "--pid host: stop ends every process of the container" sh -c "sleep 0.3; ! pgrep -f '^sleep 4245$'"
check "inspect: PidMode host" [ "$(mr inspect -f '{{.HostConfig.PidMode}}' ph)" = host ]
mr rm ph >/dev/null

# health checks: run by the owner through exec, Docker's states in ps and inspect
mr run -d --name hc --health-cmd 'cat /tmp/ok' --health-interval 200ms \
	--health-retries 2 busybox sh -c 'sleep 1.5; echo ok-out >/tmp/ok; sleep 600' >/dev/null
check "health: starting, then unhealthy after 2 failures" sh -c "for i in \$(seq 30); do '$MINIRUN' ps --format '{{.Status}}' -f name=hc | grep -q '(unhealthy)' && exit 0; sleep 0.1; done; exit 1"
check "health: healthy once the check passes" sh -c "for i in \$(seq 40); do '$MINIRUN' ps --format '{{.Status}}' -f name=hc | grep -q '(healthy)' && exit 0; sleep 0.1; done; exit 1"
check "ps --filter health=healthy / none" sh -c "[ \"\$('$MINIRUN' ps --format '{{.Names}}' -f health=healthy)\" = hc ] && ! '$MINIRUN' ps --format '{{.Names}}' -f health=none | grep -qx hc"
check "inspect: State.Health with the check's output and exit codes" sh -c "'$MINIRUN' inspect -f '{{json .State.Health}}' hc | grep -q '\"Status\":\"healthy\",\"FailingStreak\":0' && '$MINIRUN' inspect -f '{{json .State.Health}}' hc | grep -q '\"ExitCode\":0,\"Output\":\"ok-out\\\\n\"'"
check "inspect: Config.Healthcheck as Docker's" sh -c "[ \"\$('$MINIRUN' inspect -f '{{json .Config.Healthcheck}}' hc)\" = '{\"Test\":[\"CMD-SHELL\",\"cat /tmp/ok\"],\"Interval\":200000000,\"Timeout\":0,\"StartPeriod\":0,\"Retries\":2}' ]"
mr rm -f hc >/dev/null
mr run -d --name ht --health-cmd 'sleep 5' --health-interval 100ms --health-timeout 200ms --health-retries 1 busybox sleep 600 >/dev/null
check "health: a check past its timeout fails with Docker's message" sh -c "for i in \$(seq 40); do '$MINIRUN' inspect -f '{{json .State.Health}}' ht | grep -q 'Health check exceeded timeout (200ms)' && exit 0; sleep 0.1; done; exit 1"
mr stop -t 1 ht >/dev/null
check "health: gone from a stopped container" sh -c "[ \"\$('$MINIRUN' ps -a --format '{{.Status}}' -f name=ht | grep -c health)\" = 0 ]"
mr rm ht >/dev/null

# kept in the record: exec gets the limits and groups, a restart the sysctls
mr run -d --name rf --ulimit nofile=512:1024 --group-add 1234 --sysctl net.core.somaxconn=1000 \
	--shm-size 16m busybox sleep 60 >/dev/null
check "exec: --ulimit and --group-add apply" sh -c "[ \"\$('$MINIRUN' exec rf sh -c 'ulimit -n; id -G' | tr '\n' ' ')\" = '512 0 1234 ' ] || { '$MINIRUN' exec rf sh -c 'ulimit -n; id -G'; false; }"
mr stop -t 1 rf >/dev/null && mr start rf >/dev/null
check "after stop/start: the sysctl is set again" [ "$(mr exec rf cat /proc/sys/net/core/somaxconn)" = 1000 ]
check "inspect: Ulimits, Sysctls, GroupAdd, ShmSize, IpcMode as Docker's" sh -c "[ \"\$('$MINIRUN' inspect -f '{{json .HostConfig.Ulimits}} {{json .HostConfig.Sysctls}} {{json .HostConfig.GroupAdd}} {{.HostConfig.ShmSize}} {{.HostConfig.IpcMode}}' rf)\" = '[{\"Name\":\"nofile\",\"Hard\":1024,\"Soft\":512}] {\"net.core.somaxconn\":\"1000\"} [\"1234\"] 16777216 private' ]"
mr rm -f rf >/dev/null

check "--sysctl outside the container's namespaces: 125" ctr_run_refused 'sysctl "vm.swappiness" is not in a separate kernel namespace' --sysctl vm.swappiness=1
check "--sysctl net.* with --network host: 125" ctr_run_refused 'not allowed in host network namespace' --network host --sysctl net.ipv4.ip_forward=1
check "--sysctl IPC with --ipc host: 125" ctr_run_refused 'not allowed in host IPC namespace' --ipc host --sysctl kernel.shmmax=1
check "--sysctl without a value: 125" ctr_run_refused 'KEY=VALUE' --sysctl net.ipv4.ip_forward
check "--ulimit soft above hard: 125" ctr_run_refused 'ulimit soft limit must be less than or equal to hard limit: 10 > 5' --ulimit nofile=10:5
check "--ulimit of an unknown resource: 125" ctr_run_refused 'invalid ulimit type: nofiles' --ulimit nofiles=1
check "--uts host with --hostname: 125" ctr_run_refused 'Conflicting options: hostname and the UTS mode' --uts host -h x
check "--no-healthcheck with --health-cmd: 125" ctr_run_refused 'conflicts with --health-* options' --no-healthcheck --health-cmd true
check "--health-interval malformed: 125" ctr_run_refused '--health-interval: invalid duration 5x' --health-interval 5x
check "--pid of an unknown mode: 125" ctr_run_refused 'invalid PID mode: container:x' --pid container:x
check "--ipc of an unknown mode: 125" ctr_run_refused 'invalid IPC mode: container:x' --ipc container:x
check "--shm-size 0: 125" ctr_run_refused "invalid size: '0'" --shm-size 0
check "--group-add of an unknown name: 125 at start" sh -c "'$MINIRUN' run --rm --group-add no-such-group busybox true 2>&1 | grep -q 'Unable to find group no-such-group'; [ \$? = 0 ]"

# ---- the smaller Docker differences of issue 17 (item 13) ----
check "groups include the primary group (root: groups=0(root))" sh -c '"$MINIRUN" run --rm busybox id | grep -q " groups=0(root)\$"'
check "groups include the primary group (-u 1000:1000: groups=1000)" sh -c '"$MINIRUN" run --rm -u 1000:1000 busybox id | grep -q " groups=1000\$"'
check "--read-only: /etc/hosts, hostname, resolv.conf read-only" sh -c '[ "$("$MINIRUN" run --rm --read-only busybox grep -cE " /etc/(hosts|hostname|resolv.conf) [^ ]+ ro," /proc/mounts)" = 3 ]'
check "--read-only: writing /etc/hosts fails" sh -c '"$MINIRUN" run --rm --read-only busybox sh -c "echo x >>/etc/hosts" 2>&1 | grep -q "Read-only file system"'
check "without --read-only /etc/hosts stays writable" "$MINIRUN" run --rm busybox sh -c 'echo "1.2.3.4 x" >>/etc/hosts'
check "--tmpfs: rw,nosuid,nodev,noexec" sh -c '"$MINIRUN" run --rm --tmpfs /t busybox grep -q " /t tmpfs rw,nosuid,nodev,noexec" /proc/mounts'
check "--mount type=tmpfs: noexec too" sh -c '"$MINIRUN" run --rm --mount type=tmpfs,dst=/t busybox grep -q " /t tmpfs rw,nosuid,nodev,noexec" /proc/mounts'
check "--tmpfs /t:exec lifts noexec" sh -c '"$MINIRUN" run --rm --tmpfs /t:exec busybox grep " /t " /proc/mounts | grep -v noexec | grep -q nosuid'
mkdir -p "$T/bindsrc"
out=$(mr run --rm -v "$T/bindsrc:/b" -v namedvol:/v -v "$T/bindsrc:/r:ro" busybox grep -E " /(b|v|r) " /proc/mounts)
devpol=$(mr info 2>/dev/null | grep -i 'device' | head -1)
if echo "$devpol" | grep -q nodev; then
	echo "  (bind flag checks skipped: no device policy here, everything is nodev: $devpol)"
else
	check "bind mounts and volumes: no nosuid/nodev of their own ($out)" sh -c "[ \$(echo '$out' | grep -c ' rw,') = 2 ] && ! echo '$out' | grep -qE 'nosuid|nodev'"
	check ":ro bind: read-only, nothing else added" sh -c "echo '$out' | grep ' /r ' | grep -q ' ro,'"
fi
mr volume rm namedvol >/dev/null 2>&1
check "--network host keeps the host's hostname ($(hostname))" sh -c '[ "$("$MINIRUN" run --rm --network host busybox hostname)" = "$(hostname)" ] && [ "$("$MINIRUN" run --rm --network host busybox cat /etc/hostname)" = "$(hostname)" ]'
check "/etc/mtab links to /proc/mounts" sh -c '[ "$("$MINIRUN" run --rm busybox readlink /etc/mtab)" = /proc/mounts ]'
if [ -e /proc/kcore ]; then
	check "/dev/core -> /proc/kcore (the host has it)" sh -c '[ "$("$MINIRUN" run --rm busybox readlink /dev/core)" = /proc/kcore ]'
else
	check "no dangling /dev/core (no /proc/kcore here)" sh -c '"$MINIRUN" run --rm busybox ls -la /dev | grep -q "stderr" && ! "$MINIRUN" run --rm busybox ls -la /dev | grep -q " core "'
fi

# inspect: Docker's defaults and orders
mr create --name dinsp -e ZZ=1 -e PATH=/x:/bin -p 127.0.0.1:18080:80 -p 127.0.0.1:18053:53/udp busybox >/dev/null
check "inspect: Config.Env, the user's values first (Docker's order)" sh -c '[ "$("$MINIRUN" inspect -f "{{json .Config.Env}}" dinsp)" = "[\"ZZ=1\",\"PATH=/x:/bin\"]" ]'
check "inspect: Config.ExposedPorts from -p" sh -c '[ "$("$MINIRUN" inspect -f "{{json .Config.ExposedPorts}}" dinsp)" = "{\"53/udp\":{},\"80/tcp\":{}}" ]'
check "inspect: HostConfig.ShmSize 67108864, NetworkMode default (no --network)" sh -c '[ "$("$MINIRUN" inspect -f "{{.HostConfig.ShmSize}} {{.HostConfig.NetworkMode}}" dinsp)" = "67108864 default" ]'
if command -v python3 >/dev/null; then
	# the keys a private Docker 20.10 dockerd showed for `docker create busybox`
	check "inspect: HostConfig has Docker 20.10's 63 keys, no other" sh -c "'$MINIRUN' inspect dinsp | python3 -c '
import json, sys
d = json.load(sys.stdin)[0][\"HostConfig\"]
want = set(\"Binds ContainerIDFile LogConfig NetworkMode PortBindings RestartPolicy AutoRemove VolumeDriver VolumesFrom ConsoleSize CapAdd CapDrop CgroupnsMode Dns DnsOptions DnsSearch ExtraHosts GroupAdd IpcMode Cgroup Links OomScoreAdj PidMode Privileged PublishAllPorts ReadonlyRootfs SecurityOpt UTSMode UsernsMode ShmSize Runtime Isolation CpuShares Memory NanoCpus CgroupParent BlkioWeight BlkioWeightDevice BlkioDeviceReadBps BlkioDeviceWriteBps BlkioDeviceReadIOps BlkioDeviceWriteIOps CpuPeriod CpuQuota CpuRealtimePeriod CpuRealtimeRuntime CpusetCpus CpusetMems Devices DeviceCgroupRules DeviceRequests MemoryReservation MemorySwap MemorySwappiness OomKillDisable PidsLimit Ulimits CpuCount CpuPercent IOMaximumIOps IOMaximumBandwidth MaskedPaths ReadonlyPaths\".split())
print(sorted(set(d) ^ want))
sys.exit(0 if set(d) == want and len(want) == 63 and d[\"PidsLimit\"] is None and d[\"Dns\"] == [] else 1)'"
fi
mr rm dinsp >/dev/null
mr create --name dinsp2 --network bridge --shm-size 1m busybox >/dev/null
check "inspect: --network bridge says bridge, --shm-size its value" sh -c '[ "$("$MINIRUN" inspect -f "{{.HostConfig.ShmSize}} {{.HostConfig.NetworkMode}}" dinsp2)" = "1048576 bridge" ]'
mr rm dinsp2 >/dev/null
check "the process's environment: PATH, HOSTNAME first, then Config.Env (Docker's order)" sh -c '[ "$("$MINIRUN" run --rm -h hn -e ZZ=1 busybox env | head -3 | cut -d= -f1 | tr "\n" " ")" = "PATH HOSTNAME ZZ " ]'
# ps IMAGE once the container's tag names another image: the image ID (Docker)
mr load -q -i "$FIX/layers-docker.tar" >/dev/null 2>&1
mr tag busybox psapp:1
mr create --name psimg psapp:1 >/dev/null
check "ps IMAGE: the tag while it names the container's image" sh -c '[ "$("$MINIRUN" ps -a --filter name=psimg --format "{{.Image}}")" = psapp:1 ]'
mr tag layers:latest psapp:1
bbid=$(mr inspect -f '{{.Image}}' psimg)
short=$(echo "$bbid" | cut -c8-19)
check "ps IMAGE: the image ID once the tag moved ($short)" sh -c "[ \"\$('$MINIRUN' ps -a --filter name=psimg --format '{{.Image}}')\" = $short ] && '$MINIRUN' ps -a --no-trunc | grep psimg | grep -q ' $bbid '"
mr rm psimg >/dev/null
mr rmi psapp:1 layers:latest >/dev/null 2>&1

ctr_assert_clean
finish
