#!/bin/sh
# Power cuts under emulation (tests/powercut.py): a qemu VM (a Debian cloud
# kernel and an initramfs, as in 71_qemu_boot.sh) whose virtio disk, an ext4
# image made here, holds the store; a driver in the VM runs random
# store-changing work (load of a large image, run -d, rm -f, volume create and
# fsynced writes from a container, rmi, image prune, system prune, up with an
# image update, pull from a registry on the host side) and says what each command acknowledged; the host SIGKILLs
# qemu at a random moment and boots again on the same disk: `minirun check`
# must be clean without --repair, every acknowledged operation there, and
# work must go on. POWERCUT_CUTS cuts (10 here; `make powercut`: 200),
# bounded by POWERCUT_MAX_SECONDS.
. "$(dirname "$0")/lib.sh"
fixtures
[ "$(id -u)" = 0 ] || skip "needs root (mknod, the kernel download)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
command -v mkfs.ext4 >/dev/null && command -v cpio >/dev/null || skip "mkfs.ext4/cpio missing"
BB=$(command -v busybox)
[ -n "$BB" ] && file -L "$BB" 2>/dev/null | grep -q 'statically linked' || skip "no static busybox (busybox-static)"
file -L "$MINIRUN" | grep -q 'statically linked' || skip "$MINIRUN is not a static binary"

# ---- the kernel, cached (as 71_qemu_boot.sh; the runner downloads it
# before the tests lose the network) ----
. "$(dirname "$0")/_kernel.sh"
kernel_get amd64 cloud-amd64 || skip "a Debian cloud kernel: $KERNEL_WHY"
VER=$KVER K=$KDIR
# Emulated (tcg) unless POWERCUT_KVM=1: on this machine (nested) a KVM guest
# never gets past the kernel's decompression, so KVM cannot be the default.
KVM=""
[ "${POWERCUT_KVM:-0}" = 1 ] && KVM=--kvm
# a registry on the host side (the guest reaches it through qemu's user
# networking as 10.0.2.2), plain HTTP on loopback
REGARG="" REG=""
EXTRA_CLEANUP='[ -n "$REG" ] && kill $REG 2>/dev/null && wait $REG 2>/dev/null'
if command -v docker-registry >/dev/null && command -v skopeo >/dev/null; then
	P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
		"$T/reg" "$P" >"$T/reg.yml"
	docker-registry serve "$T/reg.yml" >"$T/reg.log" 2>&1 &
	REG=$!
	for _ in $(seq 100); do
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$P" \
			2>/dev/null && break
		sleep 0.1
	done
	REGARG="--registry-port $P"
fi
python3 "$REPO/tests/powercut.py" $REGARG --minirun "$MINIRUN" --busybox "$BB" \
	--busybox-image "$FIX/busybox-docker.tar" --kernel "$K/boot/vmlinuz-$VER" \
	--modules "$K/lib/modules" --work "$T" --cuts "${POWERCUT_CUTS:-10}" \
	--max-seconds "${POWERCUT_MAX_SECONDS:-600}" $KVM >"$T/powercut.out" 2>&1
rc=$?
cat "$T/powercut.out"
[ $rc = 0 ] && ok "power cuts: store consistent, nothing acknowledged lost, work goes on" ||
	{ bad "power cuts (console: last lines below)"; grep -a "PC \|minirun" "$T/console.log" | tail -30; }
finish
