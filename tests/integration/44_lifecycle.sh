#!/bin/sh
# The life of containers as Docker users drive it: create + start (-a),
# start of a running one, restart, kill -s, rm of a running one (refused,
# then -f), container prune, info, inspect falling back to images, and 50
# containers run and removed concurrently leaving a consistent store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"

id=$(mr create --name lc busybox sh -c 'echo hello from lc; exit 4')
check "create prints the full ID" sh -c "echo $id | grep -qE '^[0-9a-f]{64}$'"
check "created: status Created, not running" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.Status}} {{.State.Running}} {{.State.StartedAt}}" lc)" = "created false 0001-01-01T00:00:00Z" ]'
check "start -a: output and exit code" sh -c 'out=$("$MINIRUN" start -a lc); rc=$?; [ "$out" = "hello from lc" ] && [ $rc = 4 ]'
check "start (detached) prints the name; the log has both runs" sh -c '"$MINIRUN" start lc | grep -qx lc && [ "$("$MINIRUN" wait lc)" = 4 ] && [ "$("$MINIRUN" logs lc | grep -c hello)" = 2 ]'
mr container rm lc >/dev/null

mr run -d --name svc busybox sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done' >/dev/null
sleep 0.2
p1=$(mr inspect -f '{{.State.Pid}}' svc)
check "start of a running container is a no-op" sh -c '"$MINIRUN" start svc | grep -qx svc && [ "$("$MINIRUN" inspect -f "{{.State.Pid}}" svc)" = '"$p1"' ]'
check "restart: a new init" sh -c '"$MINIRUN" restart svc | grep -qx svc && sleep 0.2 && p2=$("$MINIRUN" inspect -f "{{.State.Pid}}" svc) && [ -n "$p2" ] && [ "$p2" != '"$p1"' ] && [ "$p2" != 0 ]'
check "kill -s TERM: the program's handler runs (exit 0)" sh -c '"$MINIRUN" kill -s TERM svc >/dev/null && [ "$("$MINIRUN" wait svc)" = 0 ]'
mr kill svc >"$T/e" 2>&1; rc=$?
check "kill of a stopped container fails" sh -c "[ $rc != 0 ] && grep -q 'is not running' $T/e"
mr start svc >/dev/null
mr rm svc >"$T/e" 2>&1; rc=$?
check "rm of a running container is refused" sh -c "[ $rc != 0 ] && grep -q 'stop the container before removing or force remove' $T/e && \"\$MINIRUN\" inspect svc >/dev/null"
check "rm -f removes it" sh -c '"$MINIRUN" rm -f svc | grep -qx svc && ! "$MINIRUN" inspect svc >/dev/null 2>&1'

mr run --name pr1 busybox true
mr create --name pr2 busybox true >/dev/null
mr run -d --name pr3 busybox sleep 60 >/dev/null
mr container prune -f >"$T/prune"
check "container prune removes the stopped ones only" sh -c "grep -q '^Deleted Containers:' $T/prune && grep -q 'Total reclaimed space' $T/prune && [ \"\$(\"\$MINIRUN\" ps -a --format '{{.Names}}')\" = pr3 ]"
mr rm -f pr3 >/dev/null

mr info >"$T/info"
check "info: storage driver, cgroup version, kernel features" sh -c "grep -qE '^ Storage Driver: (overlay|copy)$' $T/info && grep -q '^ Cgroup Version: ' $T/info && grep -q '^  openat2: ' $T/info && grep -q '^  overlay filesystem: ' $T/info"
check "inspect falls back to an image" sh -c '"$MINIRUN" inspect -f "{{.Id}}" busybox | grep -q "^sha256:"'
mr run -d --name busybox busybox sleep 60 >/dev/null
check "inspect prefers a container of that name, --type image forces the image" sh -c '"$MINIRUN" inspect -f "{{.State.Status}}" busybox | grep -qx running && "$MINIRUN" inspect --type image -f "{{.Id}}" busybox | grep -q "^sha256:"'
mr rmi busybox >"$T/e" 2>&1; rc=$?
check "rmi of an image a container uses is refused, naming it" sh -c "[ $rc != 0 ] && grep -q \"container $(mr inspect -f '{{.Id}}' busybox | cut -c1-12) is using\" $T/e"
mr rm -f busybox >/dev/null

# 50 at once: every run succeeds, names stay unique, nothing is left.
i=0
while [ $i -lt 50 ]; do
	( "$MINIRUN" run --rm busybox true >"$T/c$i.out" 2>&1; echo $? >"$T/c$i.rc" ) &
	i=$((i + 1))
done
wait
bad=0; i=0
while [ $i -lt 50 ]; do [ "$(cat $T/c$i.rc)" = 0 ] || { bad=$((bad+1)); cat $T/c$i.out; }; i=$((i + 1)); done
check "50 concurrent run --rm: all succeed" [ "$bad" = 0 ]
i=0
while [ $i -lt 25 ]; do
	( "$MINIRUN" run -d --name "con$i" busybox sleep 30 >/dev/null 2>"$T/d$i.err"; echo $? >"$T/d$i.rc" ) &
	( "$MINIRUN" run -d busybox true >/dev/null 2>&1 ) &
	i=$((i + 1))
done
wait
check "50 concurrent run -d: 50 containers, 50 distinct names" sh -c '[ "$("$MINIRUN" ps -a --format "{{.Names}}" | sort -u | wc -l)" = 50 ] && [ "$(ls '"$MINIRUN_ROOT"'/containers/.names | wc -l)" = 50 ]'
for id in $(mr ps -aq); do ( "$MINIRUN" rm -f "$id" >/dev/null 2>&1 ) & done
wait
check "50 concurrent rm -f: the store is empty and consistent" sh -c '[ -z "$("$MINIRUN" ps -aq)" ] && [ -z "$(ls '"$MINIRUN_ROOT"'/containers/.names)" ] && [ -z "$(ls '"$MINIRUN_ROOT"'/tmp)" ]'
check "the image is still whole" sh -c '"$MINIRUN" run --rm busybox true'

ctr_assert_clean
finish
