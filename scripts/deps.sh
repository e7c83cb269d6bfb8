#!/bin/sh
# Build BearSSL, zstd (decompression only) and zlib as static libraries for musl,
# from Debian's source packages. Debian's own .a files are built against glibc
# (fortify: __memcpy_chk...) and must never be linked into the musl binary.
#
# Usage: scripts/deps.sh DEPS_DIR fetch   fetch the sources into DEPS_DIR/src
#        scripts/deps.sh DEPS_DIR ARCH    build for ARCH (native, aarch64, armhf,
#                                         mipsel) into DEPS_DIR/ARCH/{lib,include,kinclude}
#
# Output per ARCH:
#   lib/libbearssl.a   sha256, TLS 1.2 client, X.509
#   lib/libzstd.a      decompression only, minified but for the sequence decoder
#                      (small, ~1.4x slower than fast without checksums)
#   lib/libzstd-fast.a decompression only, full speed (about 115 KB larger)
#   lib/libz.a         zlib (minirun uses inflate and crc32), tables built at run time
#   include/           their headers (use with -isystem)
#   kinclude/          symlinks to the kernel UAPI headers, which musl lacks
#                      (use with -idirafter)
#
# Idempotent and quick when done: DEPS_DIR/ARCH is a symlink to ARCH-<hash of
# this script>, switched atomically once a build is complete, so a change of
# recipe rebuilds everything and readers never see a half-built folder.
# Concurrent runs (make -j, several checkouts sharing a cache) are serialised
# with flock. Needs: dpkg-dev (apt-get source), a C compiler for ARCH, root the
# first time if no deb-src entry exists yet.
set -eu
DEPS=$1
ARCH=${2:-native}
unset MAKEFLAGS MAKEOVERRIDES MFLAGS || true
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
SRC=$DEPS/src
RECIPE=$(sha256sum "$0" | cut -c1-16)

# Sources: Debian's source packages, fetched once. The deb-src entry is derived
# from the machine's own sources so no mirror name is written into the repository.
have_deb_src() {
	grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ ||
		grep -rqs '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/
}
add_deb_src() {
	[ "$(id -u)" = 0 ] || { echo "deps: no deb-src entry in apt's sources; run scripts/setup.sh as root" >&2; exit 2; }
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			> /etc/apt/sources.list.d/minirun-deb-src.sources
	else
		sed -n 's/^deb \(.*debian.*\)/deb-src \1/p' /etc/apt/sources.list \
			> /etc/apt/sources.list.d/minirun-deb-src.list
	fi
	# A third-party repository that fails must not stop us: apt-get source
	# below says clearly if Debian's own sources are missing.
	apt-get update -qq || true
}
# The upstream release each recipe below is written for, and the sha256 of its
# upstream tarball (*.orig.tar.*) as Debian ships it: facts measured once
# (2026-12-07). Debian's revision of it may change (a security update); the
# upstream code may not without someone reading it and changing these lines.
PIN_bearssl="0.6+dfsg.1 102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004"
PIN_libzstd="1.5.4+dfsg2 8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c19953"
PIN_zlib="1.2.13.dfsg 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"

# Every source version apt knows for a package, newest first.
src_versions() {
	apt-cache showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -u | sort_versions
}
sort_versions() { # newest first, by dpkg's ordering (a handful of versions)
	set --
	while read -r v; do set -- "$@" "$v"; done
	for v in "$@"; do
		n=0
		for w in "$@"; do dpkg --compare-versions "$w" gt "$v" && n=$((n + 1)); done
		echo "$n $v"
	done | sort -n | cut -d' ' -f2-
}
# upstream part of a Debian version: no epoch, no Debian revision.
upstream_of() { echo "$1" | sed 's/^[0-9]*://; s/-[^-]*$//'; }

# fetch_one PKG: the newest source version of PKG that downloads and whose
# upstream tarball has the pinned checksum, unpacked with Debian's patches
# applied (dpkg-source -x, as apt-get source does) into $SRC/PKG; the version
# taken is written to $SRC/PKG.version.
# Fails with one message listing every version tried and why each failed.
fetch_one() {
	pkg=$1
	if [ -f "$SRC/$pkg.version" ]; then return 0; fi
	eval "pin=\$PIN_$pkg"
	pin_up=${pin% *} pin_sum=${pin#* }
	versions=$(src_versions "$pkg")
	if [ -z "$versions" ]; then
		have_deb_src || add_deb_src
		versions=$(src_versions "$pkg")
	fi
	tried=""
	for v in $versions; do
		up=$(upstream_of "$v")
		if [ "$up" != "$pin_up" ]; then
			tried="$tried
  $pkg $v: upstream $up is not the pinned $pin_up"
			continue
		fi
		dl=$(mktemp -d "$SRC/.dl-$pkg.XXXXXX")
		log=$dl/apt.log
		ok=0
		for attempt in 1 2 3; do
			if (cd "$dl" && apt-get source --download-only -q "$pkg=$v") >"$log" 2>&1; then
				ok=1; break
			fi
			# apt says why under its first "Err:N ..." line, indented (the
			# server's answer, or "Could not connect..."). A 404 will not
			# heal; anything else (a reset, a timeout) may.
			why=$(sed -n '/^Err:/ { n; s/^ *//; s/ *\[IP: [^]]*\]$//; p; q; }' "$log")
			case $why in 404\ *|410\ *) break ;; esac
			sleep "$attempt"
		done
		if [ $ok = 0 ]; then
			[ -n "$why" ] || why=$(grep '^E: ' "$log" | grep -v 'Failed to fetch some archives' | tail -n1)
			[ -n "$why" ] || why=$(tail -n1 "$log")
			[ $attempt = 1 ] || why="$why, $attempt attempts"
			tried="$tried
  $pkg $v: download failed ($why)"
			rm -rf "$dl"
			continue
		fi
		orig=$(ls "$dl/${pkg}_${up}".orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n1)
		sum=$( [ -n "$orig" ] && sha256sum "$orig" | cut -d' ' -f1)
		if [ "$sum" != "$pin_sum" ]; then
			tried="$tried
  $pkg $v: upstream tarball ${orig##*/} has sha256 ${sum:-(no tarball)}, pinned $pin_sum"
			rm -rf "$dl"
			continue
		fi
		rm -rf "$SRC/$pkg"
		if ! dpkg-source -q -x "$dl"/*.dsc "$SRC/$pkg" >"$log" 2>&1; then
			tried="$tried
  $pkg $v: dpkg-source -x failed: $(tail -n1 "$log")"
			rm -rf "$dl" "$SRC/$pkg"
			continue
		fi
		rm -rf "$dl"
		echo "$v" >"$SRC/$pkg.version"
		echo "deps: $pkg $v (upstream $up, sha256 checked, Debian's patches applied)${tried:+; passed over:}$tried" >&2
		return 0
	done
	echo "deps: no usable source of $pkg (wanted upstream $pin_up, sha256 $pin_sum); tried:${tried:-
  (apt knows no source version of $pkg)}" >&2
	exit 1
}
fetch() {
	[ -f "$SRC/.fetched" ] && return 0
	mkdir -p "$SRC"
	command -v dpkg-source >/dev/null || { echo "deps: dpkg-source missing (apt-get install dpkg-dev)" >&2; exit 2; }
	fetch_one bearssl
	fetch_one libzstd
	fetch_one zlib
	touch "$SRC/.fetched"
}

if [ "$ARCH" = fetch ]; then
	exec 9>"$DEPS/.lock-src"
	flock 9
	fetch
	exit 0
fi

case $ARCH in
native)  CC=musl-gcc; AR=ar; KHDR=/usr/include; KASM=/usr/include/$(gcc -dumpmachine)/asm ;;
aarch64) CC=aarch64-linux-musl-gcc; AR=aarch64-linux-gnu-ar; KHDR=/usr/aarch64-linux-gnu/include ;;
armhf)   CC=arm-linux-musleabihf-gcc; AR=arm-linux-gnueabihf-ar; KHDR=/usr/arm-linux-gnueabihf/include ;;
mipsel)  CC=mipsel-linux-musl-gcc; AR=mipsel-linux-gnu-ar; KHDR=/usr/mipsel-linux-gnu/include ;;
*) echo "deps: unknown ARCH $ARCH (native, aarch64, armhf, mipsel)" >&2; exit 2 ;;
esac
KASM=${KASM:-$KHDR/asm}
NAME=$ARCH-$RECIPE
OUT=$DEPS/$NAME

exec 9>"$DEPS/.lock-$ARCH"
flock 9
if [ "$(readlink "$DEPS/$ARCH" 2>/dev/null)" = "$NAME" ] && [ -f "$OUT/.done" ]; then
	exit 0
fi
command -v "$CC" >/dev/null || { echo "deps: $CC not found (run scripts/setup.sh)" >&2; exit 2; }
[ -d "$KHDR/linux" ] && [ -d "$KASM" ] || { echo "deps: kernel headers for $ARCH missing in $KHDR (run scripts/setup.sh)" >&2; exit 2; }
( exec 8>"$DEPS/.lock-src"; flock 8; fetch )
BEARSSL=$SRC/bearssl ZSTD=$SRC/libzstd ZLIB=$SRC/zlib

echo "deps: building bearssl $(cat "$SRC/bearssl.version"), libzstd $(cat "$SRC/libzstd.version")," \
	"zlib $(cat "$SRC/zlib.version") for $ARCH into $OUT" >&2
rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/include" "$OUT/kinclude" "$OUT/work"
ln -s "$KHDR/linux" "$OUT/kinclude/linux"
ln -s "$KHDR/asm-generic" "$OUT/kinclude/asm-generic"
ln -s "$KASM" "$OUT/kinclude/asm"

# Size first: every function and object in its own section so that the final
# link's --gc-sections keeps only what minirun calls; no unwind tables (C only,
# nothing unwinds through these libraries); no PIE (the binary is static).
LIBCFLAGS='-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-pie'
J=$(nproc 2>/dev/null || echo 2)

cp -r "$BEARSSL" "$OUT/work/bearssl"
make -C "$OUT/work/bearssl" -j"$J" CC="$CC" AR="$AR" LD="$CC" LDDLL="$CC" \
	CFLAGS="-W -Wall $LIBCFLAGS" lib >/dev/null
cp "$OUT/work/bearssl/build/libbearssl.a" "$OUT/lib/"
cp "$OUT/work/bearssl/inc/"*.h "$OUT/include/"

# zstd twice, decompression only. Small: MINIFY (one Huffman decoder, short
# sequences only, no inlining) but with its error strings kept, so that
# "Corrupted block detected" reaches the user. Fast: the normal decoder at -O2.
# CFLAGS goes through the environment: on the command line it would also drop
# the -D options that zstd's makefile appends to it for MINIFY.
zstd_build() { # variant cflags make-args...
	v=$1 cflags=$2; shift 2
	cp -r "$ZSTD" "$OUT/work/zstd-$v"
	CFLAGS=$cflags make -C "$OUT/work/zstd-$v/lib" -j"$J" CC="$CC" AR="$AR" \
		ZSTD_LIB_COMPRESSION=0 ZSTD_LIB_DICTBUILDER=0 ZSTD_LIB_DEPRECATED=0 \
		ZSTD_LEGACY_SUPPORT=0 "$@" libzstd.a >/dev/null
}
zstd_build small "$LIBCFLAGS" ZSTD_LIB_MINIFY=1 ZSTD_STRIP_ERROR_STRINGS=0
# In the small one, the sequence decoder (zstd_decompress_block.c, where
# decompressing spends its time) is rebuilt at -Os with zstd's own forced
# inlining, which MINIFY turns off (ZSTD_NO_INLINE) along with -Oz; the other
# defines are MINIFY's. Measured on x86_64 (a 364 MB layer, checksum off):
# 0.93 s -> 0.60 s for 3.2 KB more in minirun; the whole decoder at -O2 gave
# 0.54 s for 6.8 KB, the fast library 0.43 s for 78 KB.
(cd "$OUT/work/zstd-small/lib" &&
	$CC $LIBCFLAGS -fno-stack-protector -fomit-frame-pointer -fno-ident -DDYNAMIC_BMI2=0 \
		-DNDEBUG -DHUF_FORCE_DECOMPRESS_X1 -DZSTD_FORCE_DECOMPRESS_SEQUENCES_SHORT \
		-DXXH_NAMESPACE=ZSTD_ -DDEBUGLEVEL=0 -DZSTD_LEGACY_SUPPORT=0 \
		-c decompress/zstd_decompress_block.c -o zstd_decompress_block.o &&
	$AR r libzstd.a zstd_decompress_block.o)
zstd_build fast "$(echo "$LIBCFLAGS" | sed 's/-Os/-O2/')" ZSTD_LIB_MINIFY=0
cp "$OUT/work/zstd-small/lib/libzstd.a" "$OUT/lib/libzstd.a"
cp "$OUT/work/zstd-fast/lib/libzstd.a" "$OUT/lib/libzstd-fast.a"
cp "$OUT/work/zstd-small/lib/zstd.h" "$OUT/work/zstd-small/lib/zstd_errors.h" "$OUT/include/"

# zlib: CRC-32 and fixed Huffman tables computed at first use instead of
# stored, and the byte-wise CRC-32 instead of the "braided" one (Z_TESTW empty
# leaves W undefined): 10.7 KB less code and tables for 11.6 KB of .bss, used
# only while a gzip stream is read; inflating 150 MB took the same time
# (1.14 s against 1.20 s, inflate dominates).
cp -r "$ZLIB" "$OUT/work/zlib"
(cd "$OUT/work/zlib" && CC="$CC" AR="$AR" \
	CFLAGS="$LIBCFLAGS -DZ_TESTW -DDYNAMIC_CRC_TABLE -DBUILDFIXED" ./configure --static >/dev/null &&
	make -j"$J" libz.a >/dev/null)
cp "$OUT/work/zlib/libz.a" "$OUT/lib/"
cp "$OUT/work/zlib/zlib.h" "$OUT/work/zlib/zconf.h" "$OUT/include/"

rm -rf "$OUT/work"
touch "$OUT/.done"
# Switch DEPS_DIR/ARCH to the new build atomically, then drop older builds.
ln -sfn "$NAME" "$DEPS/.$ARCH.new"
if [ -d "$DEPS/$ARCH" ] && [ ! -L "$DEPS/$ARCH" ]; then
	mv "$DEPS/$ARCH" "$DEPS/$ARCH-old"	# a folder from an older layout
fi
mv -T "$DEPS/.$ARCH.new" "$DEPS/$ARCH"
for old in "$DEPS/$ARCH"-*; do
	[ "$old" = "$OUT" ] || rm -rf "$old"
done
echo "deps: $DEPS/$ARCH ready" >&2
