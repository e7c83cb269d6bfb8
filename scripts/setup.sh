#!/bin/sh
# Install everything a fresh Debian 12 machine needs to build minirun (static
# musl, the three cross targets) and to run its tests. Idempotent, needs no
# input, and takes a fraction of a second when everything is already there.
#
# Usage: scripts/setup.sh        (as root, or through sudo)
#
# What and why:
#   build:  make gcc musl-tools binutils file; dpkg-dev patch xz-utils bzip2
#           (apt-get source of BearSSL, zstd, zlib, see scripts/deps.sh);
#           linux-libc-dev (kernel UAPI headers, which musl lacks)
#   cross:  gcc-{aarch64-linux-gnu,arm-linux-gnueabihf,mipsel-linux-gnu} and
#           musl-dev:{arm64,armhf,mipsel} (their musl-gcc wrappers and libc);
#           qemu-user-static runs the cross-built unit tests
#   tests:  umoci skopeo busybox-static tar gzip zstd jq python3 attr libcap2-bin
#           (tests/fixtures.sh builds the test images with them), cpio,
#           util-linux (unshare, flock), iproute2, procps; debootstrap (the
#           Debian base of tests/service-images.sh), curl and postgresql-client
#           (the real clients of tests/integration/33_services.sh), nftables
#           (nft lists the rules minirun made, in 60_net)
# A deb-src entry is derived from the machine's own apt sources (never a
# mirror name written here) so that scripts/deps.sh can fetch the sources.
set -eu

if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null && exec sudo -- "$0" "$@"
	echo "setup: run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

ARCHES="arm64 armhf mipsel"
PKGS="make gcc libc6-dev musl-tools binutils file dpkg-dev patch xz-utils bzip2
	linux-libc-dev ca-certificates
	gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu qemu-user-static
	musl-dev:arm64 musl-dev:armhf musl-dev:mipsel
	umoci skopeo busybox-static tar gzip zstd jq python3 attr libcap2-bin cpio
	util-linux iproute2 procps curl debootstrap postgresql-client nftables
	docker-registry apache2-utils openssl qemu-system-x86
	linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross linux-libc-dev-mipsel-cross
	qemu-system-arm"
# linux-libc-dev-*-cross: the kernel headers scripts/deps.sh cross-builds the
# libraries with (gcc-*-linux-gnu only recommends them); qemu-system-arm:
# qemu-system-aarch64 and qemu-system-arm for tests/integration/73_qemu_arm.sh.

need_update=0
for a in $ARCHES; do
	if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
		dpkg --add-architecture "$a"
		need_update=1
	fi
done
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
   ! grep -rqs '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			>/etc/apt/sources.list.d/minirun-deb-src.sources
	else
		sed -n 's/^deb \(.*debian.*\)/deb-src \1/p' /etc/apt/sources.list \
			>/etc/apt/sources.list.d/minirun-deb-src.list
	fi
	need_update=1
fi

# One dpkg-query for all: each installed package as name:arch, and as plain
# name when it is for this machine's architecture (or "all").
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f '${binary:Package} ${Architecture} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null |
	awk -v native="$(dpkg --print-architecture)" '$3 ~ /^ii/ { n = $1; sub(/:.*/, "", n);
		print n ":" $2; if ($2 == native || $2 == "all") print n }')
missing=""
for p in $PKGS; do
	echo "$installed" | grep -qxF "$p" || missing="$missing $p"
done
if [ -z "$missing" ] && [ $need_update = 0 ]; then
	echo "setup: everything is installed"
	exit 0
fi
echo "setup: installing:${missing:- (nothing; refreshing apt for new sources)}"
# A third-party repository that cannot be reached must not stop the set-up;
# the install below fails clearly if Debian's own indexes are missing.
apt-get update -q || echo "setup: apt-get update reported errors (continuing)" >&2
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
echo "setup: done"
