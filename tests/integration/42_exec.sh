#!/bin/sh
# `exec` into a running container: its exit code, 126/127, the container's
# environment plus -e, -u, -w, -d, -i, -t (a pty, through `script`), that it
# runs inside the container's namespaces and cgroups (sees its processes,
# counts in its pids), `top`, `stats --no-stream`, and the CVE-2019-5736 guard.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"

mr run -d --name c1 -e FROMRUN=1 -w /tmp busybox sh -c 'echo $$ > /tmp/init.pid; sleep 300; true' >/dev/null
sleep 0.3
mr exec c1 sh -c 'exit 5'; rc=$?
check "exec returns the command's exit code" [ "$rc" = 5 ]
mr exec c1 nonexist >"$T/e" 2>&1; rc=$?
check "exec of a missing command: 126 (Docker)" sh -c "[ $rc = 126 ] && grep -q 'executable file not found' $T/e"
mr exec c1 /etc >"$T/e" 2>&1; rc=$?
check "exec of a folder: 126" [ "$rc" = 126 ]
check "exec sees the container's processes (PID 1 is its init)" sh -c '"$MINIRUN" exec c1 cat /proc/1/cmdline | tr "\0" " " | grep -q "^sh -c echo"'
check "exec sees the container's files" sh -c '[ "$("$MINIRUN" exec c1 cat /tmp/init.pid)" = 1 ]'
check "exec has the container's env, HOSTNAME, and -e" sh -c '"$MINIRUN" exec -e X=2 c1 env >'"$T"'/env && grep -qx FROMRUN=1 '"$T"'/env && grep -qx X=2 '"$T"'/env && grep -q "^HOSTNAME=" '"$T"'/env'
check "exec's working folder is the container's, -w changes it" sh -c '[ "$("$MINIRUN" exec c1 pwd)" = /tmp ] && [ "$("$MINIRUN" exec -w / c1 pwd)" = / ]'
check "exec -u nobody" sh -c '[ "$("$MINIRUN" exec -u nobody c1 id -u)" = 65534 ]'
check "exec has the container's capabilities" sh -c '"$MINIRUN" exec c1 grep -q "^CapEff:	00000000a80425fb" /proc/self/status'
check "exec's hostname and namespaces are the container's" sh -c '[ "$("$MINIRUN" exec c1 hostname)" = "$("$MINIRUN" inspect -f "{{.Config.Hostname}}" c1)" ] &&
	"$MINIRUN" exec c1 sh -c "for n in net uts ipc mnt pid cgroup; do [ \$(readlink /proc/self/ns/\$n) = \$(readlink /proc/1/ns/\$n) ] || exit 1; done"'
check "exec -i passes stdin" sh -c '[ "$(echo hi | "$MINIRUN" exec -i c1 cat)" = hi ]'
check "exec -d returns at once, the command runs" sh -c '"$MINIRUN" exec -d c1 sh -c "sleep 0.2; touch /tmp/detached" && sleep 0.6 && "$MINIRUN" exec c1 test -e /tmp/detached'
check "exec's process is in the container's cgroup" sh -c '"$MINIRUN" exec c1 cat /proc/self/cgroup | grep -q "^0::/$"'
mr exec c1 /proc/self/exe version >"$T/e" 2>&1; rc=$?
check "CVE-2019-5736: exec of /proc/self/exe is refused" sh -c "[ $rc = 126 ] && grep -q 'own binary' $T/e"
check "the exec'd process is a child in the container's PID namespace" sh -c '"$MINIRUN" exec c1 sh -c "echo \$\$" | grep -qv "^1$"'
if command -v script >/dev/null; then
	check "exec -it through a pty: tty, exit code" sh -c 'printf "tty; exit 4\n" | script -qec "$MINIRUN exec -it c1 sh" /dev/null >'"$T"'/tty.out; [ $? = 4 ] && grep -q "/dev/pts/" '"$T"'/tty.out'
	# an exec is not logged: no log record (TIME o...) may reach its terminal
	check "exec -it: nothing but the session on the terminal" sh -c '! grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z [oOeE]" '"$T"'/tty.out'
fi
mr top c1 >"$T/top"
check "top: ps-like columns" sh -c "head -1 $T/top | grep -qE '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$'"
check "top: the init and its sleep" sh -c "grep -q 'sh -c echo' $T/top && grep -q 'sleep 300' $T/top"
mr stats --no-stream c1 >"$T/stats"
check "stats --no-stream: Docker's columns" sh -c "head -1 $T/stats | grep -qE '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$'"
check "stats: the container's row with 2 pids" sh -c "grep -E '^[0-9a-f]{12} +c1 +[0-9.]+% +[0-9.]+[KMG]?i?B / [0-9.]+[KMGT]iB +[0-9.]+% .* 2$' $T/stats"
mr exec -w /missing c1 pwd >"$T/e" 2>&1; rc=$?
check "exec -w /missing: 126 with runc's words, nothing created (Docker)" sh -c "[ $rc = 126 ] && grep -q 'chdir to cwd (\"/missing\") set in config.json failed: no such file or directory' $T/e && ! '$MINIRUN' exec c1 test -e /missing"
mr stop -t 0 c1 >/dev/null
mr exec c1 true >"$T/e" 2>&1; rc=$?
check "exec into a stopped container: 1 (Docker), says so" sh -c "[ $rc = 1 ] && grep -q 'Container [0-9a-f]* is not running' $T/e"
mr rm c1 >/dev/null
ctr_assert_clean
finish
