#!/bin/sh
# Volume commands as Docker users know them: create (named, random, labels,
# idempotent), ls (-q, filters), inspect (Docker's JSON), rm (-f, missing),
# prune (-a, anonymous only by default), bad names.
. "$(dirname "$0")/lib.sh"
check "create a named volume prints its name" sh -c '[ "$("$MINIRUN" volume create mydata)" = mydata ]'
check "creating it again is not an error" mr volume create mydata
anon=$(mr volume create --label team=db --label tier)
check "a volume without a name gets 64 hex characters" sh -c "echo $anon | grep -qE '^[0-9a-f]{64}$'"
check "its data folder exists" test -d "$MINIRUN_ROOT/volumes/$anon/_data"
mr volume ls >"$T/ls"
check "ls header" sh -c "head -1 $T/ls | grep -q '^DRIVER *VOLUME NAME$'"
check "ls lists mydata with the local driver" grep -q '^local *mydata$' "$T/ls"
check "ls -q lists names only" sh -c '"$MINIRUN" volume ls -q | sort | tr "\n" " " | grep -q "mydata"'
check "filter label=team=db" sh -c '[ "$("$MINIRUN" volume ls -q --filter label=team=db)" = "'"$anon"'" ]'
check "filter label=tier (key only)" sh -c '[ "$("$MINIRUN" volume ls -q --filter label=tier)" = "'"$anon"'" ]'
check "filter name=myd" sh -c '[ "$("$MINIRUN" volume ls -q --filter name=myd)" = mydata ]'
check "filter dangling=true (no containers)" sh -c '[ "$("$MINIRUN" volume ls -q --filter dangling=true | wc -l)" = 2 ]'
mr volume inspect mydata "$anon" >"$T/inspect.json"
check "inspect is Docker-shaped" python3 - "$T/inspect.json" "$MINIRUN_ROOT" "$anon" <<'PY'
import json, sys, re
d = json.load(open(sys.argv[1]))
assert len(d) == 2
v = d[0]
assert sorted(v) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"], sorted(v)
assert v["Name"] == "mydata" and v["Driver"] == "local" and v["Scope"] == "local"
assert v["Mountpoint"] == sys.argv[2] + "/volumes/mydata/_data"
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", v["CreatedAt"]), v["CreatedAt"]
assert v["Labels"] is None
assert d[1]["Labels"] == {"team": "db", "tier": ""}, d[1]["Labels"]
PY
mr volume inspect nosuch >"$T/err" 2>&1; rc=$?
check "inspect of a missing volume fails naming it" sh -c "[ $rc = 1 ] && grep -q 'No such volume: nosuch' $T/err"
mr volume create 'bad/name' >"$T/err" 2>&1; rc=$?
check "a bad name is refused (1, as Docker)" sh -c "[ $rc = 1 ] && grep -q 'includes invalid characters' $T/err"
echo data >"$MINIRUN_ROOT/volumes/mydata/_data/file"
mr volume rm nosuch >"$T/err" 2>&1; rc=$?
check "rm of a missing volume: exit 1" sh -c "[ $rc = 1 ] && grep -q 'No such volume: nosuch' $T/err"
check "rm -f of a missing volume is quiet" mr volume rm -f nosuch
check "prune without -a keeps named volumes" sh -c '"$MINIRUN" volume prune -f >/dev/null && "$MINIRUN" volume ls -q | grep -qx mydata'
check "prune -a removes unused volumes" sh -c '"$MINIRUN" volume prune -a -f | grep -q "Total reclaimed space"'
check "nothing left after prune -a" sh -c '[ -z "$("$MINIRUN" volume ls -q)" ]'
mr volume create gone >/dev/null
check "rm removes a volume and prints its name" sh -c '[ "$("$MINIRUN" volume rm gone)" = gone ] && [ ! -e "$MINIRUN_ROOT/volumes/gone" ]'
check "a volume holding a mount point is never deleted through it" sh -c '
	"$MINIRUN" volume create held >/dev/null && mkdir -p "$T/outside" && echo keep >"$T/outside/keep" &&
	mkdir "$MINIRUN_ROOT/volumes/held/_data/mnt" && mount --bind "$T/outside" "$MINIRUN_ROOT/volumes/held/_data/mnt" &&
	! "$MINIRUN" volume rm held >/dev/null 2>&1; rc=$?; umount "$MINIRUN_ROOT/volumes/held/_data/mnt"; test -f "$T/outside/keep" && [ $rc = 0 ]'
check "...and the refused volume is left whole" sh -c '"$MINIRUN" volume ls -q | grep -qx held && [ -d "$MINIRUN_ROOT/volumes/held/_data/mnt" ]'
finish
