#!/bin/sh
# Real boots: an initramfs with the static minirun, the busybox image archive
# and one boot declaration, booted with a Debian kernel under qemu (software
# emulation), twice. `minirun init` runs as PID 1 straight on the initramfs'
# rootfs (pivot_root refuses rootfs: init moves a bind mount of "/" over "/"
# first), mounts /proc /sys /dev /run /tmp, loads the image, starts the
# container and supervises it.
#  A: /init is a busybox script that loads overlay.ko, starts a watcher and
#     execs `minirun init`: the watcher prints the container's log on the
#     console once the marker is there, then sends SIGTERM to PID 1.
#  B: /init is minirun itself (the kernel runs it with no arguments), no
#     overlay module (the copy driver), no shell at all: once the container is
#     started, qemu's monitor presses ctrl-alt-del (SIGINT to PID 1).
# A also checks, inside the booted system, what init's cgroup2 mount gives:
# `info`, a run with --memory and --pids-limit (limits in the cgroup, a fork
# refused), and the device policy (a container cannot open /dev/kmsg or a disk).
# In both init stops the container (exit code 0: it trapped TERM), syncs and
# powers off. The kernel is the newest cloud kernel that downloads (the
# runner fetches it before the tests lose the network; tests/integration/
# _kernel.sh), cached in /var/cache/minirun-tests/kernel-<version>/. The test
# skips only where qemu cannot run; a kernel that cannot be had is a failure.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_kernel.sh"
fixtures
[ "$(id -u)" = 0 ] || skip "needs root (mknod, the kernel cache)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (scripts/setup.sh installs qemu-system-x86)"
command -v cpio >/dev/null || skip "cpio missing (scripts/setup.sh installs it)"
# Software emulation (TCG) needs no KVM: qemu starting an empty machine is
# all this needs to be able to run.
echo quit | timeout 30 qemu-system-x86_64 -M none -accel tcg -display none -nodefaults \
	-monitor stdio >"$T/qemu-probe.log" 2>&1 ||
	skip "qemu-system-x86_64 cannot run here: $(grep -v '^(qemu)\|^QEMU' "$T/qemu-probe.log" | tail -1)"
BB=$(command -v busybox)
file -L "$BB" 2>/dev/null | grep -q 'statically linked' || skip "no static busybox (busybox-static)"
file -L "$MINIRUN" | grep -q 'statically linked' || skip "$MINIRUN is not a static binary"

# ---- the kernel, cached ----
if ! kernel_get amd64 cloud-amd64; then
	bad "a Debian cloud kernel: $KERNEL_WHY"
	finish
fi
VER=$KVER K=$KDIR
VMLINUZ=$K/boot/vmlinuz-$VER
OVL=$(find "$K/lib/modules" -name 'overlay.ko*' | head -1)

# ---- the initramfs: one folder, two /init ----
R=$T/initrd
mkdir -p "$R/bin" "$R/sbin" "$R/dev" "$R/etc/minirun/containers" "$R/images" "$R/lib"
cp "$MINIRUN" "$R/sbin/minirun"
cp "$FIX/busybox-docker.tar" "$R/images/busybox.tar"
mknod -m 600 "$R/dev/console" c 5 1
cat >"$R/etc/minirun/containers/hello.conf" <<'EOC'
# printed by the container at boot; the number is computed inside it
image = busybox:latest
archive = /images/busybox.tar
command = sh -c 'echo "MINIRUN-BOOT-MARKER-$((6 * 7))"; trap "exit 0" TERM; while :; do sleep 0.2; done'
restart = always
network = none
stop_timeout = 5
EOC
# B: minirun is /init
ln -s sbin/minirun "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$T/initrd-b.cpio.gz" || skip "cpio failed"
rm "$R/init"
# A: a script before it, a watcher beside it
cp "$BB" "$R/bin/busybox"
case $OVL in
*.ko) cp "$OVL" "$R/lib/overlay.ko" ;;
*.ko.xz) xz -dc "$OVL" >"$R/lib/overlay.ko" ;;
esac
cat >"$R/init" <<'EOC'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
# /dev now (ash opens /dev/null for background jobs), /proc for the watcher's
# chroot into PID 1's root; init mounts the rest
mount -t devtmpfs devtmpfs /dev
mkdir -p /proc && mount -t proc proc /proc
if [ -f /lib/overlay.ko ]; then insmod /lib/overlay.ko && echo "TEST: overlay module loaded"; fi
# the watcher: show the container's output, then ask PID 1 to shut down. It
# looks through PID 1's root: init's own mounts (/run) are made there.
(
	n=0
	mr() { chroot /proc/1/root /sbin/minirun "$@"; }
	until mr logs hello 2>/dev/null | grep -q MINIRUN-BOOT-MARKER || [ $n -ge 600 ]; do
		sleep 0.1; n=$((n + 1))
		[ $((n % 50)) = 0 ] && { echo "TEST: still waiting"; mr ps -a; mr logs hello; }
	done
	mr inspect -f 'TEST: driver {{.GraphDriver.Name}}' hello
	mr logs hello 2>&1 | sed 's/^/TEST: hello says: /'
	# cgroups as init mounted them: info, limits written and enforced
	mr info 2>&1 | sed -n 's/^ *Cgroup Version: */TEST: info: Cgroup Version: /p'
	echo "TEST: subtree_control: $(cat /proc/1/root/sys/fs/cgroup/minirun/cgroup.subtree_control)"
	mr run -d --name lim --network none --memory 32m --pids-limit 20 busybox \
		sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done' >/lim.out 2>&1
	echo "TEST: run with limits: exit $?"
	sed 's/^/TEST: run with limits says: /' /lim.out
	cg=/proc/1/root/sys/fs/cgroup/minirun/$(mr inspect -f '{{.Id}}' lim)
	echo "TEST: lim memory.max=$(cat $cg/memory.max) pids.max=$(cat $cg/pids.max)"
	mr exec lim sh -c 'i=0; while [ $i -lt 30 ]; do sleep 3 & i=$((i + 1)); done; wait' >/pids.out 2>&1
	grep -q "can't fork" /pids.out && echo "TEST: the pids limit refused a fork"
	mr rm -f lim >/dev/null
	# the device policy: any node may be made, only the usual ones opened
	mr run --rm --network none busybox sh -c 'mknod /k c 1 11 || exit 3; echo probe >/k' >/kmsg.out 2>&1
	echo "TEST: kmsg write: exit $?"
	sed 's/^/TEST: kmsg write says: /' /kmsg.out
	mr run --rm --network none busybox sh -c 'mknod /d b 8 0 || exit 3; head -c 1 /d' >/disk.out 2>&1
	echo "TEST: disk read: exit $?"
	sed 's/^/TEST: disk read says: /' /disk.out
	echo "TEST: sending SIGTERM to PID 1"
	kill -TERM 1
) &
exec /sbin/minirun init
EOC
chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$T/initrd-a.cpio.gz" || skip "cpio failed"
echo "  kernel $VER, initramfs A $(wc -c <"$T/initrd-a.cpio.gz") bytes, B $(wc -c <"$T/initrd-b.cpio.gz") bytes"

# boot NAME [qemu options]: console in $T/NAME.txt, exit status in $T/NAME.rc
boot() {
	name=$1; shift
	t0=$(date +%s)
	timeout ${QEMU_TIMEOUT:-120} qemu-system-x86_64 -m 512 -nographic -no-reboot -kernel "$VMLINUZ" \
		-initrd "$T/initrd-$name.cpio.gz" -append "console=ttyS0 panic=-1 quiet" "$@" \
		</dev/null >"$T/$name.console" 2>&1
	echo $? >"$T/$name.rc"
	t1=$(date +%s)
	tr -d '\r' <"$T/$name.console" >"$T/$name.txt"
	sed 's/^/  | /' "$T/$name.txt" | tail -40
	echo "  (boot $name to power off: $((t1 - t0)) s)"
}
common_checks() {
	check "$1: qemu ended by itself (no timeout)" [ "$(cat "$T/$1.rc")" != 124 ]
	check "$1: init left the rootfs for a bind mount of it" grep -q "running on a bind mount of it" "$T/$1.txt"
	check "$1: init loaded the image and started the container" grep -q "minirun: hello: started" "$T/$1.txt"
	check "$1: containers stopped at shutdown" grep -q "minirun: init: stopping containers" "$T/$1.txt"
	check "$1: the container stopped cleanly (it trapped TERM: exit code 0)" grep -q "minirun: stopped hello (exit code 0)" "$T/$1.txt"
	check "$1: init powered off" grep -q "minirun: init: powering off" "$T/$1.txt"
	check "$1: no kernel panic" sh -c "! grep -q 'Kernel panic' '$T/$1.txt'"
	check "$1: the device policy is in the kernel (no nodev fallback)" sh -c "! grep -q 'no device cgroup' '$T/$1.txt'"
}

boot a
common_checks a
check "a: the container printed its marker at boot" grep -q "TEST: hello says: MINIRUN-BOOT-MARKER-42" "$T/a.txt"
check "a: info says Cgroup Version 2 (init mounted cgroup2)" grep -q "TEST: info: Cgroup Version: 2" "$T/a.txt"
check "a: controllers enabled for the containers' subtree" grep -q "TEST: subtree_control: .*memory.*pids" "$T/a.txt"
check "a: run --memory 32m --pids-limit 20 works" grep -q "TEST: run with limits: exit 0" "$T/a.txt"
check "a: the limits are in the container's cgroup" grep -q "TEST: lim memory.max=33554432 pids.max=20" "$T/a.txt"
check "a: the pids limit is enforced" grep -q "TEST: the pids limit refused a fork" "$T/a.txt"
check "a: a container cannot write /dev/kmsg (EPERM)" sh -c "grep -q 'TEST: kmsg write: exit 1' '$T/a.txt' && grep -q 'TEST: kmsg write says: .*Operation not permitted' '$T/a.txt'"
check "a: a container cannot read a disk (EPERM)" sh -c "grep -q 'TEST: disk read: exit 1' '$T/a.txt' && grep -q 'TEST: disk read says: .*Operation not permitted' '$T/a.txt'"
if [ -n "$OVL" ]; then
	check "a: overlay root" grep -q "TEST: driver overlay" "$T/a.txt"
fi

# B: press ctrl-alt-del through qemu's monitor once the container runs
( n=0
  until grep -q "minirun: hello: started" "$T/b.console" 2>/dev/null || [ $n -ge 1000 ]; do
	sleep 0.1; n=$((n + 1)); done
  sleep 2
  python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(0.3)
s.sendall(b"sendkey ctrl-alt-delete\n"); time.sleep(0.5); s.close()' "$T/mon" ) &
presser=$!
boot b -monitor "unix:$T/mon,server=on,wait=off"
kill $presser 2>/dev/null; wait $presser 2>/dev/null
common_checks b
finish
