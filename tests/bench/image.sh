#!/bin/sh
# tests/bench/image.sh: build the benchmark images once; print their folder.
#
# Usage:  IMG=$(tests/bench/image.sh)
#
# Built with real producers from Debian packages (debootstrap, umoci, skopeo),
# never with minirun, into
#   ${MINIRUN_BENCH_CACHE:-/var/cache/minirun-bench}/<hash>/
# where <hash> covers this script, the Debian release and the versions of the
# tools used; a run with the folder present only prints it. Built in a temporary
# folder renamed into place under a lock; everything that mounts runs inside
# `unshare -m`, so a killed build leaves no mount behind.
#
# Images (the file names are a contract with run.sh):
#   oci/  pg-gzip.tar   bench/pg:latest, two gzip layers (umoci repack), about
#       450 MB unpacked:
#       L1 `debootstrap --variant=minbase` of the machine's release, from the
#          machine's own Debian mirror (read from its apt sources at run time),
#          without apt lists and downloaded packages (as Debian's own images);
#       L2 `apt-get install --no-install-recommends postgresql` in it (LLVM, ICU,
#          perl modules...), apt lists and caches removed again.
#   oci-zstd/  pg-zstd.tar   the same image, layers recompressed to zstd (skopeo).
#   busybox/  busybox.tar    bench/busybox:latest, one gzip layer: busybox-static
#       with its applet links; for the container rows.
#   info   key=value lines: unpacked bytes, layer counts and sizes.
#
# Needs (Debian): debootstrap umoci skopeo busybox-static zstd util-linux.
set -eu

self=$(readlink -f "$0")
cache=${MINIRUN_BENCH_CACHE:-/var/cache/minirun-bench}
pkgs="debootstrap umoci skopeo busybox-static"
extra=${MINIRUN_BENCH_PACKAGES:-postgresql}

# shellcheck disable=SC1091
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
# shellcheck disable=SC2086
hash=$({ cat "$self"; echo "$suite $extra"; dpkg-query -W -f '${Package} ${Version}\n' $pkgs 2>&1; } |
	sha256sum | cut -c1-16)
out=$cache/$hash
if [ -f "$out/info" ]; then
	echo "$out"
	exit 0
fi

log() { echo "bench-image: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, device nodes)"
[ -n "$suite" ] || die "no VERSION_CODENAME in /etc/os-release"
for t in debootstrap umoci skopeo unshare chroot flock; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (apt-get install $pkgs)"
done
[ -x /bin/busybox ] || die "/bin/busybox not found (apt-get install busybox-static)"

# The machine's own Debian mirror: the first deb822 stanza (or one-line entry)
# of type deb that serves $suite. Never written into the repository.
mirror_of() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '
			/^[ \t]*$/ { if (t && u && ok) { print u; exit } t = u = ok = 0; next }
			/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") t = 1 }
			/^URIs:/ { u = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			END { if (t && u && ok) print u }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v s="$suite" '$1 == "deb" { u = $2; if (u ~ /^\[/) u = $3; for (i = 2; i <= NF; i++) if ($i == s) { print u; exit } }'
}
mirror=$(mirror_of | head -n 1)
[ -n "$mirror" ] || die "no Debian mirror for $suite found in /etc/apt/sources.list*"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/info" ]; then
	echo "$out"
	exit 0
fi
rm -rf "$cache"/.tmp-*
tmp=$cache/.tmp-$hash-$$
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
mkdir "$tmp"
start=$(date +%s)
log "building into $out (first run only; debootstrap from $mirror)"

# ---- bench/pg: debootstrap + postgresql, two layers -----------------------
umoci init --layout "$tmp/oci"
umoci new --image "$tmp/oci:pg"
umoci unpack --image "$tmp/oci:pg" "$tmp/bundle" >/dev/null
r=$tmp/bundle/rootfs
# debootstrap mounts proc and sys in the target: a private mount namespace
# makes sure they vanish with it, even on a kill.
unshare -m --propagation private \
	debootstrap --variant=minbase "$suite" "$r" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap done ($(($(date +%s) - start)) s)"
# As Debian's own container images: no package cache, no apt lists.
rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*
umoci repack --image "$tmp/oci:pg" --refresh-bundle \
	--history.created_by "debootstrap --variant=minbase $suite" "$tmp/bundle"

cp /etc/resolv.conf "$r/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
chmod 755 "$r/usr/sbin/policy-rc.d"
unshare -m --propagation private sh -eu -c '
	r=$1; shift
	mount -t proc proc "$r/proc"
	chroot "$r" apt-get -q update
	chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -q -y \
		--no-install-recommends "$@"
	chroot "$r" apt-get clean
	umount "$r/proc"' sh "$r" $extra >"$tmp/apt.log" 2>&1 ||
	{ tail -n 20 "$tmp/apt.log" >&2; die "apt-get install $extra failed"; }
rm -rf "$r/var/lib/apt/lists/"* "$r/usr/sbin/policy-rc.d" "$r/etc/resolv.conf"
log "apt-get install $extra done ($(($(date +%s) - start)) s)"
umoci repack --image "$tmp/oci:pg" \
	--history.created_by "apt-get install --no-install-recommends $extra" "$tmp/bundle"
umoci config --image "$tmp/oci:pg" --config.cmd /bin/sh \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unpacked=$(du -sb "$r" | cut -f1)
rm -rf "$tmp/bundle"
umoci gc --layout "$tmp/oci"
skopeo copy -q "oci:$tmp/oci:pg" "oci-archive:$tmp/pg-gzip.tar:bench/pg:latest"
skopeo copy -q --dest-compress-format zstd "oci:$tmp/oci:pg" "oci:$tmp/oci-zstd:pg"
skopeo copy -q "oci:$tmp/oci-zstd:pg" "oci-archive:$tmp/pg-zstd.tar:bench/pg:latest"
log "archives done ($(($(date +%s) - start)) s)"

# ---- bench/busybox: one layer ----------------------------------------------
umoci init --layout "$tmp/busybox"
umoci new --image "$tmp/busybox:latest"
umoci unpack --image "$tmp/busybox:latest" "$tmp/bb" >/dev/null
b=$tmp/bb/rootfs
mkdir -p "$b/bin" "$b/etc" "$b/tmp" "$b/root" "$b/proc" "$b/sys" "$b/dev"
chmod 1777 "$b/tmp"
cp /bin/busybox "$b/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$b/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$b/etc/passwd"
echo 'root:x:0:' >"$b/etc/group"
umoci repack --image "$tmp/busybox:latest" "$tmp/bb"
umoci config --image "$tmp/busybox:latest" --config.cmd sh --config.env PATH=/bin
rm -rf "$tmp/bb"
umoci gc --layout "$tmp/busybox"
skopeo copy -q "oci:$tmp/busybox:latest" "oci-archive:$tmp/busybox.tar:bench/busybox:latest"

# ---- info ------------------------------------------------------------------
layers() { # LAYOUT: "count bytes" of the manifest's layers
	python3 - "$1" <<'EOF'
import json, sys, os
d = sys.argv[1]
def blob(dg): return os.path.join(d, "blobs", *dg.split(":"))
m = json.load(open(os.path.join(d, "index.json")))["manifests"][0]
m = json.load(open(blob(m["digest"])))
print(len(m["layers"]), sum(l["size"] for l in m["layers"]))
EOF
}
{
	echo "unpacked_bytes=$unpacked"
	echo "packages=$extra"
	echo "suite=$suite"
	set -- $(layers "$tmp/oci"); echo "gzip_layers=$1"; echo "gzip_bytes=$2"
	set -- $(layers "$tmp/oci-zstd"); echo "zstd_layers=$1"; echo "zstd_bytes=$2"
	echo "build_seconds=$(($(date +%s) - start))"
} >"$tmp/info"
rm -f "$tmp/debootstrap.log" "$tmp/apt.log"
mv "$tmp" "$out"
trap - EXIT
log "done in $(($(date +%s) - start)) s"
echo "$out"
