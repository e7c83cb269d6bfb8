#!/bin/sh
# `cp` between the host and a container, both ways, running and stopped:
# files and folders, Docker's rules for a trailing "/" and "/.", a container
# path without a leading "/", `-` (a tar stream, checked with GNU tar), -a
# (owners kept) and -L (symlinks followed), writes through a named volume and
# a bind mount the way the container sees them, issue 5's story 3, errors
# (exit 125, nothing changed) and hostile symlinks and archives: nothing is
# ever read or written outside the container's root (a sentinel folder in $T
# stands for the host).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
R="--network none"
REF=$FIX/ref-busybox/rootfs
export T FIX R REF REPO

mkdir -p "$T/src/dir/sub" "$T/sentinel" "$T/bind" "$T/out"
echo hello >"$T/src/hello.txt"
echo deep >"$T/src/dir/sub/deep.txt"
echo top >"$T/src/dir/top.txt"
ln -s top.txt "$T/src/dir/link"
chown 1234:2345 "$T/src/hello.txt" "$T/src/dir/top.txt"
echo secret >"$T/sentinel/secret"
echo '<h1>hi</h1>' >"$T/src/index.html"

mr run -d $R --name web -v cpvol:/vol -v "$T/bind:/bnd" busybox sleep 300 >/dev/null
mr exec web sh -c "mkdir -p /usr/share/nginx/html /tmp/there /tmp/hd && ln -s / /target &&
	ln -s $T/sentinel /abs && ln -s ../../../../../../../../../..$T/sentinel /up &&
	ln -s /etc/passwd /tmp/pwlink && ln -s $T/sentinel /tmp/hd/link && echo mine > /tmp/hd/file && ln -s hd /tmp/hdlink &&
	echo owned > /tmp/owned && chown 1234:2345 /tmp/owned"

# ---- into a running container ----
check "file into an existing folder (dst ends with /)" sh -c '"$MINIRUN" cp "$T/src/hello.txt" web:/tmp/ &&
	[ "$("$MINIRUN" exec web cat /tmp/hello.txt)" = hello ]'
check "...owned by the container's root without -a" sh -c '[ "$("$MINIRUN" exec web stat -c %u:%g /tmp/hello.txt)" = 0:0 ]'
check "file to a new name" sh -c '"$MINIRUN" cp "$T/src/hello.txt" web:/tmp/renamed &&
	[ "$("$MINIRUN" exec web cat /tmp/renamed)" = hello ]'
check "-a keeps uid and gid" sh -c '"$MINIRUN" cp -a "$T/src/hello.txt" web:/tmp/kept &&
	[ "$("$MINIRUN" exec web stat -c %u:%g /tmp/kept)" = 1234:2345 ]'
check "a container path without a leading / is from the container's root" sh -c '
	"$MINIRUN" cp "$T/src/index.html" web:usr/share/nginx/html/index.html &&
	[ "$("$MINIRUN" exec web cat /usr/share/nginx/html/index.html)" = "<h1>hi</h1>" ]'
check "an existing file is overwritten" sh -c 'echo new >"$T/new" && "$MINIRUN" cp "$T/new" web:/tmp/renamed &&
	[ "$("$MINIRUN" exec web cat /tmp/renamed)" = new ]'
check "folder into an existing folder: dst/NAME" sh -c '"$MINIRUN" cp "$T/src/dir" web:/tmp/there &&
	[ "$("$MINIRUN" exec web cat /tmp/there/dir/sub/deep.txt)" = deep ] &&
	[ "$("$MINIRUN" exec web readlink /tmp/there/dir/link)" = top.txt ]'
check "folder to a missing path: created with the contents" sh -c '"$MINIRUN" cp "$T/src/dir" web:/tmp/newdir &&
	[ "$("$MINIRUN" exec web cat /tmp/newdir/top.txt)" = top ] && "$MINIRUN" exec web test ! -e /tmp/newdir/dir'
check "SRC/. copies the contents into an existing folder" sh -c '"$MINIRUN" cp "$T/src/dir/." web:/tmp/there &&
	[ "$("$MINIRUN" exec web cat /tmp/there/sub/deep.txt)" = deep ]'
check "-L follows a host symlink" sh -c 'ln -s "$T/src/hello.txt" "$T/hlink" && "$MINIRUN" cp -L "$T/hlink" web:/tmp/followed &&
	"$MINIRUN" exec web sh -c "[ ! -L /tmp/followed ] && [ \"\$(cat /tmp/followed)\" = hello ]" &&
	"$MINIRUN" cp "$T/hlink" web:/tmp/notfollowed && "$MINIRUN" exec web test -L /tmp/notfollowed'
check "through a named volume and a bind mount mounted in it" sh -c '
	"$MINIRUN" cp "$T/src/hello.txt" web:/vol/v.txt && "$MINIRUN" cp "$T/src/hello.txt" web:/bnd/b.txt &&
	[ "$(cat "$MINIRUN_ROOT/volumes/cpvol/_data/v.txt")" = hello ] && [ "$(cat "$T/bind/b.txt")" = hello ]'

# ---- out of a running container ----
check "file out into an existing folder" sh -c '"$MINIRUN" cp web:/etc/passwd "$T/out/" && cmp "$T/out/passwd" "$REF/etc/passwd"'
check "file out to a new name, mode kept" sh -c '"$MINIRUN" cp web:/etc/shadow "$T/out/sh" && cmp "$T/out/sh" "$REF/etc/shadow" &&
	[ "$(stat -c %a "$T/out/sh")" = 640 ]'
check "file out: owned by the caller without -a, kept with -a" sh -c '"$MINIRUN" cp web:/tmp/owned "$T/out/o1" &&
	"$MINIRUN" cp -a web:/tmp/owned "$T/out/o2" && [ "$(stat -c %u:%g "$T/out/o1")" = 0:0 ] &&
	[ "$(stat -c %u:%g "$T/out/o2")" = 1234:2345 ]'
check "folder out to a missing path: created with the contents" sh -c '"$MINIRUN" cp web:/etc "$T/out/etc1" &&
	cmp "$T/out/etc1/group" "$REF/etc/group" && [ ! -e "$T/out/etc1/etc" ]'
check "folder out into an existing folder: dst/NAME" sh -c 'mkdir "$T/out/e2" && "$MINIRUN" cp web:/etc "$T/out/e2/" &&
	cmp "$T/out/e2/etc/group" "$REF/etc/group"'
check "SRC/. out: the contents" sh -c 'mkdir "$T/out/e3" && "$MINIRUN" cp web:/etc/. "$T/out/e3" && cmp "$T/out/e3/group" "$REF/etc/group"'
check "relative container path out" sh -c '"$MINIRUN" cp web:usr/share/nginx/html/index.html "$T/out/i.html" && cmp "$T/out/i.html" "$T/src/index.html"'
check "a symlink is copied as a symlink, -L copies what it points to (in the container)" sh -c '
	"$MINIRUN" cp web:/tmp/pwlink "$T/out/l1" && [ "$(readlink "$T/out/l1")" = /etc/passwd ] &&
	"$MINIRUN" cp -L web:/tmp/pwlink "$T/out/l2" && [ ! -L "$T/out/l2" ] && cmp "$T/out/l2" "$REF/etc/passwd"'
check "SRC LINK/ (trailing /) copies the folder the symlink points to" sh -c '"$MINIRUN" cp web:/tmp/hdlink/ "$T/out/hdl" &&
	[ "$(cat "$T/out/hdl/file")" = mine ]'
check "out of a volume" sh -c '"$MINIRUN" cp web:/vol/v.txt "$T/out/v" && [ "$(cat "$T/out/v")" = hello ]'
check "hard links stay hard links both ways (a folder renamed on the way)" sh -c '
	mkdir -p "$T/src/hl" && echo same >"$T/src/hl/a" && ln "$T/src/hl/a" "$T/src/hl/b" &&
	"$MINIRUN" cp "$T/src/hl" web:/tmp/hl2 &&
	[ "$("$MINIRUN" exec web stat -c %h:%i /tmp/hl2/a)" = "$("$MINIRUN" exec web stat -c %h:%i /tmp/hl2/b)" ] &&
	[ "$("$MINIRUN" exec web stat -c %h /tmp/hl2/a)" = 2 ] &&
	"$MINIRUN" cp web:/tmp/hl2 "$T/out/hl3" && [ "$(stat -c %h "$T/out/hl3/a")" = 2 ] &&
	[ "$(stat -c %i "$T/out/hl3/a")" = "$(stat -c %i "$T/out/hl3/b")" ] && [ "$(cat "$T/out/hl3/b")" = same ] &&
	"$MINIRUN" cp web:/tmp/hl2 - | tar -tvf - | grep -q "^h.* link to "'

# ---- tar streams ----
check "cp CTR:SRC - writes a tar (GNU tar reads it)" sh -c '"$MINIRUN" cp web:/etc - >"$T/etc.tar" &&
	tar -tf "$T/etc.tar" | grep -qx etc/passwd && mkdir "$T/x1" && tar -xf "$T/etc.tar" -C "$T/x1" &&
	cmp "$T/x1/etc/shadow" "$REF/etc/shadow"'
check "a running container's whole root: /proc and /sys as empty folders" sh -c '"$MINIRUN" cp web:/ - >"$T/root.tar" &&
	tar -tf "$T/root.tar" >"$T/root.list" && grep -qx etc/passwd "$T/root.list" && grep -qx vol/v.txt "$T/root.list" &&
	[ "$(grep -c "^proc/" "$T/root.list")" = 1 ] && [ "$(grep -c "^sys/" "$T/root.list")" = 1 ]'
check "long names and link targets come out with pax headers" sh -c 'mkdir "$T/x2" &&
	"$MINIRUN" cp web:/opt - | tar -C "$T/x2" -xf - && diff -r --no-dereference "$T/x2/opt" "$REF/opt"'
check "cp - CTR:DIR extracts a GNU tar from stdin" sh -c 'tar -C "$T/src" -cf - dir hello.txt | "$MINIRUN" cp - web:/tmp/there &&
	[ "$("$MINIRUN" exec web cat /tmp/there/dir/sub/deep.txt /tmp/there/hello.txt)" = "deep
hello" ] && [ "$("$MINIRUN" exec web stat -c %u /tmp/there/hello.txt)" = 0 ]'
check "cp - takes a gzip-compressed tar too" sh -c '"$MINIRUN" exec web mkdir /tmp/gz && tar -C "$T/src" -czf - dir | "$MINIRUN" cp - web:/tmp/gz &&
	[ "$("$MINIRUN" exec web cat /tmp/gz/dir/top.txt)" = top ]'
tar -cf - -C "$T/src" hello.txt | mr cp - web:/tmp/renamed >"$T/e" 2>&1; rc=$?
check "cp - into a file: 1" sh -c "[ $rc = 1 ] && grep -q 'Not a directory\|not a directory' $T/e"

# ---- Docker's rules: errors, and nothing changed ----
mr cp "$T/src/hello.txt" web:/tmp/nodir/ >"$T/e" 2>&1; rc=$?
check "file to a missing folder (dst ends with /): 1, one line naming it" sh -c "[ $rc = 1 ] &&
	grep -qx 'Error: container web: /tmp/nodir/: no such directory' $T/e && [ \$(wc -l <$T/e) = 1 ] &&
	! \"\$MINIRUN\" exec web test -e /tmp/nodir"
mr cp "$T/src/dir" web:/tmp/hello.txt >"$T/e" 2>&1; rc=$?
check "folder onto a file: 1, the file unchanged" sh -c "[ $rc = 1 ] && grep -q 'cannot copy a directory' $T/e &&
	[ \"\$(\"\$MINIRUN\" exec web cat /tmp/hello.txt)\" = hello ]"
mr cp web:/etc/passwd/ "$T/out/pw2" >"$T/e" 2>&1; rc=$?
check "SRC file with a trailing /: 1" sh -c "[ $rc = 1 ] && grep -q 'not a directory' $T/e && [ ! -e $T/out/pw2 ]"
mr cp web:/etc/passwd "$T/out/missing/x" >"$T/e" 2>&1; rc=$?
check "dst whose folder is missing: 1" sh -c "[ $rc = 1 ] && [ ! -e $T/out/missing ]"
mr cp web:/nope "$T/out/nope" >"$T/e" 2>&1; rc=$?
check "missing container path: 1, Docker's message" sh -c "[ $rc = 1 ] && grep -qx 'Error: Could not find the file /nope in container web' $T/e && [ ! -e $T/out/nope ]"
mr cp "$T/nope" web:/tmp/ >"$T/e" 2>&1; rc=$?
check "missing host path: 1" sh -c "[ $rc = 1 ] && grep -q 'lstat $T/nope: no such file or directory' $T/e"
mr cp "$T/src/hello.txt" nosuch:/tmp/ >"$T/e" 2>&1; rc=$?
check "missing container: 1, Docker's message" sh -c "[ $rc = 1 ] && grep -qx 'Error: No such container: nosuch' $T/e"
mr cp "$T/a" "$T/b" >"$T/e" 2>&1; rc=$?
check "two host paths: 1" sh -c "[ $rc = 1 ] && grep -q 'at least one container' $T/e"
mr cp web:/a web:/b >"$T/e" 2>&1; rc=$?
check "two container paths: 1" sh -c "[ $rc = 1 ] && grep -q 'between containers' $T/e"

# ---- hostile symlinks: never outside the container's root ----
hostile() { # NAME: the container to try
	c=$1
	"$MINIRUN" cp "$T/src/hello.txt" "$c:/abs/pwn1" >/dev/null 2>&1
	"$MINIRUN" cp "$T/src/hello.txt" "$c:/up/pwn2" >/dev/null 2>&1
	"$MINIRUN" cp "$T/src/hello.txt" "$c:/abs/" >/dev/null 2>&1
	"$MINIRUN" cp "$T/src/dir/." "$c:/up" >/dev/null 2>&1
	"$MINIRUN" cp "$c:/abs/secret" "$T/out/$c-s1" >/dev/null 2>&1
	"$MINIRUN" cp "$c:/up/secret" "$T/out/$c-s2" >/dev/null 2>&1
	"$MINIRUN" cp -L "$c:/abs" "$T/out/$c-s3" >/dev/null 2>&1
	"$MINIRUN" cp "$c:/up/." "$T/out/$c-s4" >/dev/null 2>&1
	[ "$(ls "$T/sentinel")" = secret ] && ! grep -rqs secret "$T/out/$c-s1" "$T/out/$c-s2" "$T/out/$c-s3" "$T/out/$c-s4"
}
check "symlinks to a host path (absolute, ../..) in a running container: nothing read or written there" hostile web
check "a symlink to / at the target stays in the container's root" sh -c '"$MINIRUN" cp "$T/src/hello.txt" web:/target/cp-rooted-$$ &&
	"$MINIRUN" exec web test -f /cp-rooted-$$ && [ ! -e /cp-rooted-$$ ]'
check "a folder copied out keeps its symlinks as symlinks" sh -c '"$MINIRUN" cp web:/tmp/hd "$T/out/hd" &&
	[ "$(readlink "$T/out/hd/link")" = "$T/sentinel" ] && [ "$(cat "$T/out/hd/file")" = mine ]'
python3 - "$T" >"$T/evil.tar" <<'PY'
import io, sys, tarfile
t = sys.argv[1]
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
    i = tarfile.TarInfo("../../../../../../../../.." + t + "/sentinel/evil1"); i.size = 1
    tf.addfile(i, io.BytesIO(b"x"))
sys.stdout.buffer.write(out.getvalue())
PY
mr cp - web:/tmp <"$T/evil.tar" >"$T/e" 2>&1; rc=$?
check "a tar with ../ entries: 1, nothing outside" sh -c "[ $rc = 1 ] && [ ! -e $T/sentinel/evil1 ] && grep -q 'absolute or has' $T/e"
python3 - "$T" >"$T/evil2.tar" <<'PY'
import io, sys, tarfile
t = sys.argv[1]
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w") as tf:
    i = tarfile.TarInfo("lnk"); i.type = tarfile.SYMTYPE; i.linkname = t + "/sentinel"
    tf.addfile(i)
    i = tarfile.TarInfo("lnk/evil2"); i.size = 1
    tf.addfile(i, io.BytesIO(b"x"))
sys.stdout.buffer.write(out.getvalue())
PY
mr cp - web:/tmp <"$T/evil2.tar" >"$T/e" 2>&1; rc=$?
check "a tar writing through its own symlink: 1, nothing outside" sh -c "[ $rc = 1 ] && [ ! -e $T/sentinel/evil2 ] && grep -q 'parent lnk is a symlink' $T/e"
# The container swaps a folder and a symlink to the sentinel path while cp runs.
mr exec -d web sh -c "while :; do rm -rf /tmp/flip; mkdir /tmp/flip; rm -rf /tmp/flip; ln -s $T/sentinel /tmp/flip; done"
i=0
while [ $i -lt 40 ]; do mr cp "$T/src/hello.txt" web:/tmp/flip/raced >/dev/null 2>&1; mr cp web:/tmp/flip/. "$T/out/race" >/dev/null 2>&1; i=$((i + 1)); done
check "a symlink swapped in while cp runs (40 tries both ways): the sentinel untouched" sh -c '[ "$(ls "$T/sentinel")" = secret ] && ! grep -rqs secret "$T/out/race"'

# ---- issue 5, story 3 ----
check "story 3: a file copied into a running container is seen by it" sh -c 'echo changed >"$T/grp" &&
	"$MINIRUN" cp "$T/grp" web:/etc/group && [ "$("$MINIRUN" exec web cat /etc/group)" = changed ]'
mr rm -f web >/dev/null
mr run -d $R --name web busybox sleep 300 >/dev/null
check "...after rm -f and a new run, cp out shows the image's original file" sh -c '
	"$MINIRUN" cp web:/etc/group "$T/out/group" && cmp "$T/out/group" "$REF/etc/group"'
mr rm -f web >/dev/null

# ---- a stopped container ----
mr create $R --name st -v cpvol:/vol -v "$T/bind:/bnd" busybox cat /tmp/in.txt /vol/v2.txt /bnd/b2.txt >/dev/null
echo in >"$T/in.txt"
check "file into a stopped container" "$MINIRUN" cp "$T/in.txt" st:/tmp/in.txt
check "...nothing stays mounted" sh -c '! grep -q " $MINIRUN_ROOT" /proc/self/mounts'
check "through its volume and bind mount" sh -c '"$MINIRUN" cp "$T/in.txt" st:/vol/v2.txt && "$MINIRUN" cp "$T/in.txt" st:/bnd/b2.txt &&
	[ "$(cat "$MINIRUN_ROOT/volumes/cpvol/_data/v2.txt")" = in ] && [ "$(cat "$T/bind/b2.txt")" = in ]'
check "out of a stopped container (file and folder)" sh -c '"$MINIRUN" cp st:/tmp/in.txt "$T/out/st-in" &&
	[ "$(cat "$T/out/st-in")" = in ] && "$MINIRUN" cp st:/etc "$T/out/st-etc" && cmp "$T/out/st-etc/passwd" "$REF/etc/passwd"'
check "...the container sees the files when it starts" sh -c '[ "$("$MINIRUN" start -a st)" = "in
in
in" ]'
check "cp -a of a stopped container's whole root gives the image's tree (modes, owners, times, file capabilities)" sh -c '
	"$MINIRUN" create $R --name st3 busybox true >/dev/null && "$MINIRUN" cp -a st3:/ "$T/full" &&
	python3 "$REPO/tests/treecmp.py" --mtime --skip-root --ignore data --ignore etc/mtab --exclude-xattr user. "$T/full" "$REF" &&
	[ "$(readlink "$T/full/etc/mtab")" = /proc/mounts ]'  # /etc/mtab: the init layer, as in Docker
mr_st_hostile() {
	"$MINIRUN" create $R --name st2 busybox true >/dev/null &&
	"$MINIRUN" cp - st2:/ <"$T/links.tar" && hostile st2
}
mkdir "$T/links" && ln -s "$T/sentinel" "$T/links/abs" && ln -s "../../../../../../../../../..$T/sentinel" "$T/links/up" &&
	tar -C "$T/links" -cf "$T/links.tar" abs up
check "symlinks to a host path in a stopped container: nothing read or written there" mr_st_hostile
check "a stopped --read-only container refuses writes to its root" sh -c '
	"$MINIRUN" create $R --read-only --name ro busybox true >/dev/null && ! "$MINIRUN" cp "$T/in.txt" ro:/tmp/x 2>/dev/null &&
	"$MINIRUN" cp ro:/etc/passwd "$T/out/ro-pw"'
mr rm -f st st2 st3 ro >/dev/null 2>&1
mr volume rm cpvol >/dev/null 2>&1
ctr_assert_clean
finish
