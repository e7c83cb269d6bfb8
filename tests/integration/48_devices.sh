#!/bin/sh
# The device policy, as Docker's: a container may make any node (mknod) but
# open only null, zero, full, random, urandom, tty, console, ptmx and its
# ptys; --device adds a host node with the access asked for,
# --device-cgroup-rule a rule, --privileged lifts it. The probe device is
# /dev/kmsg (c 1:11): writing a line to it is harmless, and Docker refuses it.
# Checked with the policy as a cgroup2 BPF program (this host's default), on
# the v1 devices controller (cgroup2 unmounted in a private mount namespace)
# and without either (everything but /dev's nodes mounted nodev).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
[ -c /dev/kmsg ] || skip "no /dev/kmsg on this host"

# write NAME CMD: the container's shell makes a kmsg node and writes to it
KMSG='mknod /tmp/k c 1 11 || exit 3; echo "minirun-test: device policy probe" >/tmp/k'

mr run --rm busybox sh -c "$KMSG" >"$T/def" 2>&1
rc=$?
cat "$T/def"
check "default: mknod works, writing to the node is refused (EPERM)" sh -c "[ $rc = 1 ] && grep -q 'Operation not permitted' '$T/def'"
check "default: the usual nodes work" mr run --rm busybox sh -c \
	'echo x >/dev/null && head -c 4 /dev/zero | wc -c | grep -qx 4 && head -c 4 /dev/urandom >/dev/null && head -c 1 /dev/full >/dev/null'
check "default with -t: the pty and /dev/console work" sh -c \
	"'$MINIRUN' run --rm -t busybox sh -c 'tty | grep -q /dev/pts/ && echo hi >/dev/console && echo ok' </dev/null | grep -q ok"

mr run -d --name dv busybox sleep 60 >/dev/null
check "exec: the same policy (it joins the container's cgroup)" sh -c \
	"! '$MINIRUN' exec dv sh -c '$KMSG' && '$MINIRUN' exec dv sh -c 'echo x >/dev/null'"
mr rm -f dv >/dev/null

check "--device /dev/kmsg:/dev/hostlog:w: the node is there and writable" mr run --rm \
	--device /dev/kmsg:/dev/hostlog:w busybox sh -c \
	'[ -c /dev/hostlog ] && echo "minirun-test: --device write" >/dev/hostlog'
check "--device ...:r: writing refused" sh -c "! '$MINIRUN' run --rm --device /dev/kmsg:/dev/hostlog:r busybox sh -c 'echo x >/dev/hostlog'"
check "--device-cgroup-rule 'c 1:11 w' allows the write" mr run --rm --device-cgroup-rule 'c 1:11 w' busybox sh -c "$KMSG"
check "--privileged: no device policy" mr run --rm --privileged busybox sh -c "$KMSG"

# create + start: the devices are in the record, looked up again at start
mr create --name dc --device /dev/kmsg:/dev/hostlog:w --device-cgroup-rule 'c 42:* rmw' busybox \
	sh -c 'echo "minirun-test: create+start" >/dev/hostlog' >/dev/null
check "create --device, then start -a: works" mr start -a dc
check "inspect: HostConfig.Devices as Docker's" sh -c "'$MINIRUN' inspect -f '{{json .HostConfig.Devices}}' dc | grep -qF '[{\"PathOnHost\":\"/dev/kmsg\",\"PathInContainer\":\"/dev/hostlog\",\"CgroupPermissions\":\"w\"}]'"
check "inspect: HostConfig.DeviceCgroupRules" sh -c "'$MINIRUN' inspect -f '{{json .HostConfig.DeviceCgroupRules}}' dc | grep -qF '[\"c 42:* rmw\"]'"
mr rm dc >/dev/null

check "--device of a missing file: 125" ctr_run_refused 'error gathering device information while adding custom device "/dev/no-such-node"' --device /dev/no-such-node
check "--device of a folder: 125" ctr_run_refused 'not a device node' --device /tmp
check "--device with a bad mode: 125" ctr_run_refused 'bad mode specified: rwx' --device /dev/null:/dev/n:rwx
check "--device with a relative path: 125" ctr_run_refused 'x is not an absolute path' --device /dev/null:x
check "--device-cgroup-rule malformed: 125" ctr_run_refused "invalid device cgroup format 'c 1:3'" --device-cgroup-rule 'c 1:3'

# the v1 devices controller: cgroup2 unmounted in a private mount namespace
if [ -d /sys/fs/cgroup/devices ] && mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
	unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified &&
		'$MINIRUN' run --rm --name v1 busybox sh -c 'echo x >/dev/null && ! { $KMSG; }' &&
		'$MINIRUN' run --rm --device /dev/kmsg:/dev/hostlog:w busybox sh -c 'echo minirun-test: v1 >/dev/hostlog'" >"$T/v1" 2>&1
	rc=$?
	cat "$T/v1"
	check "v1 devices controller: kmsg refused, --device allowed" [ $rc = 0 ]
else
	echo "  (v1 check skipped: no devices controller, or no cgroup2 at /sys/fs/cgroup/unified)"
fi

# no device cgroup at all: everything but /dev's nodes is nodev
if [ -d /sys/fs/cgroup/devices ] && mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
	unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified && umount /sys/fs/cgroup/devices &&
		'$MINIRUN' run --rm -v '$T:/data' busybox sh -c 'echo x >/dev/null && ! { $KMSG; } &&
			! { mknod /dev/k c 1 11 && echo x >/dev/k; } && ! { mknod /data/k c 1 11 && echo x >/data/k; } &&
			grep -E \" / | /dev | /data \" /proc/mounts'" >"$T/nodev" 2>&1
	rc=$?
	cat "$T/nodev"
	unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified && umount /sys/fs/cgroup/devices &&
		'$MINIRUN' run --rm --read-only busybox grep ' / ' /proc/mounts" >"$T/nodev-ro" 2>&1
	check "no device cgroup, --read-only: the root stays nodev" grep -q ' / .* ro,nodev' "$T/nodev-ro"
	check "no device cgroup: a warning, nodes made anywhere cannot be opened" sh -c "[ $rc = 0 ] && grep -q 'WARNING: no device cgroup' '$T/nodev' && [ \$(grep -c ' /dev \| / \| /data ' '$T/nodev' | head -1) -ge 3 ] && ! grep -E ' (/|/dev|/data) ' '$T/nodev' | grep -v nodev"
fi

ctr_assert_clean
finish
