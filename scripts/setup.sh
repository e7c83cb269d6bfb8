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
#   oci:    containerd docker.io (private instances driven by
#           tests/integration/80_oci_containerd.sh and 81_oci_docker.sh; their
#           packaged services are kept from starting and disabled), runc crun
#           (the peers of tests/bench/oci.sh), golang-go and two Go packages
#           (build the OCI runtime-tools validation suite, tests/oci-validation.sh)
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
	containerd docker.io runc crun golang-go golang-github-opencontainers-runtime-tools-dev
	golang-github-google-uuid-dev"

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
	# docker.io and containerd would start their system services: the tests
	# only use private instances, so nothing may start during the install
	deny=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		deny=1
	fi
	# shellcheck disable=SC2086
	rc=0
	apt-get install -y -q --no-install-recommends $missing || rc=$?
	[ -z "$deny" ] || rm -f /usr/sbin/policy-rc.d
	[ "$rc" = 0 ] || exit "$rc"
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now docker.service docker.socket containerd.service >/dev/null 2>&1 || true
	fi
fi
echo "setup: done"
