#!/bin/sh
# Docker's default seccomp profile (MINIRUN_WITH_SECCOMP): a static probe
# program, built here with musl-gcc and bind-mounted into busybox
# containers, makes the calls the profile refuses or limits and prints what
# each returned. Checked in `run` and `exec`, lifted by a capability where
# Docker lifts it, and gone with --privileged or seccomp=unconfined. Then a
# profile file (--security-opt seccomp=FILE) in run, create/start and exec.
. "$(dirname "$0")/lib.sh"
"$MINIRUN" version | grep -q -- '+seccomp' || skip "built without MINIRUN_WITH_SECCOMP"
command -v musl-gcc >/dev/null || skip "musl-gcc missing (apt-get install musl-tools)"
. "$(dirname "$0")/_ctr.sh"
EXTRA_CLEANUP='"$MINIRUN" rm -f sc sc2 scp >/dev/null 2>&1'

mkdir -p "$T/probe"
cat >"$T/probe.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/personality.h>
static void show(const char *what, long r) { printf("%s=%s\n", what, r < 0 ? strerror(errno) : "ok"); }
int main(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Seccomp:", 8))
			printf("mode=%s", line + 9 + strspn(line + 9, " \t"));
	show("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -2));
	show("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -2, 0));
	show("userfaultfd", syscall(SYS_userfaultfd, 0));
	show("clone3", syscall(SYS_clone3, NULL, 0));
	show("unshare_uts", syscall(SYS_unshare, CLONE_NEWUTS));
	show("personality_linux", syscall(SYS_personality, 0xffffffff));
	show("personality_odd", syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */));
	show("getpid", syscall(SYS_getpid));
	return 0;
}
C
musl-gcc -static -O1 -o "$T/probe/probe" "$T/probe.c" || skip "cannot build the probe program"

probe() { "$MINIRUN" run --rm -v "$T/probe:/probe:ro" "$@" busybox /probe/probe 2>&1; }
probe >"$T/default"
check "default: the filter is on (Seccomp: 2)" grep -qx 'mode=2' "$T/default"
check "default: add_key and keyctl refused (EPERM)" sh -c "grep -qx 'add_key=Operation not permitted' '$T/default' && grep -qx 'keyctl=Operation not permitted' '$T/default'"
check "default: userfaultfd refused" grep -qx 'userfaultfd=Operation not permitted' "$T/default"
check "default: clone3 answers ENOSYS (libcs fall back to clone)" grep -qx 'clone3=Function not implemented' "$T/default"
check "default: unshare refused" grep -qx 'unshare_uts=Operation not permitted' "$T/default"
check "default: personality(query) allowed, other personalities refused" sh -c "grep -qx 'personality_linux=ok' '$T/default' && grep -qx 'personality_odd=Operation not permitted' '$T/default'"
check "default: ordinary calls work" grep -qx 'getpid=ok' "$T/default"
check "default: busybox still works (fork, exec, pipes)" sh -c '[ "$("$MINIRUN" run --rm busybox sh -c "echo a | cat; ls / | grep -c etc")" = "a
1" ]'

probe --cap-add SYS_ADMIN >"$T/admin"
check "--cap-add SYS_ADMIN lifts unshare and clone3 (as Docker does)" sh -c "grep -qx 'unshare_uts=ok' '$T/admin' && ! grep -q 'clone3=Function not implemented' '$T/admin'"
check "... but not add_key" grep -qx 'add_key=Operation not permitted' "$T/admin"
probe --security-opt seccomp=unconfined >"$T/unconfined"
check "seccomp=unconfined: no filter (Seccomp: 0), add_key reaches the kernel" sh -c "grep -qx 'mode=0' '$T/unconfined' && ! grep -q 'add_key=Operation not permitted' '$T/unconfined'"
probe --privileged >"$T/priv"
check "--privileged: no filter" grep -qx 'mode=0' "$T/priv"
# --security-opt seccomp=FILE (MINIRUN_WITH_SECCOMP_PROFILE): Docker's profile
# format, compiled by minirun; mkdir refused with EACCES, add_key with ENOSYS
# (38), personality(READ_IMPLIES_EXEC) with EPERM only for that value.
if "$MINIRUN" version | grep -q -- '+seccomp-profile'; then
	"$MINIRUN" run --rm --security-opt seccomp=/no/such/profile.json busybox true >"$T/file" 2>&1; rc=$?
	check "a missing profile file: refused with the reason, exit 125" sh -c "[ $rc = 125 ] && grep -q 'opening seccomp profile (/no/such/profile.json) failed' '$T/file'"
	cat >"$T/profile.json" <<'J'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "archMap": [ { "architecture": "SCMP_ARCH_X86_64", "subArchitectures": [ "SCMP_ARCH_X86", "SCMP_ARCH_X32" ] },
               { "architecture": "SCMP_ARCH_AARCH64", "subArchitectures": [ "SCMP_ARCH_ARM" ] } ],
  "syscalls": [
    { "names": [ "mkdir", "mkdirat", "not_a_call" ], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
    { "names": [ "add_key" ], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 },
    { "names": [ "personality" ], "action": "SCMP_ACT_ERRNO",
      "args": [ { "index": 0, "value": 4194304, "op": "SCMP_CMP_EQ" } ] }
  ]
}
J
	probe --security-opt seccomp="$T/profile.json" >"$T/custom"
	check "profile: the filter is on (Seccomp: 2)" grep -qx 'mode=2' "$T/custom"
	check "profile: add_key answers its errnoRet (38, ENOSYS)" grep -qx 'add_key=Function not implemented' "$T/custom"
	check "profile: personality refused for the value of its condition only" sh -c "grep -qx 'personality_odd=Operation not permitted' '$T/custom' && grep -qx 'personality_linux=ok' '$T/custom'"
	check "profile: other calls allowed (clone3 is not refused)" sh -c "grep -qx 'getpid=ok' '$T/custom' && ! grep -q 'clone3=Function not implemented' '$T/custom'"
	"$MINIRUN" run --rm --security-opt seccomp="$T/profile.json" busybox sh -c 'mkdir /tmp/d; echo "rc=$?"; touch /tmp/f && echo touched' >"$T/mkdir" 2>&1
	check "profile: mkdir fails with the profile's errno (Permission denied), touch works" sh -c "grep -q 'Permission denied' '$T/mkdir' && grep -qx 'rc=1' '$T/mkdir' && grep -qx touched '$T/mkdir'"
	cp "$T/profile.json" "$T/gone.json"
	mr create --name scp --security-opt "seccomp=$T/gone.json" busybox sh -c 'mkdir /d' >/dev/null
	rm "$T/gone.json"
	check "inspect shows the profile in HostConfig.SecurityOpt, as Docker" sh -c "\"$MINIRUN\" inspect scp | grep -q '\"seccomp={.*SCMP_ACT_ALLOW'"
	"$MINIRUN" start -a scp >"$T/started" 2>&1
	check "start uses the profile stored at create (its file is gone)" grep -q 'Permission denied' "$T/started"
	mr rm -f scp >/dev/null
	mr run -d --name sc2 --security-opt "seccomp=$T/profile.json" -v "$T/probe:/probe:ro" busybox sleep 60 >/dev/null
	"$MINIRUN" exec sc2 /probe/probe >"$T/exec2" 2>&1
	check "exec joins the container's profile" grep -qx 'add_key=Function not implemented' "$T/exec2"
	mr rm -f sc2 >/dev/null
	# where the filter goes in, as runc: without no-new-privileges before the
	# capabilities are set (a profile refusing capset stops the start), with
	# it just before exec (the start goes through, the program is filtered)
	printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["capset","mkdirat","mkdir"],"action":"SCMP_ACT_ERRNO"}]}' >"$T/capset.json"
	"$MINIRUN" run --rm --security-opt seccomp="$T/capset.json" busybox true >"$T/capset" 2>&1; rc=$?
	check "a profile refusing capset: the start fails without no-new-privileges (exit $rc)" sh -c "[ $rc != 0 ] && grep -q 'capabilities' '$T/capset'"
	"$MINIRUN" run --rm --security-opt no-new-privileges --security-opt seccomp="$T/capset.json" busybox sh -c 'mkdir /tmp/d || echo refused' >"$T/capset2" 2>&1; rc=$?
	check "the same profile with no-new-privileges: installed just before exec, the program runs filtered" sh -c "[ $rc = 0 ] && grep -qx refused '$T/capset2'"
	printf '{"defaultAction":"SCMP_ACT_NOPE"}' >"$T/bad.json"
	"$MINIRUN" run --rm --security-opt seccomp="$T/bad.json" busybox true >"$T/bad" 2>&1
	check "a profile with an unknown action: the container fails, naming it" grep -q 'unknown action "SCMP_ACT_NOPE"' "$T/bad"
else
	"$MINIRUN" run --rm --security-opt seccomp=/no/such/profile.json busybox true >"$T/file" 2>&1; rc=$?
	check "without MINIRUN_WITH_SECCOMP_PROFILE a profile file is refused, exit 125" sh -c "[ $rc = 125 ] && grep -q 'built without MINIRUN_WITH_SECCOMP_PROFILE' '$T/file'"
	echo "  skipped: profiles: built without MINIRUN_WITH_SECCOMP_PROFILE"
fi

mr run -d --name sc -v "$T/probe:/probe:ro" busybox sleep 60 >/dev/null
"$MINIRUN" exec sc /probe/probe >"$T/exec" 2>&1
check "exec joins the container's filter" sh -c "grep -qx 'mode=2' '$T/exec' && grep -qx 'add_key=Operation not permitted' '$T/exec'"
mr rm -f sc >/dev/null
finish
