#!/bin/sh
# tests/qemu-arch.sh: Debian's own kernel and static busybox for a foreign
# architecture, for the full-system boots of tests/integration/73_qemu_arm.sh.
# Downloaded with `apt-get download` (never installed; the architecture is
# added by scripts/setup.sh) and unpacked into the cache
# ${MINIRUN_TEST_CACHE:-/var/cache/minirun-tests}, outside the repository:
#   kernel-<package>_<version>/   boot/vmlinuz-*, lib/modules/<abi>/
#   busybox-static_<version>_<arch>/bin/busybox
#
# Usage: tests/qemu-arch.sh kernel DEBARCH FLAVOUR   prints the kernel folder
#        tests/qemu-arch.sh busybox DEBARCH          prints the busybox binary
#        tests/qemu-arch.sh prefetch                 both, for arm64 and armhf
#
# The kernel is the newest that downloads: the ABI package linux-image-FLAVOUR
# depends on, each version apt knows of it newest first; without a network
# (the tests run in a network namespace of their own) the newest one cached.
# Kept apart from 71_qemu_boot.sh's x86 kernel logic.
set -u
C=${MINIRUN_TEST_CACHE:-/var/cache/minirun-tests}
mkdir -p "$C" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# fetch PKG:ARCH VERSION DEST: download that version, unpack it into DEST
fetch() {
	rm -f "$tmp"/*.deb
	(cd "$tmp" && timeout 300 apt-get download "$1=$2" >"$tmp/dl.log" 2>&1) || return 1
	rm -rf "$3.tmp" && mkdir -p "$3.tmp" && dpkg -x "$tmp"/*.deb "$3.tmp" &&
		rm -rf "$3" && mv "$3.tmp" "$3"
}

# get PKG ARCH PREFIX: the cached folder of the newest version that downloads
get() {
	for v in $(apt-cache madison "$1:$2" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}'); do
		d=$C/$3_$(echo "$v" | tr ':~' '__')
		[ -d "$d" ] && { echo "$d"; return 0; }
		fetch "$1:$2" "$v" "$d" && { echo "$d"; return 0; }
	done
	d=$(ls -d "$C/$3"_* 2>/dev/null | grep -v '\.tmp$' | sort -V | tail -1)
	[ -n "$d" ] && { echo "$d"; return 0; }
	echo "qemu-arch: could not download $1:$2 (and none cached in $C)" >&2
	return 1
}

kernel() { # kernel DEBARCH FLAVOUR
	pkg=$(apt-cache depends "linux-image-$2:$1" 2>/dev/null |
		sed -n "s/^ *Depends: \(linux-image-[0-9][^: ]*-$2\)\(:$1\)\{0,1\}$/\1/p" | head -1)
	if [ -z "$pkg" ]; then
		d=$(ls -d "$C/kernel-linux-image-"*"-$2"_* 2>/dev/null | grep -v '\.tmp$' | sort -V | tail -1)
		[ -n "$d" ] && { echo "$d"; return 0; }
		echo "qemu-arch: apt knows no linux-image-$2:$1 (dpkg --add-architecture $1; apt-get update)" >&2
		return 1
	fi
	get "$pkg" "$1" "kernel-$pkg"
}

case ${1:-} in
kernel) kernel "$2" "$3" ;;
busybox) d=$(get busybox-static "$2" "busybox-static-$2") && echo "$d/bin/busybox" ;;
prefetch)
	kernel arm64 arm64 >/dev/null && kernel armhf armmp >/dev/null &&
		get busybox-static arm64 busybox-static-arm64 >/dev/null &&
		get busybox-static armhf busybox-static-armhf >/dev/null ;;
*) echo "usage: $0 kernel DEBARCH FLAVOUR | busybox DEBARCH | prefetch" >&2; exit 2 ;;
esac
