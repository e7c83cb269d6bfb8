#!/bin/sh
# scripts/deps.sh's source fetch against a fake apt: fake `apt-cache showsrc`
# and `apt-get source --download-only` first on PATH serve small source
# packages made here with the real dpkg-source (an upstream tarball and a
# Debian patch each); deps.sh's own dpkg-source -x unpacks them. Its pins are
# replaced (in a copy) by the checksums of these tarballs; the logic is the
# real one. No network, no real .deps: everything is under $T.
#  a: the newest version 404s (taken: the older one; no retry of a 404), a
#     transient failure is retried, a version of another upstream release is
#     passed over; Debian's patch of the version taken is applied.
#  b: an upstream tarball whose sha256 differs from the pin is refused with an
#     error naming it, and never unpacked, even when an older version is good.
#  c: nothing usable: one message listing every version tried and why.
. "$(dirname "$0")/lib.sh"
for t in dpkg-source dpkg-query sha256sum flock tar gzip; do
	command -v $t >/dev/null || skip "$t missing (scripts/setup.sh installs dpkg-dev)"
done
FAKE=$T/fake
mkdir -p "$FAKE/bin" "$FAKE/pool"

# ---- fake apt ----
# $FAKE/versions/PKG: the versions apt "knows"; $FAKE/pool/PKG_VERSION/: the
# files of one; a file "404" there: the mirror does not serve it; a file
# "flaky" holding N: the first N downloads fail with a timeout.
cat >"$FAKE/bin/apt-cache" <<'EOF'
#!/bin/sh
[ "$1" = showsrc ] || { echo "fake apt-cache: $*: not faked" >&2; exit 100; }
[ -f "$FAKE/versions/$2" ] || exit 0
while read -r v; do printf 'Package: %s\nVersion: %s\n\n' "$2" "$v"; done <"$FAKE/versions/$2"
EOF
cat >"$FAKE/bin/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >>"$FAKE/calls"
[ "$1 $2" = "source --download-only" ] || { echo "fake apt-get: $*: not faked" >&2; exit 100; }
spec=$4 pkg=${4%%=*} v=${4#*=}
d=$FAKE/pool/${pkg}_$v
echo "Reading package lists..."
[ -d "$d" ] || { echo "E: Can not find version '$v' of package '$pkg'"; exit 100; }
if [ -f "$d/404" ]; then
	printf 'Err:1 http://mirror.invalid/debian-security bookworm-security/main %s %s (dsc)\n  404  Not Found [IP: 192.0.2.1 80]\n' "$pkg" "$v"
	echo "E: Failed to fetch http://mirror.invalid/debian-security/pool/${pkg}_$v.dsc  404  Not Found [IP: 192.0.2.1 80]"
	echo "E: Failed to fetch some archives."
	exit 100
fi
if [ -f "$d/flaky" ] && [ "$(cat "$d/flaky")" -gt 0 ]; then
	echo $(($(cat "$d/flaky") - 1)) >"$d/flaky"
	printf 'Err:1 http://mirror.invalid/debian bookworm/main %s %s (dsc)\n  Could not connect to mirror.invalid:80 (192.0.2.1), connection timed out\n' "$pkg" "$v"
	echo "E: Failed to fetch some archives."
	exit 100
fi
cp "$d"/*.dsc "$d"/*.tar.* .
echo "Fetched 1 kB in 0s"
EOF
chmod 755 "$FAKE/bin/apt-cache" "$FAKE/bin/apt-get"
export FAKE
PATH=$FAKE/bin:$PATH

# mkorig PKG UPSTREAM [CONTENT]: an upstream tarball in $FAKE/orig/
mkorig() {
	o=$FAKE/orig/$1-$2
	rm -rf "$o" && mkdir -p "$o/$1-$2"
	printf 'upstream %s %s%s\n' "$1" "$2" "${3:-}" >"$o/$1-$2/README"
	(cd "$o" && tar --sort=name --mtime=@0 --owner=0 --group=0 -cf - "$1-$2" | gzip -n >"$1_$2.orig.tar.gz")
}
# mksrc PKG VERSION [ORIG-FOLDER]: a 3.0 (quilt) source package whose Debian
# patch adds "patched by Debian VERSION" to README; into $FAKE/pool/PKG_VERSION
mksrc() {
	pkg=$1 v=$2 up=$(echo "$2" | sed 's/^[0-9]*://; s/-[^-]*$//')
	o=${3:-$FAKE/orig/$pkg-$up}
	b=$FAKE/build/${pkg}_$v
	rm -rf "$b" && mkdir -p "$b"
	cp "$o/${pkg}_$up.orig.tar.gz" "$b/"
	(cd "$b" && tar -xzf "${pkg}_$up.orig.tar.gz")
	mkdir -p "$b/$pkg-$up/debian/source" "$b/$pkg-$up/debian/patches"
	echo "3.0 (quilt)" >"$b/$pkg-$up/debian/source/format"
	printf 'Source: %s\nMaintainer: Test <test@example.invalid>\nStandards-Version: 4.6.2\n\nPackage: %s\nArchitecture: any\nDescription: test\n test\n' \
		"$pkg" "$pkg" >"$b/$pkg-$up/debian/control"
	printf '%s (%s) bookworm; urgency=medium\n\n  * test\n\n -- Test <test@example.invalid>  Mon, 07 Dec 2026 12:00:00 +0000\n' \
		"$pkg" "$v" >"$b/$pkg-$up/debian/changelog"
	printf -- '--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n %s\n+patched by Debian %s\n' \
		"$(cat "$b/$pkg-$up/README")" "$v" >"$b/$pkg-$up/debian/patches/debian.patch"
	echo debian.patch >"$b/$pkg-$up/debian/patches/series"
	(cd "$b" && dpkg-source -q -b "$pkg-$up") >"$b.log" 2>&1 || { cat "$b.log"; bad "dpkg-source -b $pkg $v"; finish; }
	mkdir -p "$FAKE/pool/${pkg}_$v"
	cp "$b"/*.dsc "$b"/*.tar.* "$FAKE/pool/${pkg}_$v/"
}
versions() { pkg=$1; shift; mkdir -p "$FAKE/versions"; printf '%s\n' "$@" >"$FAKE/versions/$pkg"; }
mark() { echo "${3:-}" >"$FAKE/pool/${1}_$2/$4"; } # mark PKG VERSION VALUE FILE

mkorig bearssl 0.6+dfsg.1
mkorig libzstd 1.5.4+dfsg2
mkorig zlib 1.2.13.dfsg
mkorig zlib 1.3.dfsg
# deps.sh with the pins of these tarballs (the real pins are facts about
# Debian's tarballs; the logic around them is what is tested)
sum() { sha256sum "$FAKE/orig/$1-$2/$1_$2.orig.tar.gz" | cut -d' ' -f1; }
PIN_B=$(sum bearssl 0.6+dfsg.1) PIN_Z=$(sum libzstd 1.5.4+dfsg2) PIN_L=$(sum zlib 1.2.13.dfsg)
sed -e "s|^PIN_bearssl=.*|PIN_bearssl=\"0.6+dfsg.1 $PIN_B\"|" \
	-e "s|^PIN_libzstd=.*|PIN_libzstd=\"1.5.4+dfsg2 $PIN_Z\"|" \
	-e "s|^PIN_zlib=.*|PIN_zlib=\"1.2.13.dfsg $PIN_L\"|" \
	"$REPO/scripts/deps.sh" >"$T/deps.sh"
chmod 755 "$T/deps.sh"
check "the copy of deps.sh carries the test pins (its PIN_ lines were found)" \
	test "$(grep -c "^PIN_.*\($PIN_B\|$PIN_Z\|$PIN_L\)\"$" "$T/deps.sh")" = 3

# ---- a: the newest 404s, a transient failure, another upstream release ----
mksrc bearssl 0.6+dfsg.1-4+deb12u1; mark bearssl 0.6+dfsg.1-4+deb12u1 "" 404
mksrc bearssl 0.6+dfsg.1-4
mksrc bearssl 0.6+dfsg.1-3
versions bearssl 0.6+dfsg.1-3 0.6+dfsg.1-4+deb12u1 0.6+dfsg.1-4	# apt's order is no order
mksrc libzstd 1.5.4+dfsg2-5; mark libzstd 1.5.4+dfsg2-5 2 flaky
mksrc libzstd 1.5.4+dfsg2-4
versions libzstd 1.5.4+dfsg2-4 1.5.4+dfsg2-5
mksrc zlib 1:1.3.dfsg-1
mksrc zlib 1:1.2.13.dfsg-1
versions zlib 1:1.2.13.dfsg-1 1:1.3.dfsg-1
D=$T/deps-a
: >"$FAKE/calls"
"$T/deps.sh" "$D" fetch >"$T/a.out" 2>&1
echo $? >"$T/a.rc"
sed 's/^/  a| /' "$T/a.out"
check "a: fetch succeeds" test "$(cat "$T/a.rc")" = 0
check "a: bearssl: the older version was taken after the newest 404'd" \
	test "$(cat "$D/src/bearssl.version")" = 0.6+dfsg.1-4
check "a: bearssl: Debian's patch of that version is applied" \
	grep -qx "patched by Debian 0.6+dfsg.1-4" "$D/src/bearssl/README"
check "a: bearssl: the 404 is said, with the version" \
	grep -q "bearssl 0.6+dfsg.1-4+deb12u1: download failed (404  Not Found)" "$T/a.out"
check "a: a 404 is not retried" test "$(grep -c 'bearssl=0.6+dfsg.1-4+deb12u1' "$FAKE/calls")" = 1
check "a: libzstd: a transient failure is retried and the newest version taken" \
	test "$(cat "$D/src/libzstd.version")" = 1.5.4+dfsg2-5
check "a: libzstd: three attempts" test "$(grep -c 'libzstd=1.5.4+dfsg2-5' "$FAKE/calls")" = 3
check "a: libzstd: the older version was never asked for" sh -c "! grep -q 'libzstd=1.5.4+dfsg2-4' '$FAKE/calls'"
check "a: zlib: another upstream release is passed over, with the reason" \
	grep -q "zlib 1:1.3.dfsg-1: upstream 1.3.dfsg is not the pinned 1.2.13.dfsg" "$T/a.out"
check "a: zlib: the pinned release is taken (epoch and all)" \
	test "$(cat "$D/src/zlib.version")" = 1:1.2.13.dfsg-1
check "a: zlib: its patch is applied" grep -qx "patched by Debian 1:1.2.13.dfsg-1" "$D/src/zlib/README"
check "a: a second fetch downloads nothing" sh -c ": >'$FAKE/calls' && '$T/deps.sh' '$D' fetch && ! [ -s '$FAKE/calls' ]"

# ---- b: an upstream tarball with another checksum ----
rm -rf "$FAKE/pool" "$FAKE/versions"
mkorig bearssl 0.6+dfsg.1 " (tampered)"
mv "$FAKE/orig/bearssl-0.6+dfsg.1" "$FAKE/orig/bearssl-tampered"
mksrc bearssl 0.6+dfsg.1-5 "$FAKE/orig/bearssl-tampered"
mkorig bearssl 0.6+dfsg.1
mksrc bearssl 0.6+dfsg.1-4
versions bearssl 0.6+dfsg.1-5 0.6+dfsg.1-4
mksrc libzstd 1.5.4+dfsg2-5; versions libzstd 1.5.4+dfsg2-5
mksrc zlib 1:1.2.13.dfsg-1; versions zlib 1:1.2.13.dfsg-1
bad_sum=$(sha256sum "$FAKE/orig/bearssl-tampered/bearssl_0.6+dfsg.1.orig.tar.gz" | cut -d' ' -f1)
D=$T/deps-b1
"$T/deps.sh" "$D" fetch >"$T/b1.out" 2>&1
echo $? >"$T/b1.rc"
sed 's/^/  b1| /' "$T/b1.out"
check "b1: the tarball of the newest version is refused, named with its checksum" \
	grep -q "bearssl 0.6+dfsg.1-5: upstream tarball bearssl_0.6+dfsg.1.orig.tar.gz has sha256 $bad_sum, pinned $PIN_B" "$T/b1.out"
check "b1: the older version with the pinned tarball is taken" \
	test "$(cat "$D/src/bearssl.version" 2>/dev/null)" = 0.6+dfsg.1-4
check "b1: nothing of the refused tarball was unpacked" sh -c "! grep -rq tampered '$D/src'"
# only the tampered one: an error, nothing unpacked, nothing else taken
versions bearssl 0.6+dfsg.1-5
D=$T/deps-b2
"$T/deps.sh" "$D" fetch >"$T/b2.out" 2>&1
echo $? >"$T/b2.rc"
sed 's/^/  b2| /' "$T/b2.out"
check "b2: fetch fails" test "$(cat "$T/b2.rc")" != 0
check "b2: the error names the tarball, its checksum and the pin" \
	grep -q "bearssl 0.6+dfsg.1-5: upstream tarball bearssl_0.6+dfsg.1.orig.tar.gz has sha256 $bad_sum, pinned" "$T/b2.out"
check "b2: no bearssl source, version or fetched mark was left" \
	sh -c "! [ -e '$D/src/bearssl' ] && ! [ -e '$D/src/bearssl.version' ] && ! [ -e '$D/src/.fetched' ]"
check "b2: no download folder was left" sh -c "! ls -d '$D'/src/.dl-* 2>/dev/null"

# ---- c: nothing usable ----
rm -rf "$FAKE/pool" "$FAKE/versions"
mkorig libzstd 1.5.4+dfsg2 " (other)"
mksrc libzstd 1.5.4+dfsg2-5+deb12u1; mark libzstd 1.5.4+dfsg2-5+deb12u1 "" 404
mksrc libzstd 1.5.4+dfsg2-5; mark libzstd 1.5.4+dfsg2-5 9 flaky
mksrc libzstd 1.5.4+dfsg2-4
mkorig libzstd 1.5.5+dfsg2
mksrc libzstd 1.5.5+dfsg2-1
versions libzstd 1.5.4+dfsg2-4 1.5.4+dfsg2-5 1.5.4+dfsg2-5+deb12u1 1.5.5+dfsg2-1
mksrc bearssl 0.6+dfsg.1-4; versions bearssl 0.6+dfsg.1-4
D=$T/deps-c
: >"$FAKE/calls"
"$T/deps.sh" "$D" fetch >"$T/c.out" 2>&1
echo $? >"$T/c.rc"
sed 's/^/  c| /' "$T/c.out"
check "c: fetch fails" test "$(cat "$T/c.rc")" != 0
check "c: one message for libzstd" test "$(grep -c '^deps: no usable source of libzstd' "$T/c.out")" = 1
check "c: the message names what was wanted" \
	grep -q "^deps: no usable source of libzstd (wanted upstream 1.5.4+dfsg2, sha256 $PIN_Z); tried:" "$T/c.out"
check "c: every version is listed, newest first, each with why" sh -c "sed -n '/^deps: no usable source of libzstd/,\$p' '$T/c.out' | tail -n +2 | cut -d: -f1 >'$T/c.list' &&
	printf '%s\n' '  libzstd 1.5.5+dfsg2-1' '  libzstd 1.5.4+dfsg2-5+deb12u1' '  libzstd 1.5.4+dfsg2-5' '  libzstd 1.5.4+dfsg2-4' | diff - '$T/c.list'"
check "c: 1.5.5: another upstream release" grep -q "libzstd 1.5.5+dfsg2-1: upstream 1.5.5+dfsg2 is not the pinned 1.5.4+dfsg2" "$T/c.out"
check "c: +deb12u1: 404" grep -q "libzstd 1.5.4+dfsg2-5+deb12u1: download failed (404  Not Found)" "$T/c.out"
check "c: -5: still failing after its attempts" grep -q "libzstd 1.5.4+dfsg2-5: download failed (Could not connect to mirror.invalid:80 (192.0.2.1), connection timed out, 3 attempts)" "$T/c.out"
check "c: -4: checksum" grep -q "libzstd 1.5.4+dfsg2-4: upstream tarball libzstd_1.5.4+dfsg2.orig.tar.gz has sha256 .*, pinned" "$T/c.out"
check "c: bearssl (before it) was fetched, zlib (after) not tried" \
	sh -c "[ -f '$D/src/bearssl.version' ] && ! grep -q zlib '$FAKE/calls'"
finish
