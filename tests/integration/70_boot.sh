#!/bin/sh
# Boot mode: containers declared in DIR/NAME.conf brought up and down by
# `minirun up` / `minirun down`: start order, loading the declared archive,
# idempotence (same IDs), a changed file replaces only its container, a removed
# file removes its container, a malformed file is named (file, line, key) while
# the others still start, a restart policy applies; `init` (not PID 1) runs
# up, waits for SIGTERM and runs down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
# start from an empty image store: `archive =` must load it
mr rmi busybox:latest >/dev/null 2>&1
C=$T/conf
mkdir -p "$C"
ids() { "$MINIRUN" ps -a --no-trunc --format '{{.Names}} {{.ID}}' | sort; }

cat >"$C/web.conf" <<EOC
# a web server, after the database
image = busybox:latest
archive = $FIX/busybox-docker.tar
command = sh -c 'trap "exit 0" TERM; echo web-started \$ROLE; while :; do sleep 0.2; done'
env = ROLE=web
restart = always
network = none
stop_timeout = 3
depends_on = db
EOC
cat >"$C/db.conf" <<EOC
image = busybox:latest
archive = $FIX/busybox-docker.tar
command = ["sh", "-c", "trap 'exit 0' TERM; echo db-started; while :; do sleep 0.2; done"]
network = none
order = 10
EOC
mr up "$C" >"$T/up1" 2>&1; rc=$?
cat "$T/up1"
check "up: exit 0" [ $rc = 0 ]
check "up: the archive was loaded for the missing image" grep -q "loading $FIX/busybox-docker.tar" "$T/up1"
check "up: db started before web (depends_on beats order)" sh -c "grep -n started '$T/up1' | head -1 | grep -q 'db: started'"
check "both run" sh -c '[ "$("$MINIRUN" ps --format "{{.Names}}" | sort | tr "\n" " ")" = "db web " ]'
sleep 0.5
check "web's command ran with its env" sh -c '"$MINIRUN" logs web | grep -qx "web-started web"'
check "db's JSON command ran" sh -c '"$MINIRUN" logs db | grep -qx db-started'
check "labels: managed, with a hash" sh -c '"$MINIRUN" inspect -f "{{json .Config.Labels}}" web | grep -q "minirun.boot.hash"'
ids >"$T/ids1"

mr up "$C" >"$T/up2" 2>&1
ids >"$T/ids2"
check "second up: nothing changes (same IDs)" cmp "$T/ids1" "$T/ids2"
check "second up: says up to date" sh -c "[ \$(grep -c 'up to date' '$T/up2') = 2 ]"

echo "env = EXTRA=1" >>"$C/web.conf"
mr up "$C" >"$T/up3" 2>&1
ids >"$T/ids3"
check "changed web.conf: web replaced" sh -c "[ \"\$(grep '^web ' '$T/ids1')\" != \"\$(grep '^web ' '$T/ids3')\" ] && grep -q '^web ' '$T/ids3'"
check "changed web.conf: db left alone" sh -c "[ \"\$(grep '^db ' '$T/ids1')\" = \"\$(grep '^db ' '$T/ids3')\" ]"
check "the new web has the new env" sh -c '"$MINIRUN" inspect -f "{{json .Config.Env}}" web | grep -q EXTRA=1'

# comments and blank lines do not count as changes
printf '\n# just a comment\n' >>"$C/db.conf"
mr up "$C" >/dev/null 2>&1
ids >"$T/ids4"
check "a comment added: nothing replaced" cmp "$T/ids3" "$T/ids4"

# malformed file next to a new good one
printf 'image = busybox:latest\nnetwork = none\nrestrat = always\n' >"$C/bad.conf"
printf 'image = busybox:latest\nnetwork = none\ncommand = sleep 1000\nstop_timeout = 1\n' >"$C/extra.conf"
mr up "$C" >"$T/up5" 2>&1; rc=$?
cat "$T/up5"
check "malformed: exit status 1" [ $rc = 1 ]
check "malformed: the error names file, line and key" grep -q "$C/bad.conf:3: unknown key 'restrat'" "$T/up5"
check "malformed: the other (new) container started" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.Running}}" extra)" = true ]'
check "malformed: no container for it" sh -c '! "$MINIRUN" inspect bad >/dev/null 2>&1'
printf 'image = busybox:latest\nread_only = maybe\n' >"$C/bad.conf"
mr up "$C" >"$T/up6" 2>&1
check "bad boolean: named" grep -q "bad.conf:2: key 'read_only': not a boolean: maybe" "$T/up6"
printf 'command = true\n' >"$C/bad.conf"
mr up "$C" >"$T/up7" 2>&1
check "missing image: named" grep -q "bad.conf: missing key 'image'" "$T/up7"
rm "$C/bad.conf"

# a removed file removes its container
rm "$C/extra.conf"
mr up "$C" >"$T/up8" 2>&1
check "removed file: its container is removed" sh -c '! "$MINIRUN" inspect extra >/dev/null 2>&1'
check "removed file: the others stay" cmp "$T/ids3" "$(ids >"$T/ids8"; echo "$T/ids8")"

# a container of the same name not made by up is left alone
mr run -d --name mine --network none busybox sleep 1000 >/dev/null
printf 'image = busybox:latest\ncommand = true\n' >"$C/mine.conf"
mr up "$C" >"$T/up9" 2>&1
check "unmanaged container of the same name: left alone, said so" grep -q "exists and was not made by" "$T/up9"
rm "$C/mine.conf"
mr rm -f mine >/dev/null

# restart policy on-failure restarts
cat >"$C/flaky.conf" <<EOC
image = busybox:latest
command = sh -c 'echo try; exit 3'
restart = on-failure:2
network = none
EOC
mr up "$C" >/dev/null 2>&1
n=0; until [ "$("$MINIRUN" inspect -f '{{.RestartCount}}' flaky 2>/dev/null)" = 2 ] || [ $n -ge 100 ]; do sleep 0.1; n=$((n+1)); done
check "on-failure:2 restarted it twice" sh -c '[ "$("$MINIRUN" inspect -f "{{.RestartCount}}" flaky)" = 2 ]'
n=0; until [ "$("$MINIRUN" inspect -f '{{.State.Status}}' flaky)" = exited ] || [ $n -ge 50 ]; do sleep 0.1; n=$((n+1)); done
check "then it stays exited (3)" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.ExitCode}}" flaky)" = 3 ]'
check "three runs logged" sh -c '[ "$("$MINIRUN" logs flaky | grep -c try)" = 3 ]'
rm "$C/flaky.conf"

t0=$(date +%s)
mr down "$C" >"$T/down" 2>&1; rc=$?
t1=$(date +%s)
cat "$T/down"
check "down: exit 0" [ $rc = 0 ]
check "down: web stopped before db (reverse order)" sh -c "grep stopped '$T/down' | tr '\n' ' ' | grep -q 'stopped web .*stopped db'"
check "down: everything removed" sh -c '[ -z "$("$MINIRUN" ps -aq)" ]'
check "down: quick (TERM trapped): $((t1 - t0)) s" [ $((t1 - t0)) -lt 5 ]

# init, not as PID 1: up, then down on SIGTERM, then exit
MINIRUN_CONFIG_DIR=$C "$MINIRUN" init >"$T/init" 2>&1 &
ipid=$!
n=0; until [ "$("$MINIRUN" inspect -f '{{.State.Running}}' web 2>/dev/null)" = true ] || [ $n -ge 100 ]; do sleep 0.1; n=$((n+1)); done
check "init: started the declared containers" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.Running}}" db)" = true ]'
kill -TERM $ipid
wait $ipid; rc=$?
cat "$T/init"
check "init: SIGTERM: down, exit 0" [ $rc = 0 ]
check "init: said it stopped them" sh -c "grep -q 'minirun: stopped web' '$T/init' && grep -q 'minirun: stopped db' '$T/init'"
check "init: nothing left" sh -c '[ -z "$("$MINIRUN" ps -aq)" ]'

# the keys added with the run flags they stand for
K=$T/keys
mkdir -p "$K"
cat >"$K/keys.conf" <<EOC
image = busybox:latest
command = sleep 600
sysctl = net.core.somaxconn=999
ulimit = nofile=512:1024
group_add = 1234
shm_size = 8m
device = /dev/null:/dev/mynull:rw
health_cmd = true
health_interval = 200ms
health_retries = 2
EOC
mr up "$K" >"$T/upk" 2>&1
cat "$T/upk"
check "keys: sysctl, ulimit, group_add, shm_size, device applied" sh -c "[ \"\$('$MINIRUN' exec keys sh -c 'cat /proc/sys/net/core/somaxconn; ulimit -n; id -G; grep -c size=8192k /proc/mounts; [ -c /dev/mynull ] && echo dev' | tr '\n' ' ')\" = '999 512 0 10 1234 1 dev ' ] || '$MINIRUN' exec keys sh -c 'cat /proc/sys/net/core/somaxconn; ulimit -n; id -G; grep -c size=8192k /proc/mounts; ls -l /dev/mynull'"
check "keys: health check (healthy)" sh -c "for i in \$(seq 40); do '$MINIRUN' ps --format '{{.Status}}' -f name=keys | grep -q '(healthy)' && exit 0; sleep 0.1; done; exit 1"
mr down "$K" >/dev/null 2>&1

# depends_on = NAME:healthy waits for NAME's health check (compose's
# condition: service_healthy); an unhealthy dependency keeps its dependent down
H=$T/health
mkdir -p "$H"
cat >"$H/dbh.conf" <<EOC
image = busybox:latest
command = sh -c 'sleep 1; touch /tmp/ready; sleep 600'
health_cmd = test -f /tmp/ready
health_interval = 200ms
health_retries = 20
EOC
cat >"$H/app.conf" <<EOC
image = busybox:latest
command = sleep 600
depends_on = dbh:healthy
EOC
cat >"$H/sick.conf" <<EOC
image = busybox:latest
command = sleep 600
health_cmd = false
health_interval = 200ms
health_retries = 1
EOC
cat >"$H/victim.conf" <<EOC
image = busybox:latest
command = sleep 600
depends_on = sick:healthy
EOC
mr up "$H" >"$T/uph" 2>&1; rc=$?
cat "$T/uph"
check "depends_on :healthy: waited for, then started" sh -c "grep -q 'app: waiting for dbh to be healthy' '$T/uph' && grep -q 'minirun: app: started' '$T/uph' && [ \"\$('$MINIRUN' ps --format '{{.Status}}' -f name=dbh | grep -c '(healthy)')\" = 1 ]"
check "depends_on :healthy on an unhealthy one: not started, exit 1" sh -c "[ $rc = 1 ] && grep -q 'victim: dependency sick is unhealthy' '$T/uph' && grep -q 'victim: not started' '$T/uph' && [ -z \"\$('$MINIRUN' ps -aq -f name=victim)\" ]"
mr down "$H" >/dev/null 2>&1
printf 'image = busybox:latest\ndepends_on = db:started\n' >"$H/bad.conf"
check "depends_on with another condition: named" sh -c "'$MINIRUN' up '$H' 2>&1 | grep -q \"bad.conf:2: key 'depends_on': unknown condition 'started'\""
mr down "$H" >/dev/null 2>&1

mr up "$T/nonexistent" >"$T/up10" 2>&1; rc=$?
check "up of a missing folder: 125, named" sh -c "[ $rc = 125 ] && grep -q 'nonexistent' '$T/up10'"
ctr_assert_clean
finish
