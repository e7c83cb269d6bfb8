#!/bin/sh
# Detached containers and their monitor: `run -d`, logs (-t, --tail, -f,
# --since, --until, rotation), ps (columns, -q, --no-trunc, filters, --format), stop (signal,
# timeout, SIGKILL), restart policies with back-off, a monitor killed with
# SIGKILL or a reboot (the container shows Exited (255) and starts again),
# wait, rename, inspect's shape, and the monitor's footprint.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"

id=$(mr run -d --name web busybox sh -c 'echo started; echo oops >&2; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done')
check "run -d prints the full ID" sh -c "echo '$id' | grep -qE '^[0-9a-f]{64}$'"
sleep 0.7
check "logs: stdout in order" sh -c '"$MINIRUN" logs web 2>/dev/null | head -3 | tr "\n" " " | grep -qx "started tick 1 tick 2 "'
check "logs: stderr goes to stderr" sh -c '"$MINIRUN" logs web 2>&1 >/dev/null | grep -qx oops'
check "logs --tail 2" sh -c '[ "$("$MINIRUN" logs --tail 2 web 2>/dev/null | wc -l)" = 2 ]'
check "logs -t: RFC 3339 timestamps" sh -c '"$MINIRUN" logs -t --tail 1 web | grep -qE "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z tick [0-9]+$"'
mark=$(mr logs -t --tail 1 web | cut -d' ' -f1)
check "logs --since TIME: from that record on" sh -c "[ \"\$('$MINIRUN' logs --since $mark web 2>/dev/null | head -1)\" = \"\$('$MINIRUN' logs -t web 2>/dev/null | grep -F '$mark ' | cut -d' ' -f2-)\" ]"
check "logs --until TIME: before that record only" sh -c "! '$MINIRUN' logs --until $mark web 2>/dev/null | grep -qxF \"\$('$MINIRUN' logs -t web 2>/dev/null | grep -F '$mark ' | cut -d' ' -f2-)\" && [ -n \"\$('$MINIRUN' logs --until $mark web 2>/dev/null)\" ]"
check "logs --since 0 (Unix seconds): everything" sh -c '[ "$("$MINIRUN" logs --since 0 web 2>/dev/null | head -1)" = started ]'
check "logs --since 2099-01-01: nothing" sh -c '[ -z "$("$MINIRUN" logs --since 2099-01-01 web 2>&1)" ]'
check "logs --since 1h: everything of this test" sh -c '"$MINIRUN" logs --since 1h web 2>/dev/null | head -1 | grep -qx started'
check "logs --since 5x: refused (1, as Docker)" sh -c '"$MINIRUN" logs --since 5x web >/dev/null 2>&1; [ $? = 1 ]'
check "logs -f follows, ends when the container stops" sh -c '( sleep 0.6; "$MINIRUN" kill web >/dev/null ) & "$MINIRUN" logs -f --tail 0 web 2>/dev/null | grep -c tick | grep -qv "^0$"; wait'
check "ps -a: Exited (137) after kill" ctr_wait_status web 'Exited (137)'
mr rm web >/dev/null

# ---- ps ----
mr run -d --name p1 --label tier=web busybox sleep 60 >/dev/null
mr create --name p2 busybox true >/dev/null
mr run --name p3 busybox sh -c 'exit 2' 2>/dev/null
mr ps >"$T/ps"
check "ps header as Docker's" sh -c "head -1 $T/ps | grep -qE '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'"
check "ps shows the running one, Up ..." sh -c "grep -E ' busybox +\"sleep 60\" +.* ago +Up .* p1$' $T/ps"
check "ps hides stopped ones without -a" sh -c "! grep -q p2 $T/ps && ! grep -q p3 $T/ps"
check "ps -a: Created and Exited (2)" sh -c '"$MINIRUN" ps -a | grep -q " Created .* p2$" && "$MINIRUN" ps -a | grep -qE " Exited \(2\) .* ago .* p3$"'
check "ps -q: short IDs" sh -c '[ "$("$MINIRUN" ps -q)" = "$("$MINIRUN" inspect -f "{{.Id}}" p1 | cut -c1-12)" ]'
check "ps -aq --no-trunc: 3 full IDs" sh -c '[ "$("$MINIRUN" ps -aq --no-trunc | grep -cE "^[0-9a-f]{64}$")" = 3 ]'
check "--filter status=exited" sh -c '[ "$("$MINIRUN" ps -a --filter status=exited --format "{{.Names}}")" = p3 ]'
check "--filter name=p (substring) and label" sh -c '[ "$("$MINIRUN" ps -a --filter name=p --filter label=tier=web --format "{{.Names}}")" = p1 ]'
check "--format with several fields and \\t" sh -c '"$MINIRUN" ps --format "{{.Names}}\t{{.Image}}\t{{.Command}}\t{{.State}}" | grep -qx "p1	busybox	\"sleep 60\"	running"'
check "--format table has a header" sh -c '"$MINIRUN" ps --format "table {{.ID}}\t{{.Names}}" | head -1 | grep -qE "^CONTAINER ID +NAMES$"'
check "--format {{.Label \"tier\"}}" sh -c '[ "$("$MINIRUN" ps --format "{{.Label \"tier\"}}")" = web ]'
check "container ls = ps" sh -c '[ "$("$MINIRUN" container ls -q)" = "$("$MINIRUN" ps -q)" ]'

# ---- stop ----
t0=$(date +%s%N)
mr stop -t 1 p1 >/dev/null
t1=$(date +%s%N)
check "stop -t 1: sh as PID 1 ignores SIGTERM, SIGKILL after 1 s" sh -c "[ $(( (t1 - t0) / 1000000 )) -ge 900 ] && [ $(( (t1 - t0) / 1000000 )) -lt 3000 ]"
check "...and it shows Exited (137)" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.ExitCode}} {{.State.Running}}" p1)" = "137 false" ]'
mr run -d --name trap busybox sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done' >/dev/null
sleep 0.3
t0=$(date +%s%N); mr stop trap >/dev/null; t1=$(date +%s%N)
check "stop: a program that handles SIGTERM ends at once, exit 0" sh -c "[ $(( (t1 - t0) / 1000000 )) -lt 2000 ] && [ \"\$(\"\$MINIRUN\" inspect -f '{{.State.ExitCode}}' trap)\" = 0 ]"
mr run -d --name sig --stop-signal USR1 busybox sh -c 'trap "exit 5" USR1; while true; do sleep 0.1; done' >/dev/null
sleep 0.3
mr stop sig >/dev/null
check "--stop-signal USR1 is what stop sends" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.ExitCode}} {{.Config.StopSignal}}" sig)" = "5 USR1" ]'
mr rm p1 p2 p3 trap sig >/dev/null

# ---- restart policies ----
mr run -d --name rp --restart on-failure:2 busybox sh -c 'echo run; exit 3' >/dev/null
# "Exited (3)" also shows for a moment between runs (the back-off): wait for
# the end state, RestartCount 2 and exited.
rp_done() {
	n=100
	while [ "$n" -gt 0 ]; do
		[ "$("$MINIRUN" inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' rp)" = "2 exited 3" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	"$MINIRUN" inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' rp >&2
	return 1
}
check "on-failure:2: started 3 times, then Exited (3)" rp_done
check "...RestartCount 2, 3 runs in the log" sh -c '[ "$("$MINIRUN" logs rp | grep -c run)" = 3 ]'
mr rm rp >/dev/null
mr run -d --name ok --restart on-failure busybox true >/dev/null
check "on-failure: exit 0 is not restarted" ctr_wait_status ok 'Exited (0)'
check "...RestartCount 0" sh -c '[ "$("$MINIRUN" inspect -f "{{.RestartCount}}" ok)" = 0 ]'
mr run -d --name al --restart always busybox sh -c 'sleep 0.2; exit 1' >/dev/null
sleep 1.5
check "always: restarted with back-off (100, 200, 400 ms...)" sh -c 'n=$("$MINIRUN" inspect -f "{{.RestartCount}}" al); [ "$n" -ge 2 ] && [ "$n" -le 6 ]'
mr stop -t 1 al >/dev/null
n=$(mr inspect -f '{{.RestartCount}}' al)
sleep 0.8
check "stop ends the restarts for good" sh -c '[ "$("$MINIRUN" inspect -f "{{.RestartCount}} {{.State.Status}}" al)" = "'"$n"' exited" ] && [ -z "$(ctr_monitors)" ]'
mr rm ok al >/dev/null

# ---- the monitor: footprint, SIGKILL, reboot ----
mr run -d --name mon busybox sh -c 'while true; do echo x; sleep 0.1; done' >/dev/null
sleep 0.5
mpid=$(ctr_monitors)
rss=$(awk '/^VmRSS/ {print $2}' /proc/$mpid/status)
pss=$(awk '/^Pss:/ {print $2}' /proc/$mpid/smaps_rollup 2>/dev/null)
echo "  (monitor of an idle logging container: VmRSS $rss KiB, Pss ${pss:-?} KiB)"
check "monitor RSS under 300 KiB ($rss KiB)" [ "$rss" -lt 300 ]
cpid=$(mr inspect -f '{{.State.Pid}}' mon)
kill -KILL "$mpid"
# Gone, or dead and waiting for its new parent to reap it (a zombie), within 5 s.
ctr_gone() {
	n=50
	while [ "$n" -gt 0 ]; do
		[ -e "/proc/$1" ] || return 0
		[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
check "a monitor killed with SIGKILL takes its container down" ctr_gone "$cpid"
check "...and the container shows Exited (255)" ctr_wait_status mon 'Exited (255)'
check "start works again" sh -c '"$MINIRUN" start mon >/dev/null && "$MINIRUN" inspect -f "{{.State.Running}}" mon | grep -qx true'
# a reboot: the run folder (tmpfs) is gone, the processes too
mpid=$(ctr_monitors)
kill -KILL "$mpid"; sleep 0.3
rm -rf "$MINIRUN_RUNDIR"
check "after a reboot: Exited (255)" ctr_wait_status mon 'Exited (255)'
check "after a reboot: start works" sh -c '"$MINIRUN" start mon >/dev/null && "$MINIRUN" inspect -f "{{.State.Status}}" mon | grep -qx running'
mr rm -f mon >/dev/null

# ---- log rotation ----
mr run -d --name rot --log-opt max-size=4k --log-opt max-file=3 busybox sh -c 'i=0; while [ $i -lt 600 ]; do echo "line $i"; i=$((i+1)); done' >/dev/null
mr wait rot >/dev/null
dir=$MINIRUN_ROOT/containers/$(mr inspect -f '{{.Id}}' rot)
check "rotation: log, log.1, log.2 and nothing more" sh -c "[ -f $dir/log ] && [ -f $dir/log.1 ] && [ -f $dir/log.2 ] && [ ! -e $dir/log.3 ]"
check "rotation: every file under max-size" sh -c "[ \$(stat -c %s $dir/log $dir/log.1 $dir/log.2 | sort -n | tail -1) -le 4096 ]"
check "logs shows the newest lines, in order, ending with line 599" sh -c '"$MINIRUN" logs rot | tail -1 | grep -qx "line 599" && "$MINIRUN" logs rot | awk "{print \$2}" | sort -n -c'
mr rm rot >/dev/null

# ---- wait, rename, inspect ----
mr run -d --name w1 busybox sh -c 'sleep 0.3; exit 7' >/dev/null
check "wait prints the exit code" sh -c '[ "$("$MINIRUN" wait w1)" = 7 ]'
check "rename" sh -c '"$MINIRUN" rename w1 w2 && "$MINIRUN" inspect -f "{{.Name}}" w2 | grep -qx /w2 && ! "$MINIRUN" inspect w1 >/dev/null 2>&1'
mr create --name w3 busybox true >/dev/null
mr rename w2 w3 >"$T/e" 2>&1; rc=$?
check "rename to a name in use fails" sh -c "[ $rc != 0 ] && grep -q Conflict $T/e"
mr inspect w2 >"$T/inspect.json"
check "inspect is shaped like Docker's" python3 - "$T/inspect.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 1
c = d[0]
for k in ["Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount", "Driver",
          "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings", "LogPath"]:
    assert k in c, k
for k in ["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode",
          "Error", "StartedAt", "FinishedAt"]:
    assert k in c["State"], k
assert c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 7
assert c["Name"] == "/w2" and c["Path"] == "sh" and c["Args"][0] == "-c"
assert c["Image"].startswith("sha256:")
assert c["Config"]["Image"] == "busybox" and c["Config"]["Cmd"][0] == "sh"
assert c["Config"]["Labels"]["org.example.fixture"] == "busybox"
for k in ["NetworkMode", "RestartPolicy", "Memory", "NanoCpus", "PidsLimit", "CapAdd", "CapDrop",
          "Privileged", "ReadonlyRootfs", "LogConfig", "Binds", "AutoRemove"]:
    assert k in c["HostConfig"], k
assert c["GraphDriver"]["Name"] in ("overlay", "copy")
assert [m["Destination"] for m in c["Mounts"]] == ["/data"] and c["Mounts"][0]["Type"] == "volume"
PY
mr rm w2 w3 >/dev/null
check "rm of a missing container: Error: No such container" sh -c '"$MINIRUN" rm nosuch 2>&1 | grep -qx "Error: No such container: nosuch"'

ctr_assert_clean
finish
