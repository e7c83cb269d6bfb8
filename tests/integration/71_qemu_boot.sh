#!/bin/sh
# A real boot: an initramfs with a static busybox, the static minirun, the
# busybox image archive and one boot declaration, booted with a Debian kernel
# under qemu (software emulation). /init moves the files to a tmpfs (pivot_root
# cannot leave the initramfs' rootfs) and execs `minirun init` as PID 1, which
# mounts /proc /sys /dev /run /tmp, loads the image, starts the container and
# supervises it. A watcher prints the container's log on the console once the
# marker is there, then sends SIGTERM to PID 1: init stops the container
# (exit code 0: it trapped TERM), syncs and powers off.
# The kernel package is downloaded once (apt-get download, not installed) into
# /var/cache/minirun-tests/kernel-<version>/.
. "$(dirname "$0")/lib.sh"
fixtures
[ "$(id -u)" = 0 ] || skip "needs root (apt-get, mknod)"
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null; then
	apt-get install -y -q qemu-system-x86 cpio >"$T/apt.log" 2>&1 ||
		skip "qemu-system-x86_64/cpio missing and apt-get install failed"
fi
BB=$(command -v busybox)
[ -n "$BB" ] && file -L "$BB" 2>/dev/null | grep -q 'statically linked' ||
	{ apt-get install -y -q busybox-static >>"$T/apt.log" 2>&1 && BB=$(command -v busybox); }
file -L "$BB" 2>/dev/null | grep -q 'statically linked' || skip "no static busybox (busybox-static)"
file -L "$MINIRUN" | grep -q 'statically linked' || skip "$MINIRUN is not a static binary"

# ---- the kernel, cached ----
PKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -1)
[ -n "$PKG" ] || skip "apt-cache does not know linux-image-cloud-amd64 (apt-get update?)"
VER=${PKG#linux-image-}
K=/var/cache/minirun-tests/kernel-$VER
if [ ! -f "$K/boot/vmlinuz-$VER" ]; then
	mkdir -p "$T/deb" && (cd "$T/deb" && apt-get download "$PKG" >"$T/dl.log" 2>&1) ||
		skip "could not download $PKG"
	rm -rf "$K.tmp" && mkdir -p "$K.tmp" && dpkg -x "$T"/deb/*.deb "$K.tmp" &&
		rm -rf "$K" && mv "$K.tmp" "$K" || skip "could not unpack $PKG"
fi
VMLINUZ=$K/boot/vmlinuz-$VER
OVL=$(find "$K/lib/modules" -name 'overlay.ko*' | head -1)

# ---- the initramfs ----
R=$T/initrd
mkdir -p "$R/bin" "$R/sbin" "$R/dev" "$R/etc/minirun/containers" "$R/images" "$R/lib"
cp "$BB" "$R/bin/busybox"
cp "$MINIRUN" "$R/sbin/minirun"
cp "$FIX/busybox-docker.tar" "$R/images/busybox.tar"
case $OVL in
*.ko) cp "$OVL" "$R/lib/overlay.ko" ;;
*.ko.xz) xz -dc "$OVL" >"$R/lib/overlay.ko" ;;
esac
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
cat >"$R/init" <<'EOC'
#!/bin/busybox sh
# stage 1: copy into a tmpfs and switch to it (pivot_root refuses rootfs)
B=/bin/busybox
$B mkdir -p /newroot
$B mount -t tmpfs -o mode=0755 tmpfs /newroot
$B cp -a /bin /sbin /etc /images /lib /dev /init2 /newroot/
exec $B switch_root /newroot /init2
EOC
cat >"$R/init2" <<'EOC'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
# /dev now (ash opens /dev/null for background jobs); init mounts the rest
mount -t devtmpfs devtmpfs /dev
if [ -f /lib/overlay.ko ]; then insmod /lib/overlay.ko && echo "TEST: overlay module loaded"; fi
# the watcher: show the container's output, then ask PID 1 to shut down
(
	n=0
	until [ -c /dev/null ]; do sleep 0.1; done
	until minirun logs hello 2>/dev/null | grep -q MINIRUN-BOOT-MARKER || [ $n -ge 600 ]; do
		sleep 0.1; n=$((n + 1))
		[ $((n % 50)) = 0 ] && { echo "TEST: still waiting"; minirun ps -a; minirun logs hello; }
	done
	minirun logs hello 2>&1 | sed 's/^/TEST: hello says: /'
	echo "TEST: sending SIGTERM to PID 1"
	kill -TERM 1
) &
exec /sbin/minirun init
EOC
chmod 755 "$R/init" "$R/init2"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$T/initrd.cpio.gz" || skip "cpio failed"
echo "  kernel $VER, initramfs $(wc -c <"$T/initrd.cpio.gz") bytes"

t0=$(date +%s)
timeout ${QEMU_TIMEOUT:-120} qemu-system-x86_64 -m 512 -nographic -no-reboot -kernel "$VMLINUZ" \
	-initrd "$T/initrd.cpio.gz" -append "console=ttyS0 panic=-1 quiet" </dev/null >"$T/console" 2>&1
rc=$?
t1=$(date +%s)
tr -d '\r' <"$T/console" >"$T/console.txt"
sed 's/^/  | /' "$T/console.txt" | tail -40
echo "  (boot to power off: $((t1 - t0)) s)"
check "qemu ended by itself (no timeout)" [ $rc != 124 ]
check "init loaded the image and started the container" grep -q "minirun: hello: started" "$T/console.txt"
check "the container printed its marker at boot" grep -q "TEST: hello says: MINIRUN-BOOT-MARKER-42" "$T/console.txt"
check "SIGTERM to PID 1: containers stopped" grep -q "minirun: init: stopping containers" "$T/console.txt"
check "the container stopped cleanly (it trapped TERM: exit code 0)" grep -q "minirun: stopped hello (exit code 0)" "$T/console.txt"
check "init powered off" grep -q "minirun: init: powering off" "$T/console.txt"
check "no kernel panic" sh -c "! grep -q 'Kernel panic' '$T/console.txt'"
finish
