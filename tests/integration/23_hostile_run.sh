#!/bin/sh
# Hostile images and hostile flags against running containers (issue 16):
# every case aims at sentinels in this test's own folders, never at real
# system files. Images come from tests/hostile_images.py (busybox + one layer).
#  1. the host's minirun binary never reaches a container: #!/proc/self/exe
#     scripts, an ELF whose interpreter is /proc/self/exe, monitors, exec,
#     health checks all run from a sealed copy (/proc/PID/exe, maps);
#  2. health-check output: through a pipe, 4 KiB kept, no host file in the check;
#  3. --root: tmp/ entries minirun did not make stay; a foreign folder is refused;
#  4. removal of deep trees with few descriptors (containers and layers);
#  5. references with Docker's grammar (tag, load of bad names in archives);
#  6. mount destinations cleaned before the checks (-v x:/.., --mount dst=//);
#  8. --init: no host path in /proc/1/cmdline;
# 10. logs --tail N while the container writes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
command -v python3 >/dev/null || skip "python3 missing"
IMG=$T/img
python3 "$REPO/tests/hostile_images.py" "$FIX/busybox-docker.tar" "$IMG" >"$T/gen.err" 2>&1 ||
	{ cat "$T/gen.err"; skip "hostile_images.py failed"; }
SELF=$(readlink -f "$MINIRUN")
SELF_ID=$(stat -L -c %d:%i "$SELF")

# ---- 1. the host binary never reaches a container -------------------------
# The process's executable and every mapping: never the host's binary file.
not_host_binary() { # PID
	[ -n "$1" ] && [ "$1" != 0 ] || return 1
	[ "$(stat -L -c %d:%i "/proc/$1/exe")" != "$SELF_ID" ] &&
		! grep -qF " $SELF" "/proc/$1/maps"
}
mr load -q -i "$IMG/selfexe-script.tar" >/dev/null
mr run -d --name s1 selfexe-script >/dev/null 2>"$T/s1.err"
sleep 0.5
pid=$(mr inspect -f '{{.State.Pid}}' s1)
check "#!/proc/self/exe: the container's PID 1 is not the host binary (exe, maps)" not_host_binary "$pid"
check "#!/proc/self/exe: /proc/1/exe seen from the container is a sealed copy" sh -c \
	"\"\$MINIRUN\" exec s1 readlink /proc/1/exe | grep -q '^/memfd:minirun'"
check "#!/proc/self/exe: /proc/1/exe is not the host file (device:inode)" sh -c \
	"[ \"\$(\"\$MINIRUN\" exec s1 stat -L -c %d:%i /proc/1/exe)\" != '$SELF_ID' ]"
check "#!/proc/self/exe: /proc/1/exe cannot be opened for writing" sh -c \
	"! \"\$MINIRUN\" exec s1 sh -c 'exec 7<>/proc/1/exe' 2>/dev/null"
mon=$(ctr_monitors | head -1)
check "the monitor runs from the sealed copy" not_host_binary "$mon"
mr rm -f s1 >/dev/null
if [ -f "$IMG/selfexe-elf.tar" ]; then
	mr load -q -i "$IMG/selfexe-elf.tar" >/dev/null
	mr run -d --name e1 selfexe-elf >/dev/null 2>&1
	sleep 0.5
	pid=$(mr inspect -f '{{.State.Pid}}' e1)
	check "ELF with interpreter /proc/self/exe: the host binary is not mapped" not_host_binary "$pid"
	mr rm -f e1 >/dev/null
fi
mr run --rm --network none --name fg1 busybox sleep 2 &
sleep 0.5
fg=
for p in /proc/[0-9]*; do
	case $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) in *" --name fg1 "*) fg=${p#/proc/} ;; esac
done
check "a foreground run (the container's owner) runs from the sealed copy" not_host_binary "$fg"
check "... and so does its container's init" not_host_binary "$(mr inspect -f '{{.State.Pid}}' fg1)"
wait

# ---- 2. health checks: a pipe, 4 KiB, no host file --------------------------
mr load -q -i "$IMG/health-exe.tar" >/dev/null
mr run -d --name h1 health-exe >/dev/null 2>&1
n=0
while [ $n -lt 100 ]; do
	mr inspect -f '{{json .State.Health}}' h1 >"$T/h1.json" 2>/dev/null
	grep -q '"ExitCode"' "$T/h1.json" && break
	sleep 0.1; n=$((n + 1))
done
python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
out = h["Log"][0]["Output"]
open(sys.argv[2], "w").write(out)
print(len(out.encode()))' "$T/h1.json" "$T/h1.out" >"$T/h1.len" 2>&1
check "health check: the first 4 KiB of its output are kept (Docker's limit)" sh -c "[ \"\$(cat $T/h1.len)\" = 4096 ]"
check "health check: /proc/1/exe it opens is the sealed copy" sh -c "grep -q '^/memfd:minirun' $T/h1.out && grep -q OPENED $T/h1.out"
check "health check: its stdout/stderr are pipes, no host file" sh -c \
	"grep -E ' [12] -> ' $T/h1.out | grep -q pipe: && ! grep -E ' [0-9]+ -> /' $T/h1.out | grep -v /dev/null | grep -q ."
big=$(find "$MINIRUN_RUNDIR" "$MINIRUN_ROOT" -type f -size +1024k 2>/dev/null | grep -v /layers/ | head -3)
check "health check: 3 MB of output stored nowhere (no file over 1 MiB: $big)" [ -z "$big" ]
mr rm -f h1 >/dev/null

# ---- 3. the store deletes only what it made ---------------------------------
R=$T/foreign
mkdir -p "$R/tmp/x"
echo x >"$R/tmp/notes.txt"
MINIRUN_ROOT=$R "$MINIRUN" images >"$T/f.out" 2>&1; rc=$?
check "--root of a non-empty folder that is not a store: refused (exit 1 as Docker's failed commands, says so)" sh -c \
	"[ $rc = 1 ] && grep -q 'not a minirun store' $T/f.out"
check "... and nothing in it removed or added" sh -c \
	"[ -f $R/tmp/notes.txt ] && [ -d $R/tmp/x ] && [ ! -e $R/lock ] && [ ! -e $R/layers ]"
MINIRUN_ROOT=$T/new-store "$MINIRUN" images >/dev/null 2>&1
check "a missing folder becomes a store" [ -f "$T/new-store/lock" ]
mkdir -p "$MINIRUN_ROOT/tmp/user-dir"
echo mine >"$MINIRUN_ROOT/tmp/notes.txt"
mr images >/dev/null 2>"$T/w1"
mr images >/dev/null 2>"$T/w2"
check "a store's tmp/: entries minirun did not make stay" sh -c \
	"[ -f $MINIRUN_ROOT/tmp/notes.txt ] && [ -d $MINIRUN_ROOT/tmp/user-dir ]"
check "... reported once" sh -c "grep -q 'tmp/notes.txt was not made by minirun' $T/w1 && ! grep -q notes.txt $T/w2"
rm -rf "$MINIRUN_ROOT/tmp/notes.txt" "$MINIRUN_ROOT/tmp/user-dir"

# ---- 4. removal of any depth with few descriptors ---------------------------
mr run --name deep --network none busybox sh -c \
	'mkdir d; i=1; while [ $i -lt 2100 ]; do mkdir t && mv d t/ && mv t d || exit 1; i=$((i+1)); done' >/dev/null 2>&1
check "a container made 2100 nested folders" [ "$(mr inspect -f '{{.State.ExitCode}}' deep)" = 0 ]
(ulimit -n 64; "$MINIRUN" rm -f deep) >"$T/rm.out" 2>&1; rc=$?
check "rm -f of that container under ulimit -n 64" sh -c "[ $rc = 0 ] && [ -z \"\$(ls $MINIRUN_ROOT/tmp)\" ]" 
mr load -q -i "$IMG/deep-layer.tar" >"$T/dl.out" 2>&1; rc=$?
check "a layer 2000 folders deep loads" [ $rc = 0 ]
nl=$(ls "$MINIRUN_ROOT/layers" | wc -l)
(ulimit -n 64; "$MINIRUN" rmi deep-layer) >"$T/rmi.out" 2>&1; rc=$?
check "rmi of it under ulimit -n 64 removes its layer" sh -c \
	"[ $rc = 0 ] && [ \$(ls $MINIRUN_ROOT/layers | wc -l) = $((nl - 1)) ] && [ -z \"\$(ls $MINIRUN_ROOT/tmp)\" ]"
# an interrupted removal (a deep tree left in tmp/) is finished by the next command
python3 -c '
import os, sys
os.chdir(sys.argv[1]); os.mkdir(sys.argv[2]); os.chdir(sys.argv[2])
for i in range(2500):
    os.mkdir("d"); os.chdir("d")
open("f", "w").write("x")' "$MINIRUN_ROOT/tmp" "mr-rm-$(printf '%064d' 0)"
(ulimit -n 64; "$MINIRUN" ps -a) >/dev/null 2>&1
check "a half-removed tree 2500 deep in tmp/ is finished by the next command" sh -c "[ -z \"\$(ls $MINIRUN_ROOT/tmp)\" ]"

# ---- 5. references with Docker's grammar ------------------------------------
for ref in ../../../x x:../../y a___b a- x:-bad a//b "x@sha256:abc"; do
	mr tag busybox "$ref" >"$T/tag.out" 2>&1; rc=$?
	check "tag busybox '$ref': refused with docker's words" sh -c "[ $rc = 1 ] &&
		grep -qxF 'Error parsing reference: \"$ref\" is not a valid repository/tag: invalid reference format' $T/tag.out"
done
mr tag busybox Upper >"$T/tag.out" 2>&1; rc=$?
check "tag busybox Upper: must be lowercase (docker's words)" sh -c "[ $rc = 1 ] && grep -qF 'repository name (library/Upper) must be lowercase' $T/tag.out"
for ref in a__b a--b a.b localhost/a host:5000/u/app_x:v1.2-rc; do
	check "tag busybox '$ref' (valid for docker) works" mr tag busybox "$ref"
done
mr pull ../../x >"$T/pull.out" 2>&1; rc=$?
check "pull ../../x: invalid reference format, nothing fetched" sh -c "[ $rc = 1 ] && grep -q 'invalid reference format' $T/pull.out"
mr run --rm "x:../../y" true >"$T/run.out" 2>&1; rc=$?
check "run x:../../y: invalid reference format" sh -c "[ $rc = 125 ] && grep -q 'invalid reference format' $T/run.out"
for a in badref-docker badref-oci; do
	before=$(mr images -q | sort -u | wc -l)
	mr load -i "$IMG/$a.tar" >"$T/load.out" 2>&1; rc=$?
	check "$a: loaded (untagged) with a warning naming the bad reference" sh -c "[ $rc = 0 ] &&
		grep -q 'WARNING: ignoring the image name \"\.\./\.\./' $T/load.out && [ \$(\"\$MINIRUN\" images -q | sort -u | wc -l) -gt $before ]"
	check "$a: no bad name among the images" sh -c "! \"\$MINIRUN\" images --format '{{.Repository}}' | grep -qE '\\.\\.|Upper|^/'"
done

# ---- 6. mount destinations cleaned before the checks -------------------------
mkdir -p "$T/bindsrc"
for spec in "-v vx:/.." "-v vx://" "-v vx:/./tmp/.." "--mount type=volume,src=vx,dst=/x/../.." \
	"-v $T/bindsrc:/.." "--mount dst=/./x/..,type=tmpfs" "--tmpfs //"; do
	# shellcheck disable=SC2086
	mr run --rm $spec busybox true >"$T/m.out" 2>&1; rc=$?
	case $spec in *bindsrc*) ty=bind ;; *tmpfs*) ty=tmpfs ;; *) ty=volume ;; esac
	# Docker's run form: "docker: Error: ... .", then a pointer to the help
	printf 'minirun: Error: invalid mount config for type "%s": invalid specification: destination can'"'"'t be '"'"'/'"'"'.\nSee '"'"'minirun run --help'"'"'.\n' $ty >"$T/m.want"
	check "$spec: refused, docker's words" sh -c "[ $rc = 125 ] && cmp -s $T/m.out $T/m.want"
done
check "... no container and no volume made" sh -c '[ -z "$("$MINIRUN" ps -aq)" ] && ! "$MINIRUN" volume ls -q | grep -qx vx'
mr run --rm -v vx:/data/./sub/../ busybox sh -c 'grep -q " /data " /proc/mounts' >/dev/null 2>&1
check "-v vx:/data/./sub/../ mounts at /data" [ $? = 0 ]
mr volume rm vx >/dev/null 2>&1

# ---- 8. --init: no host path in the container's /proc/1/cmdline --------------
mr run --rm --init --network none busybox sh -c 'tr "\0" " " </proc/1/cmdline; echo; cat /proc/1/comm' >"$T/init.out" 2>&1
check "--init: /proc/1/cmdline shows no host path (no store, run folder or binary path)" sh -c \
	"grep -q '^init' $T/init.out && ! grep -qF -e '$MINIRUN_ROOT' -e '$MINIRUN_RUNDIR' -e '$SELF' -e '/' $T/init.out"
mr run --rm --init --network none busybox sh -c 'kill -TERM 1; sleep 5' >/dev/null 2>&1; rc=$?
check "--init still forwards signals (SIGTERM: 143)" [ $rc = 143 ]

# ---- 9. a config over the size limit is "too large" --------------------------
for a in bigconfig-docker bigconfig-oci; do
	mr load -i "$IMG/$a.tar" >"$T/big.out" 2>&1; rc=$?
	check "$a: refused as too large (exit 1, Docker's for a failed load), not as a digest mismatch" sh -c \
		"[ $rc = 1 ] && grep -q 'too large' $T/big.out && ! grep -q 'digest mismatch' $T/big.out"
done

# ---- 10. logs --tail N prints at most N lines while the container writes -----
mr run -d --name flood --network none busybox sh -c 'while :; do echo 0123456789012345678901234567890123456789; done' >/dev/null
sleep 1
worst=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	n=$(mr logs --tail 3 flood 2>/dev/null | wc -l)
	[ "$n" -gt "$worst" ] && worst=$n
done
check "logs --tail 3 of a flooding container: never more than 3 lines (most: $worst)" [ "$worst" -le 3 ]
n=$(mr logs --tail 3 flood 2>/dev/null | wc -l)
check "... and 3 lines indeed" [ "$n" = 3 ]
mr rm -f flood >/dev/null

ctr_assert_clean
finish
