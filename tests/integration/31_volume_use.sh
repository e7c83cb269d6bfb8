#!/bin/sh
# Volumes, bind mounts and tmpfs used by containers: data outlives `rm`, is
# shared between containers at once, a new volume is filled from the image
# once (owner and mode kept), `volume rm` is refused while any container
# (running or stopped) uses it, anonymous volumes go with `rm -v`/`--rm`.
. "$(dirname "$0")/lib.sh"
fixtures
mr load -q -i "$FIX/busybox-docker.tar" || { bad "load busybox"; finish; }
R="run --network none"; export R T FIX
EXTRA_CLEANUP='"$MINIRUN" rm -f -v keeper sharer1 sharer2 >/dev/null 2>&1'

mr $R --name writer -v mydata:/data busybox sh -c 'echo kept > /data/file' >/dev/null
mr rm writer >/dev/null
check "volume ls still shows mydata after rm" sh -c '"$MINIRUN" volume ls -q | grep -qx mydata'
check "a second container sees the data" sh -c '[ "$("$MINIRUN" $R --rm -v mydata:/data busybox cat /data/file)" = kept ]'

mr $R -d --name keeper -v mydata:/data busybox sleep 300 >/dev/null
mr volume rm mydata >"$T/err" 2>&1; rc=$?
check "volume rm of a used volume: exit 1 and Docker's message" sh -c "[ $rc = 1 ] && grep -q 'Error: remove mydata: volume is in use - \[[0-9a-f]\{64\}\]' $T/err"
check "...and the volume is still there" sh -c '"$MINIRUN" volume ls -q | grep -qx mydata'
mr stop -t 1 keeper >/dev/null
mr volume rm -f mydata >"$T/err" 2>&1; rc=$?
check "a stopped container still holds it, even with -f" sh -c "[ $rc = 1 ] && grep -q 'volume is in use' $T/err"
mr rm keeper >/dev/null
check "after rm of the container, volume rm succeeds" sh -c '[ "$("$MINIRUN" volume rm mydata)" = mydata ]'

mr $R -d --name sharer1 -v shared:/s busybox sleep 300 >/dev/null
mr $R -d --name sharer2 -v shared:/s busybox sleep 300 >/dev/null
mr exec sharer1 sh -c 'echo from-one > /s/msg'
check "two containers share a volume at once" sh -c '[ "$("$MINIRUN" exec sharer2 cat /s/msg)" = from-one ]'
mr rm -f sharer1 sharer2 >/dev/null

check "a new volume is filled from the image (content, owner, mode)" sh -c '
	"$MINIRUN" $R --rm -v etcvol:/etc busybox true &&
	d="$MINIRUN_ROOT/volumes/etcvol/_data" && grep -q "^root:" "$d/passwd" &&
	[ "$(stat -c %a:%u:%g "$d/shadow")" = "$(stat -c %a:%u:%g "$FIX/ref-busybox/rootfs/etc/shadow")" ]'
echo changed >"$MINIRUN_ROOT/volumes/etcvol/_data/hostname-mark"
check "...only once: an existing volume is not overwritten" sh -c '"$MINIRUN" $R --rm -v etcvol:/etc busybox cat /etc/hostname-mark | grep -qx changed'
check "nocopy leaves a new volume unfilled" sh -c '"$MINIRUN" $R --rm -v emptyvol:/etc:nocopy busybox true; [ ! -e "$MINIRUN_ROOT/volumes/emptyvol/_data/passwd" ]'

nvol=$(mr volume ls -q | wc -l)
mkdir -p "$T/site"
echo hello >"$T/site/index.html"
check "a bind mount shows the host folder" sh -c '[ "$("$MINIRUN" $R --rm -v "$T/site:/srv:ro" busybox cat /srv/index.html)" = hello ]'
check "a read-only bind mount refuses writes" sh -c '! "$MINIRUN" $R --rm -v "$T/site:/srv:ro" busybox sh -c "echo x > /srv/new" 2>/dev/null && [ ! -e "$T/site/new" ]'
check "a write through a bind mount is seen on the host" sh -c '"$MINIRUN" $R --rm -v "$T/site:/srv" busybox sh -c "echo w > /srv/new" && grep -qx w "$T/site/new"'
check "-v creates a missing host folder" sh -c '"$MINIRUN" $R --rm -v "$T/made/here:/m" busybox true && [ -d "$T/made/here" ]'
mr $R --rm --mount "type=bind,source=$T/missing,target=/m" busybox true >"$T/err" 2>&1; rc=$?
check "--mount bind with a missing source is an error" sh -c "[ $rc = 125 ] && grep -q 'bind source path does not exist: $T/missing' $T/err"
mr $R --rm -v "rel/path:/m" busybox true >"$T/err" 2>&1; rc=$?
check "a relative host path is an error" sh -c "[ $rc = 125 ] && grep -q 'absolute path' $T/err"
check "--tmpfs with size and mode" sh -c '"$MINIRUN" $R --rm --tmpfs /scratch:size=1m,mode=1777 busybox sh -c "grep \" /scratch tmpfs\" /proc/mounts && stat -c %a /scratch" | grep -q "^1777$"'
check "no volume is left for bind mounts and tmpfs" sh -c '[ "$("$MINIRUN" volume ls -q | wc -l)" = '"$nvol"' ]'

n0=$(mr volume ls -q | wc -l)
mr $R --name anon -v /anon busybox true >/dev/null
n1=$(mr volume ls -q | wc -l)
check "-v /path and the image's VOLUME /data give anonymous volumes" sh -c "[ $n1 = $((n0 + 2)) ]"
mr rm -v anon >/dev/null
check "rm -v removes them" sh -c '[ "$("$MINIRUN" volume ls -q | wc -l)" = '"$n0"' ]'
mr $R --rm -v /anon2 busybox true >/dev/null
check "--rm removes them too" sh -c '[ "$("$MINIRUN" volume ls -q | wc -l)" = '"$n0"' ]'
mr $R --name named-kept -v keepme:/k busybox true >/dev/null; mr rm -v named-kept >/dev/null
check "rm -v keeps named volumes" sh -c '"$MINIRUN" volume ls -q | grep -qx keepme'

mr inspect -f '{{json .Mounts}}' "$(mr create --network none -v keepme:/k -v "$T/site:/srv:ro" busybox)" >"$T/mounts.json" 2>&1 ||
	mr inspect "$(mr ps -aq | head -1)" >"$T/mounts.json"
check "inspect shows Mounts like Docker" python3 - "$T/mounts.json" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t)
if isinstance(d, list) and d and isinstance(d[0], dict) and "Mounts" in d[0]:
    d = d[0]["Mounts"]
by = {m["Destination"]: m for m in d}
v, b = by["/k"], by["/srv"]
assert v["Type"] == "volume" and v["Name"] == "keepme" and v["Driver"] == "local" and v["RW"] is True, v
assert b["Type"] == "bind" and b["RW"] is False and b["Propagation"] == "rprivate", b
PY
# --volumes-from: the volumes and binds of another container, same targets.
mr $R --name vsrc -v vfdata:/v -v "$T/site:/b:ro" busybox sh -c 'echo from-src > /v/f' >/dev/null
check "--volumes-from mounts the other container's volume and bind" sh -c '[ "$("$MINIRUN" $R --rm --volumes-from vsrc busybox cat /v/f /b/index.html | tr "\n" " ")" = "from-src hello " ]'
check "...in its mode: the read-only bind stays read-only" sh -c '! "$MINIRUN" $R --rm --volumes-from vsrc busybox sh -c "echo x > /b/new" 2>/dev/null'
check "--volumes-from NAME:ro makes them all read-only" sh -c '! "$MINIRUN" $R --rm --volumes-from vsrc:ro busybox sh -c "echo x > /v/g" 2>/dev/null && [ ! -e "$MINIRUN_ROOT/volumes/vfdata/_data/g" ]'
check "a -v mount at the same target wins" sh -c '[ -z "$("$MINIRUN" $R --rm --volumes-from vsrc -v vfother:/v busybox ls /v)" ]'
mr $R --rm --volumes-from nosuch busybox true >"$T/err" 2>&1; rc=$?
check "--volumes-from an unknown container: exit 125, error names it" sh -c "[ $rc = 125 ] && grep -q 'No such container: nosuch' $T/err"
vid=$(mr $R -d --name vuser --volumes-from vsrc busybox sleep 300)
check "inspect shows HostConfig.VolumesFrom" sh -c '[ "$("$MINIRUN" inspect -f "{{json .HostConfig.VolumesFrom}}" vuser)" = "[\"vsrc\"]" ]'
mr rm vsrc >/dev/null
mr volume rm vfdata >"$T/err" 2>&1; rc=$?
check "volume rm names the --volumes-from container" sh -c "[ $rc = 1 ] && grep -q 'Error: remove vfdata: volume is in use - \[$vid\]' $T/err"
mr rm -f vuser >/dev/null
check "...and succeeds once it is gone" sh -c '[ "$("$MINIRUN" volume rm vfdata)" = vfdata ]'

# system df: Docker's rows and what each counts.
mr volume create dfvol >/dev/null
head -c 100000 /dev/zero >"$MINIRUN_ROOT/volumes/dfvol/_data/f"
mr $R --name dfstop busybox sh -c 'head -c 5000 /dev/zero > /w' >/dev/null
mr $R -d --name dfrun -v dfused:/u busybox sh -c 'head -c 7 /dev/zero > /u/f; sleep 300' >/dev/null
sleep 0.5
mr system df >"$T/df"
cat "$T/df"
check "system df: header and the four rows" sh -c "head -1 $T/df | grep -q '^TYPE  *TOTAL  *ACTIVE  *SIZE  *RECLAIMABLE$' && grep -q '^Build Cache  *0  *0  *0B  *0B$' $T/df"
check "system df: images (busybox used by a container, shared layers once)" sh -c "grep -q '^Images  *1  *1  ' $T/df"
nc=$(mr ps -aq | wc -l) nv=$(mr volume ls -q | wc -l)
check "system df: containers: writable layers, the stopped one reclaimable" sh -c "grep -q '^Containers  *$nc  *1  *5kB  *5kB (100%)$' $T/df"
check "system df: volumes: unused volumes' data reclaimable, a used one's not" sh -c "grep -q '^Local Volumes  *$nv  *[1-9][0-9]*  *10[0-9]kB  *10[0-9]kB (9[0-9]%)$' $T/df"
mr system df -v >"$T/dfv"
cat "$T/dfv"
check "system df -v: Docker's three sections" sh -c "grep -qx 'Images space usage:' $T/dfv && grep -qx 'Containers space usage:' $T/dfv && grep -qx 'Local Volumes space usage:' $T/dfv && grep -qx 'Build cache usage: 0B' $T/dfv"
check "system df -v: the image row (used by $nc containers, nothing shared)" sh -c "grep -qE '^busybox +latest +[0-9a-f]{12} +.* ago +[0-9.]+[kM]B +0B +[0-9.]+[kM]B +$nc\$' $T/dfv"
vs=$(grep -E ' dfstop$' "$T/dfv" | sed -E 's/.*[…"] +([0-9]+) +.*/\1/') vr=$(grep -E ' dfrun$' "$T/dfv" | sed -E 's/.*[…"] +([0-9]+) +.*/\1/')
check "system df -v: each container's writable layer, and its volumes (-v adds one: $vs, $vr)" sh -c "grep -qE ' 5kB +.* Exited \(0\) .* dfstop\$' $T/dfv && grep -qE ' 0B +.* Up .* dfrun\$' $T/dfv && [ \"$vr\" = \$(($vs + 1)) ]"
check "system df -v: volumes with their links and sizes" sh -c "grep -qE '^dfvol +0 +10[0-9]kB\$' $T/dfv && grep -qE '^dfused +1 +7B\$' $T/dfv"
mr rm -f dfstop dfrun >/dev/null
mr volume rm dfvol dfused >/dev/null
finish
