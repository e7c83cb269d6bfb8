#!/bin/sh
# Debian kernels for the boot tests (71_qemu_boot; other arches alike), each
# downloaded once (apt-get download, unpacked with dpkg -x, never installed)
# into /var/cache/minirun-tests/kernel-KVER/ (boot/vmlinuz-KVER, lib/modules/KVER).
#
# Sourced:  kernel_get ARCH FLAVOUR   sets KVER and KDIR, or returns 1 with
#                                     KERNEL_WHY (every version tried and why)
# Run:      tests/integration/_kernel.sh ARCH FLAVOUR   prints KDIR; the test
#           runner does this before the tests lose the network (each runs in
#           a network namespace with loopback only), so they find it cached.
# ARCH is Debian's (amd64, arm64, armhf); FLAVOUR ends the package names:
# cloud-amd64 (linux-image-cloud-amd64 -> linux-image-6.1.0-NN-cloud-amd64),
# arm64, cloud-arm64, armmp.
#
# The kernel taken is the newest that downloads: the one the meta package
# linux-image-FLAVOUR depends on, then the other versions apt lists, newest
# first (a security update whose files the mirror does not serve yet, a 404,
# must not stop the test). A transient failure (timeout, reset) is retried
# twice; a 404 is not. A version already in the cache is used as it is.

KERNEL_CACHE=${KERNEL_CACHE:-/var/cache/minirun-tests}

# kernel_candidates ARCH FLAVOUR: versioned package names, newest first
kernel_candidates() {
	q=""
	[ "$1" = "$(dpkg --print-architecture)" ] || q=":$1"
	{
		apt-cache depends "linux-image-$2$q" 2>/dev/null |
			sed -n "s/^ *Depends: \(linux-image-[0-9][0-9.]*-[0-9]*-$2\)\(:$1\)\{0,1\}$/\1/p" | head -n1
		apt-cache search --names-only "^linux-image-[0-9][0-9.]*-[0-9]+-$2\$" 2>/dev/null |
			cut -d' ' -f1 | sed "s/^linux-image-//" | sort -V -r | sed "s/^/linux-image-/"
	} | awk '!seen[$0]++'
}

# kernel_download PKG[:ARCH] DIR: the .deb into DIR (3 attempts unless 404)
kernel_download() {
	attempt=1
	while :; do
		(cd "$2" && apt-get download "$1") >"$2/dl.log" 2>&1 && return 0
		# apt says why under its first "Err:N ..." line
		KERNEL_ERR=$(sed -n '/^Err:/ { n; s/^ *//; s/ *\[IP: [^]]*\]$//; p; q; }' "$2/dl.log")
		[ -n "$KERNEL_ERR" ] || KERNEL_ERR=$(grep '^E: ' "$2/dl.log" | tail -n1)
		[ -n "$KERNEL_ERR" ] || KERNEL_ERR=$(tail -n1 "$2/dl.log")
		case $KERNEL_ERR in 404\ * | 410\ *) return 1 ;; esac
		[ $attempt -lt 3 ] || { KERNEL_ERR="$KERNEL_ERR, $attempt attempts"; return 1; }
		sleep $attempt
		attempt=$((attempt + 1))
	done
}

kernel_get() { # ARCH FLAVOUR
	KVER="" KDIR="" KERNEL_WHY=""
	q=""
	[ "$1" = "$(dpkg --print-architecture)" ] || q=":$1"
	mkdir -p "$KERNEL_CACHE" || { KERNEL_WHY="cannot create $KERNEL_CACHE"; return 1; }
	pkgs=$(kernel_candidates "$1" "$2")
	if [ -z "$pkgs" ]; then
		KERNEL_WHY="apt knows no linux-image-*-$2 for $1 (apt-get update? dpkg --add-architecture $1?)"
		return 1
	fi
	(
		flock 9
		tried=""
		for p in $pkgs; do
			v=${p#linux-image-}
			k=$KERNEL_CACHE/kernel-$v
			if [ -f "$k/boot/vmlinuz-$v" ]; then echo "$v"; exit 0; fi
			dl=$(mktemp -d "$KERNEL_CACHE/.dl-kernel.XXXXXX") || exit 1
			if ! kernel_download "$p$q" "$dl"; then
				tried="$tried; $p: $KERNEL_ERR"
				rm -rf "$dl"
				continue
			fi
			rm -rf "$k.tmp" && mkdir -p "$k.tmp" && dpkg -x "$dl"/*.deb "$k.tmp" &&
				[ -f "$k.tmp/boot/vmlinuz-$v" ] && rm -rf "$k" && mv "$k.tmp" "$k"
			ok=$?
			rm -rf "$dl" "$k.tmp"
			if [ $ok = 0 ]; then
				[ -z "$tried" ] || echo "kernel: took $p; passed over: ${tried#; }" >&2
				echo "$v"
				exit 0
			fi
			tried="$tried; $p: could not unpack it (dpkg -x)"
		done
		echo "no kernel of $(echo $pkgs | wc -w) downloaded: ${tried#; }" >&2
		exit 1
	) 9>"$KERNEL_CACHE/.lock-kernel" >"$KERNEL_CACHE/.kernel-$$.out" 2>"$KERNEL_CACHE/.kernel-$$.err"
	rc=$?
	KVER=$(cat "$KERNEL_CACHE/.kernel-$$.out")
	KERNEL_WHY=$(cat "$KERNEL_CACHE/.kernel-$$.err")
	rm -f "$KERNEL_CACHE/.kernel-$$.out" "$KERNEL_CACHE/.kernel-$$.err"
	[ $rc = 0 ] && [ -n "$KVER" ] || return 1
	KDIR=$KERNEL_CACHE/kernel-$KVER
	[ -z "$KERNEL_WHY" ] || echo "$KERNEL_WHY" >&2
	return 0
}

# Run as a program: fetch and print the folder.
case $0 in
*/_kernel.sh | _kernel.sh)
	[ $# = 2 ] || { echo "usage: $0 ARCH FLAVOUR (e.g. amd64 cloud-amd64)" >&2; exit 2; }
	if kernel_get "$1" "$2"; then echo "$KDIR"; else echo "kernel: $KERNEL_WHY" >&2; exit 1; fi
	;;
esac
