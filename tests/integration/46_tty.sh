#!/bin/sh
# -t: a pty of the container's own devpts; -it relays the terminal in raw
# mode (through `script`, which gives minirun a terminal): the program sees a
# tty and TERM, the window size, Ctrl-C reaches the container as a character
# (the shell survives it), and the exit code comes back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
command -v script >/dev/null || skip "script (bsdutils) missing"

tscript() { script -qec "$1" /dev/null; }
tscript "stty rows 30 cols 101; $MINIRUN run --rm -t busybox sh -c 'tty; stty size; echo \$TERM; ls -l /dev/console; exit 4'" >"$T/t1" 2>&1; rc=$?
check "-t: a tty of the container's devpts" grep -q '^/dev/pts/0' "$T/t1"
check "-t: the window size of the caller's terminal" grep -q '^30 101' "$T/t1"
check "-t: TERM=xterm and /dev/console is the pty" sh -c "grep -q '^xterm' $T/t1 && grep -q 'console' $T/t1"
check "-t: the exit code comes back" [ "$rc" = 4 ]
(sleep 0.8; printf 'sleep 30\n'; sleep 0.5; printf '\003'; sleep 0.5; printf 'echo after-ctrl-c\n'; sleep 0.3; printf 'exit 2\n') |
	tscript "$MINIRUN run --rm -it busybox sh" >"$T/t2" 2>&1; rc=$?
check "-it: Ctrl-C interrupts the program in the container, the shell goes on" grep -q '^after-ctrl-c' "$T/t2"
check "-it: exit code 2" [ "$rc" = 2 ]
printf 'exit 3\n' | tscript "$MINIRUN run --rm -i busybox sh" >/dev/null 2>&1; rc=$?
check "-i without -t: stdin passed through" [ "$rc" = 3 ]
mr run -d -t --name dt busybox sh -c 'tty; echo detached-tty' >/dev/null
mr wait dt >/dev/null
check "-d -t: the pty's output goes to the log" sh -c '"$MINIRUN" logs dt | grep -q "^/dev/pts/0" && "$MINIRUN" logs dt | grep -q detached-tty'
mr rm dt >/dev/null
echo x | mr run --rm -it busybox true >"$T/e" 2>&1; rc=$?
check "-it without a terminal: refused like Docker" sh -c "[ $rc = 125 ] && grep -q 'not a TTY' $T/e"
ctr_assert_clean
finish
