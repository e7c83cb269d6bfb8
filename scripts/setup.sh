#!/bin/sh
# Install everything a fresh Debian 12 machine needs to build minirun (static
# musl, the three cross targets), to run its tests and `make bench`.
# Idempotent, needs no input, and takes a fraction of a second when everything
# is already there. Checked on a truly fresh root by `make fresh-check`.
#
# Usage: scripts/setup.sh        (as root, or through sudo)
#
# What and why: the PKGS list below, one group a line with its reason.
# A deb-src entry is derived from the machine's own apt sources (never a
# mirror name written here) so that scripts/deps.sh can fetch the sources.
# Packaged services (docker-registry, and docker or containerd where a test
# adds them) are never started nor enabled: a policy-rc.d denies starts during
# the install, and every unit the install brought is disabled afterwards.
set -eu

if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null && exec sudo -- "$0" "$@"
	echo "setup: run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

ARCHES="arm64 armhf mipsel"
# One group a line: packages, then "#" and why. Add a line for a new need.
PKGS=$(sed 's/#.*//' <<'EOF'
make gcc libc6-dev musl-tools binutils file   # the static musl build
dpkg-dev patch xz-utils bzip2 ca-certificates # apt-get source of BearSSL, zstd, zlib (scripts/deps.sh)
linux-libc-dev                                # kernel UAPI headers, which musl lacks
gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu # cross compilers
musl-dev:arm64 musl-dev:armhf musl-dev:mipsel # their musl-gcc wrappers and libc
linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross linux-libc-dev-mipsel-cross # cross kernel headers
qemu-user-static                              # runs the cross-built unit tests
umoci skopeo busybox-static tar gzip zstd jq python3 attr libcap2-bin # tests/fixtures.sh's images
libarchive-tools                              # bsdtar: tests/unit_tar.c reads the archives it writes
cpio util-linux iproute2 procps               # the runner (unshare, flock), initramfs tests
debootstrap curl postgresql-client            # tests/service-images.sh and 33_services' clients
nftables                                      # nft lists minirun's rules in 60_net
docker-registry apache2-utils openssl         # 50_pull's local registry, htpasswd, TLS
qemu-system-x86                               # 71_qemu_boot boots the initramfs
qemu-system-arm                               # 73_qemu_arm boots aarch64 and armhf kernels
docker.io containerd                          # the reference: 80_docker_compare runs a private dockerd (services kept disabled)
golang-go golang-github-opencontainers-runtime-tools-dev golang-github-google-uuid-dev # make oci-validation builds the runtime-tools suite; containerd and dockerd above also drive 80_oci_containerd and 81_oci_docker
crun runc podman conmon hyperfine time        # make bench: peers and timing
clang libclang-rt-14-dev                      # make fuzz: libFuzzer
libbearssl-dev libzstd-dev zlib1g-dev         # make test-asan / fuzz link glibc builds of the libraries
libarchive-tools                              # bsdtar: a second real tar producer in the unit tests
strace                                        # 24_killcmd: fault injection kills commands at chosen calls
EOF
)

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
	# No service may start during the install (invoke-rc.d and
	# deb-systemd-invoke ask policy-rc.d; 101 = action forbidden). One that
	# was already there is put back afterwards, also when the install fails.
	policy=/usr/sbin/policy-rc.d
	before=$(mktemp)
	if [ -e "$policy" ] || [ -L "$policy" ]; then mv "$policy" "$policy.minirun-setup"; fi
	trap 'rm -f "$policy" "$before"; if [ -e "$policy.minirun-setup" ] || [ -L "$policy.minirun-setup" ]; then
		mv "$policy.minirun-setup" "$policy"; fi' EXIT
	trap 'exit 130' INT TERM HUP
	printf '#!/bin/sh\n# scripts/setup.sh: no service starts while it installs\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	dpkg-query -W -f '${binary:Package}\n' | sort >"$before"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
	# Nor is any left enabled at boot: every systemd unit and every daemon's
	# init script (runlevels 2-5; not boot-time set-up like procps' sysctl,
	# runlevel S) of the packages new to this machine is disabled.
	dpkg-query -W -f '${binary:Package}\n' | sort | comm -13 "$before" - | xargs -r dpkg -L 2>/dev/null |
		sed -n 's#^\(/usr\)\{0,1\}/lib/systemd/system/\([^/@]*\.\(service\|socket\|timer\)\)$#unit \2#p
			s#^/etc/init\.d/\([^/]*\)$#sysv \1#p' | sort -u |
		while read -r kind name; do
			if [ "$kind" = unit ] && command -v systemctl >/dev/null; then
				systemctl disable --quiet "$name" 2>/dev/null || true
			elif [ "$kind" = sysv ]; then
				grep -q '^# Default-Start:.*[2345]' "/etc/init.d/$name" 2>/dev/null || continue
				update-rc.d "$name" disable >/dev/null 2>&1 || true
			fi
			echo "setup: $name: not started, not enabled at boot"
		done
fi
echo "setup: done"
