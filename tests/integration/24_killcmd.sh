#!/bin/sh
# SIGKILL at every store-changing command, at chosen points: strace's fault
# injection kills the process (or the monitor it forked) on entry to its Nth
# rename, unlink, mkdir, fsync, symlink, link or mount (the first, middle and
# last of each, a few chosen at random per command), so kills land inside the
# short commands too, not only in the long ones. After each kill `minirun
# check` (no --repair) must be clean, and the next command works. A killed
# prune / rmi must leave no layer behind (issue 16 item 7).
# KILLCMD_POINTS: kill points per command (default 6).
. "$(dirname "$0")/lib.sh"
fixtures
command -v strace >/dev/null || skip "strace missing (apt-get install strace)"
strace -f -qq -o /dev/null -e trace=none true 2>/dev/null || skip "ptrace not allowed here"
POINTS=${KILLCMD_POINTS:-6}
SET=rename,renameat,renameat2,unlink,unlinkat,rmdir,mkdir,mkdirat,fsync,fdatasync,syncfs,symlink,symlinkat,link,linkat,mount,umount2
BB=$FIX/busybox-docker.tar
LY=$FIX/layers-docker.tar
REG=""
EXTRA_CLEANUP='[ -n "${S:-}" ] && cleanup_store; [ -n "$REG" ] && kill $REG 2>/dev/null && wait $REG 2>/dev/null'
head -c 300000 /dev/urandom >"$T/file"
C=$T/conf; mkdir -p "$C"
printf 'image = busybox:latest\ncommand = true\nnetwork = none\n' >"$C/svc.conf"

# A fresh store per point, with busybox loaded (unless the case starts empty).
S=""
in_store() { MINIRUN_ROOT=$S MINIRUN_RUNDIR=$S.run "$MINIRUN" "$@"; }
cleanup_store() {
	for id in $(in_store ps -aq 2>/dev/null); do in_store rm -f "$id" >/dev/null 2>&1; done
	for nw in $(in_store network ls -q 2>/dev/null); do in_store network rm "$nw" >/dev/null 2>&1; done
	grep -o " $S[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$S" "$S.run"
}
n=0
fresh() { # fresh EMPTY PREP
	n=$((n + 1)); S=$T/s$n
	if [ "$1" != empty ]; then in_store load -q -i "$BB" >/dev/null || bad "load busybox into $S"; fi
	[ -z "$2" ] || (eval "$2") >"$T/prep.out" 2>&1 || bad "prepare: $2: $(tail -3 "$T/prep.out")"
}

total=0 landed=0 cases=0
# kills NAME EMPTY|busybox PREP "ARGS" NEXT
kills() {
	name=$1 start=$2 prep=$3 args=$4 next=$5
	cases=$((cases + 1))
	fresh "$start" "$prep"
	# shellcheck disable=SC2086
	(eval "strace -f -qq -e trace=$SET -o '$T/count' -- '$MINIRUN' $args") \
		>/dev/null 2>&1 </dev/null
	cleanup_store
	sed -E 's/^[0-9]+ +//; /^<\.\.\./d; s/\(.*//' "$T/count" | sort | uniq -c |
	while read -r c sc; do
		echo "$sc 1"; [ "$c" -gt 2 ] && echo "$sc $(((c + 1) / 2))"; [ "$c" -gt 1 ] && echo "$sc $c"
	done | sort -u | shuf -n "$POINTS" >"$T/points"
	[ -s "$T/points" ] || { bad "$name: no store-changing call seen"; return; }
	hit=0 fails0=$FAILS
	while read -r sc at; do
		total=$((total + 1))
		fresh "$start" "$prep"
		(eval "MINIRUN_ROOT=$S MINIRUN_RUNDIR=$S.run strace -f -qq -o /dev/null -e trace=$sc \
			-e inject=$sc:signal=KILL:when=$at -- '$MINIRUN' $args") >/dev/null 2>&1 </dev/null
		[ $? = 137 ] && hit=$((hit + 1)) && landed=$((landed + 1))
		sleep 0.1   # a killed start's monitor may still be finishing
		if ! in_store check >"$T/check.out" 2>&1; then
			bad "$name killed at $sc #$at: check: $(grep -v ' problems' "$T/check.out" | head -3)"
		elif ! (eval "$next") >"$T/next.out" 2>&1 </dev/null; then
			bad "$name killed at $sc #$at: next command: $(tail -3 "$T/next.out")"
		elif ! in_store check >"$T/check.out" 2>&1; then
			bad "$name killed at $sc #$at: check after the next command: $(head -3 "$T/check.out")"
		else
			echo "    $name killed at $sc #$at: consistent"
		fi
		cleanup_store
	done <"$T/points"
	[ "$FAILS" = "$fails0" ] &&
		ok "$name: $hit kills landed, store consistent after each and the next command works"
}

kills load empty "" "load -q -i $LY" \
	'in_store load -q -i "$LY" >/dev/null && in_store images | grep -q "^layers "'
# pull from a registry of our own (plain HTTP on loopback), if there is one
if command -v docker-registry >/dev/null && command -v skopeo >/dev/null; then
	P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
		"$T/reg" "$P" >"$T/reg.yml"
	docker-registry serve "$T/reg.yml" >"$T/reg.log" 2>&1 &
	REG=$!
	for _ in $(seq 100); do skopeo copy -q --dest-tls-verify=false "oci-archive:$FIX/layers-oci.tar" \
		"docker://127.0.0.1:$P/team/layers:1" >"$T/push.log" 2>&1 && break; sleep 0.1; done
	if grep -q . "$T/push.log"; then
		echo "    pull: not here (push failed: $(tail -1 "$T/push.log"))"
	else
		kills pull empty "" "pull -q --insecure-registry 127.0.0.1:$P 127.0.0.1:$P/team/layers:1" \
			'in_store pull -q --insecure-registry 127.0.0.1:$P 127.0.0.1:$P/team/layers:1 >/dev/null &&
			 in_store images | grep -q "/team/layers "'
	fi
fi
kills rmi busybox 'in_store load -q -i "$LY"' "rmi layers:latest" \
	'in_store rmi layers:latest >/dev/null 2>&1; ! in_store images | grep -q "^layers " &&
	 [ "$(ls "$S/layers" | wc -l)" = 1 ]'
kills tag busybox "" "tag busybox:latest x/y:1" \
	'in_store tag busybox:latest x/y:1 && in_store run --rm --network none x/y:1 true'
kills "image prune" busybox 'in_store load -q -i "$LY"' "image prune -a -f" \
	'in_store image prune -a -f >/dev/null && [ -z "$(ls "$S/layers")" ] && [ -z "$(ls "$S/blobs/sha256")" ]'
kills "system prune" busybox 'in_store load -q -i "$LY"; in_store create --network none busybox:latest true' \
	"system prune -a -f --volumes" \
	'in_store system prune -a -f --volumes >/dev/null && [ -z "$(ls "$S/layers")" ] && [ -z "$(in_store ps -aq)" ]'
kills create busybox "" "create --name c1 --network none busybox:latest true" \
	'in_store rm -f c1 >/dev/null 2>&1; in_store create --name c1 --network none busybox:latest true >/dev/null &&
	 in_store start -a c1'
kills start busybox 'in_store create --name c1 --network none busybox:latest true' "start c1" \
	'in_store start -a c1'
kills "run -d" busybox "" "run -d --name c1 --network none busybox:latest true" \
	'in_store rm -f c1 >/dev/null 2>&1; in_store run --name c1 --network none busybox:latest true'
kills rm busybox 'in_store create --name c1 --network none busybox:latest true' "rm c1" \
	'in_store rm c1 >/dev/null 2>&1; in_store create --name c1 --network none busybox:latest true >/dev/null && in_store rm c1'
kills "rm -f (running)" busybox 'in_store run -d --name c1 --network none busybox:latest sleep 60' "rm -f c1" \
	'in_store rm -f c1 >/dev/null 2>&1; in_store run --rm --name c1 --network none busybox:latest true'
kills "volume create" busybox "" "volume create v1" \
	'in_store volume create v1 >/dev/null && in_store run --rm --network none -v v1:/v busybox:latest touch /v/x'
kills "volume rm" busybox 'in_store volume create v1 && echo x >"$S/volumes/v1/_data/f"' "volume rm v1" \
	'in_store volume rm v1 >/dev/null 2>&1; ! in_store volume ls -q | grep -qx v1 && in_store volume create v1'
kills "volume prune" busybox 'in_store volume create v1' "volume prune -a -f" \
	'in_store volume prune -a -f >/dev/null && [ -z "$(in_store volume ls -q)" ]'
if in_store network create probe >/dev/null 2>&1; then
	in_store network rm probe >/dev/null 2>&1
	kills "network create" busybox "" "network create n1" \
		'in_store network create n1 >/dev/null 2>&1; in_store network inspect n1 >/dev/null && in_store network rm n1'
	kills "network rm" busybox 'in_store network create n1' "network rm n1" \
		'in_store network rm n1 >/dev/null 2>&1; ! in_store network ls | grep -qw n1'
else
	echo "    network create/rm: not here ($(in_store network create probe 2>&1 | head -1))"
fi
cleanup_store
kills "cp into a container" busybox 'in_store create --name c1 --network none busybox:latest true' \
	"cp $T/file c1:/file" \
	'in_store cp "$T/file" c1:/file && in_store cp c1:/file "$S.out" && cmp "$T/file" "$S.out"'
kills up busybox "" "up $C" 'in_store up "$C" >/dev/null && in_store down "$C" >/dev/null'
kills down busybox 'in_store up "$C"' "down $C" \
	'in_store down "$C" >/dev/null && [ -z "$(in_store ps -aq)" ]'
echo "  $total kill points over $cases commands, $landed landed"
[ "$landed" -ge $((total / 2)) ] && ok "most kill points landed ($landed of $total)" ||
	bad "only $landed of $total kill points landed"
finish
