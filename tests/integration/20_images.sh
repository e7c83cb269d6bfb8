#!/bin/sh
# Images: every fixture made by real producers (umoci, skopeo, GNU tar) loads,
# and its flattened tree (`image unpack`) and the overlay mount of its stored
# layers both equal the rootfs `umoci unpack` made of the same image.
. "$(dirname "$0")/lib.sh"
fixtures
command -v python3 >/dev/null || skip "python3 missing"
TREECMP="python3 $REPO/tests/treecmp.py"

i=0
while IFS='	' read -r file kind name ref platform; do
	case $file in ''|'#'*) continue ;; esac
	i=$((i + 1))
	store=$T/s$i
	plat=""
	[ "$platform" != "-" ] && plat="--platform $platform"
	if [ "$kind" = oci-dir ]; then
		src="--dir $FIX/$file"
	else
		src="-i $FIX/$file"
	fi
	if ! MINIRUN_ROOT=$store mr load $plat $src >"$T/load.out" 2>&1; then
		bad "load $file ($kind): $(tail -1 "$T/load.out")"
		continue
	fi
	grep -q '^Loaded image' "$T/load.out" && ok "load $file prints Loaded image" ||
		bad "load $file prints Loaded image: $(cat "$T/load.out")"
	id=$(MINIRUN_ROOT=$store mr images -q --no-trunc | head -1)
	[ -n "$id" ] || { bad "images lists $file"; continue; }
	MINIRUN_ROOT=$store mr image unpack "$id" "$T/u$i" >"$T/unpack.out" 2>&1 ||
		{ bad "unpack $file: $(cat "$T/unpack.out")"; continue; }
	check "unpack $file equals umoci's $ref" $TREECMP --skip-root "$FIX/$ref/rootfs" "$T/u$i"
	# The stored layers as overlay lowerdirs show the same tree.
	lower=$(MINIRUN_ROOT=$store mr image inspect "$id" | sed -n 's/.*"LowerDir": "\(.*\)".*/\1/p')
	mkdir -p "$T/m$i" "$T/empty"
	if mount -t overlay overlay -o "ro,lowerdir=$lower:$T/empty" "$T/m$i" 2>"$T/mnt.out"; then
		check "overlay of $file equals umoci's $ref" $TREECMP --skip-root "$FIX/$ref/rootfs" "$T/m$i"
		umount "$T/m$i"
	else
		echo "  (overlay mount not possible here: $(cat "$T/mnt.out"))"
	fi
	rm -rf "$T/u$i"
done <"$FIX/fixtures.list"
[ "$i" -gt 10 ] && ok "$i fixtures tried" || bad "only $i fixtures in fixtures.list"

# One store, several images: shared layers are stored once; tags and rmi.
mr load -i "$FIX/busybox-docker.tar" >"$T/load1.out" 2>&1 && ok "load busybox docker-archive" || bad "load busybox"
check "first load: Loading layer for its one layer" sh -c "[ \$(grep -c '^Loading layer [0-9a-f]\{12\}: ' '$T/load1.out') = 1 ]"
mr load -i "$FIX/busybox-docker.tar" >"$T/load2.out" 2>&1 && ok "load again is fine" || bad "load again"
cat "$T/load2.out"
check "load again: no Loading layer, the layer Already exists" sh -c \
	"! grep -q 'Loading layer' '$T/load2.out' && grep -qx '[0-9a-f]\{12\}: Already exists' '$T/load2.out'"
check "load again: the same id as the first load named" sh -c \
	"[ \"\$(sed -n 's/^Loading layer \\([0-9a-f]*\\):.*/\\1/p' '$T/load1.out')\" = \"\$(sed -n 's/: Already exists\$//p' '$T/load2.out')\" ]"
check "load again: Loaded image, no renaming (same image)" sh -c \
	"grep -qx 'Loaded image: busybox:latest' '$T/load2.out' && ! grep -q renaming '$T/load2.out'"
# layers:latest first names busybox's image: the load moves it, as Docker says
mr tag busybox:latest layers:latest
bbid=$(mr images -q --no-trunc busybox:latest)
mr load -i "$FIX/layers-oci.tar" >"$T/load3.out" 2>&1 && ok "load layers" || bad "load layers"
cat "$T/load3.out"
check "load layers: 5 layers loaded, busybox's 1 already there" sh -c \
	"[ \$(grep -c '^Loading layer ' '$T/load3.out') = 5 ] && [ \$(grep -c ': Already exists\$' '$T/load3.out') = 1 ]"
check "load layers: the tag moved, said as Docker" grep -qx \
	"The image layers:latest already exists, renaming the old one with ID $bbid to empty string" "$T/load3.out"
n=$(ls "$MINIRUN_ROOT/layers" | wc -l)
[ "$n" = 6 ] && ok "6 distinct layers stored (busybox's shared)" || bad "layers stored: $n (want 6)"
mr images >"$T/images.out"
head -1 "$T/images.out" | grep -q '^REPOSITORY *TAG *IMAGE ID *CREATED *SIZE$' && ok "images header" || bad "images header: $(head -1 "$T/images.out")"
grep -q '^busybox  *latest ' "$T/images.out" && ok "images lists busybox:latest" || bad "images: $(cat "$T/images.out")"
mr image inspect busybox >"$T/inspect.json" || bad "image inspect"
python3 - "$T/inspect.json" <<'PY' && ok "image inspect is Docker-shaped" || bad "image inspect shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 1
i = d[0]
assert i["Id"].startswith("sha256:") and len(i["Id"]) == 71
assert i["RepoTags"] == ["busybox:latest"], i["RepoTags"]
assert i["Config"]["Cmd"] == ["sh"], i["Config"]["Cmd"]
assert any(e.startswith("PATH=") for e in i["Config"]["Env"])
assert "80/tcp" in i["Config"]["ExposedPorts"]
assert "/data" in i["Config"]["Volumes"]
assert i["Os"] == "linux" and i["Architecture"] == "amd64"
assert i["RootFS"]["Type"] == "layers" and len(i["RootFS"]["Layers"]) == 1
assert i["Size"] > 500000
PY
mr tag busybox mine/box:1 && mr images | grep -q '^mine/box  *1 ' && ok "tag" || bad "tag"
mr rmi busybox:latest >"$T/rmi.out" 2>&1
grep -q '^Untagged: busybox:latest$' "$T/rmi.out" && ! grep -q Deleted "$T/rmi.out" &&
	ok "rmi of one tag only untags" || bad "rmi untag: $(cat "$T/rmi.out")"
mr rmi mine/box:1 >"$T/rmi.out" 2>&1
grep -q '^Deleted: sha256:' "$T/rmi.out" && ok "rmi of the last tag deletes" || bad "rmi delete: $(cat "$T/rmi.out")"
n=$(ls "$MINIRUN_ROOT/layers" | wc -l)
[ "$n" = 6 ] && ok "shared layer kept for the other image" || bad "layers after rmi: $n"
mr rmi layers:latest >/dev/null 2>&1
n=$(ls "$MINIRUN_ROOT/layers" | wc -l)
[ "$n" = 0 ] && ok "all layers gone after the last rmi" || bad "layers left: $n"
mr rmi nosuch >"$T/err" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q 'No such image: nosuch' "$T/err" && ok "rmi of a missing image" || bad "rmi missing: rc=$rc $(cat "$T/err")"

# Platforms: fixtures.list has a line per platform of the multi-platform index.
MINIRUN_ROOT=$T/p-s390 mr load --platform linux/s390x -i "$FIX/multi-oci.tar" >"$T/err" 2>&1; rc=$?
[ $rc = 1 ] && grep -q 'no image for platform linux/s390x' "$T/err" && ok "no image for an absent platform" || bad "absent platform: rc=$rc $(cat "$T/err")"

# Bad input: one clear line, exit 1 (Docker), store unchanged.
before=$(find "$MINIRUN_ROOT" | sort | md5sum)
mr load -i "$T/does-not-exist.tar" >"$T/err" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "open .*does-not-exist.tar: no such file or directory" "$T/err" && ok "load of a missing file: 1, Docker's message" || bad "missing file: rc=$rc $(cat "$T/err")"
head -c 3000 /bin/busybox >"$T/junk.tar"
mr load -i "$T/junk.tar" >"$T/err" 2>&1; rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && ok "load of junk: one line, 1 ($(cat "$T/err"))" || bad "junk: rc=$rc $(cat "$T/err")"
after=$(find "$MINIRUN_ROOT" | sort | md5sum)
[ "$before" = "$after" ] && ok "store unchanged by failed loads" || bad "store changed by failed loads"
finish
