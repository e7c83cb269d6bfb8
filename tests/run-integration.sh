#!/bin/bash
# Run the integration scripts against one minirun binary.
#
# Usage: tests/run-integration.sh /path/to/minirun [PATTERN...]
#
# Runs every tests/integration/*.sh in name order (except lib.sh and names
# starting with "_", which are sourced helpers), or those whose name contains
# one of the PATTERNs. Each script gets:
#   MINIRUN         the binary (absolute path)
#   MINIRUN_ROOT    a fresh, empty store folder
#   MINIRUN_RUNDIR  a fresh run folder
#   TMPDIR          a fresh scratch folder (also the working directory)
#   MINIRUN_SRC     the repository
#   MINIRUN_TEST_SKIP  a file: a script that cannot run here writes why into it
#                   (or prints it as its last line on stderr) and exits 77
# stdin is /dev/null; output goes to build/test-logs/<name>.log (printed in part
# when the script fails).
#
# Isolation: where possible (root, util-linux unshare) each script runs as the
# child of a small PID 1 in its own PID, mount and network namespaces (host
# mounts still propagate in, its own do not leak out; the network namespace
# has only loopback, so bridges, veths and servers a test makes never touch
# the host's networking). When the script
# ends, that PID 1 lists what it left behind (processes, mounts under its
# folders), kills and unmounts it, and the script FAILS if anything was left:
# tests must undo what they make. Without unshare the same is done from
# outside: the script's session and every process carrying its MINIRUN_ROOT are
# killed and its mounts detached. Folders are then removed without crossing
# into any mount.
#
# Environment: MINIRUN_TEST_ISOLATE=0 (no namespaces), TEST_TIMEOUT (seconds per script, default 900), V=1 (stream
# each script's output instead of logging it), MINIRUN_TEST_LOGS (log folder).
# Exit: 0 if nothing failed (skips are not failures), 1 otherwise.
set -u

# ---- inner mode: PID 1 of the test's namespaces ----------------------------
if [ "${1:-}" = --inner ]; then
	script=$2 meta=$3 work=$4
	# A network namespace of the test's own: bridges, veths and servers it
	# makes never touch the host's networking; loopback is all it starts with.
	ip link set lo up 2>/dev/null || true
	if [ -x "$script" ]; then "$script" </dev/null; else sh "$script" </dev/null; fi
	rc=$?
	# Only the PID 1 of a namespace of our own may list and kill "everything
	# else": anywhere else `kill -1` would hit every process of the machine.
	# Without a namespace the outer runner cleans up (outer_cleanup).
	[ $$ = 1 ] || exit $rc
	# What is left: every process but us (zombies are only waiting for us).
	left=()
	for p in /proc/[0-9]*; do
		n=${p#/proc/}
		[ "$n" = $$ ] && continue
		read -r stat 2>/dev/null <"$p/stat" || continue
		st=${stat##*) }
		[ "${st%% *}" = Z ] && continue
		args=()
		mapfile -d '' args 2>/dev/null <"$p/cmdline"
		left+=("$n ${args[*]:-[${stat#*(}}")
	done
	if [ ${#left[@]} -gt 0 ]; then
		printf '%s\n' "${left[@]}" >"$meta/procs"
		kill -KILL -1 2>/dev/null
		for _ in $(seq 50); do
			wait 2>/dev/null
			alive=0
			for p in /proc/[0-9]*; do
				[ "${p#/proc/}" = $$ ] && continue
				read -r stat 2>/dev/null <"$p/stat" || continue
				st=${stat##*) }
				[ "${st%% *}" = Z ] || alive=1
			done
			[ $alive = 0 ] && break
			sleep 0.1
		done
	fi
	# Mounts left under the test's folders (mountinfo field 5, octal escapes).
	mounts=()
	while read -r _ _ _ _ mp _; do
		mp=$(printf '%b' "$mp")
		case $mp in "$work" | "$work"/*) mounts+=("$mp") ;; esac
	done </proc/self/mountinfo
	if [ ${#mounts[@]} -gt 0 ]; then
		printf '%s\n' "${mounts[@]}" >"$meta/mounts"
		printf '%s\n' "${mounts[@]}" | sort -r | while read -r mp; do
			umount -l "$mp" 2>/dev/null
		done
	fi
	exit $rc
fi

# ---- outer mode --------------------------------------------------------------
BIN=${1:?usage: tests/run-integration.sh /path/to/minirun [PATTERN...]}
shift
BIN=$(readlink -f "$BIN")
[ -x "$BIN" ] || { echo "run-integration: $BIN is not an executable" >&2; exit 2; }
SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
LOGS=${MINIRUN_TEST_LOGS:-$SRC/build/test-logs}
BASE_TMP=${TMPDIR:-/tmp}
TIMEOUT=${TEST_TIMEOUT:-900}
mkdir -p "$LOGS"

tests=()
for t in "$SRC"/tests/integration/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	case $name in lib | _*) continue ;; esac
	if [ $# -gt 0 ]; then
		match=0
		for pat in "$@"; do case $name in *"$pat"*) match=1 ;; esac; done
		[ $match = 1 ] || continue
	fi
	tests+=("$t")
done
if [ ${#tests[@]} = 0 ]; then
	echo "integration: no tests to run${1:+ matching $*}"
	exit 0
fi

ISOLATE=0
if [ "${MINIRUN_TEST_ISOLATE:-1}" = 1 ] && [ "$(id -u)" = 0 ] && unshare --pid --net --fork --kill-child --mount-proc --propagation slave true 2>/dev/null; then
	ISOLATE=1
elif [ "${MINIRUN_TEST_ISOLATE:-1}" = 1 ]; then
	echo "integration: no PID/mount namespaces here (not root?): cleaning up from outside" >&2
fi

cur_work= cur_meta=
# Remove a test's folders, never crossing into a mount (a bind mount of / left
# by a broken test must not be emptied).
remove_dirs() {
	local d
	for d in "$@"; do
		[ -n "$d" ] && [ -d "$d" ] || continue
		grep -o " $d[/ ][^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r mp; do
			umount -l "$mp" 2>/dev/null
		done
		rm -rf --one-file-system "$d" 2>/dev/null || echo "integration: could not remove $d" >&2
	done
}
trap 'remove_dirs "$cur_work" "$cur_meta"; exit 130' INT TERM HUP

# Without namespaces: kill the script's session and any process that still
# carries its store in its environment (a detached monitor), then detach mounts.
# Only processes started after the script (pid reuse cannot pick a stranger).
outer_cleanup() { # sid since work meta
	local sid=$1 since=$2 work=$3 meta=$4 p stat f env
	for p in /proc/[0-9]*; do
		read -r stat 2>/dev/null <"$p/stat" || continue
		read -r -a f <<<"${stat##*) }"
		# f[3]: session, f[19]: start time in clock ticks since boot
		[ "${f[19]:-0}" -ge "$since" ] || continue
		env=$(tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -Fx "MINIRUN_ROOT=$work/root")
		if [ "${f[3]}" = "$sid" ] || [ -n "$env" ]; then
			echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" >>"$meta/procs"
			kill -KILL "${p#/proc/}" 2>/dev/null
		fi
	done
	grep -o " $work[/ ][^ ]*" /proc/self/mounts | sed 's/^ //' | sort -r >"$meta/mounts.tmp"
	[ -s "$meta/mounts.tmp" ] && mv "$meta/mounts.tmp" "$meta/mounts"
	rm -f "$meta/mounts.tmp"
}

# In the subshell that starts a script: its environment and working folder.
test_env() {
	export MINIRUN=$BIN MINIRUN_ROOT=$cur_work/root MINIRUN_RUNDIR=$cur_work/run \
		MINIRUN_SRC=$SRC MINIRUN_TEST_SKIP=$cur_meta/skip TMPDIR=$cur_work/tmp
	cd "$cur_work/tmp"
}

pass=0 fail=0 skip=0 failed=()
# Images whose build needs Debian's mirror are built here, before any test is
# in its own network namespace (loopback only); the test then finds them in
# the cache, or skips with the reason. A failed build (not a skip) fails the run.
case " ${tests[*]}" in *"/33_services.sh"*)
	echo "integration: service images (tests/service-images.sh, log: $LOGS/service-images.log)"
	start=$(date +%s)
	"$SRC/tests/service-images.sh" >/dev/null 2>"$LOGS/service-images.log"
	case $? in
	0) echo "integration: service images ready after $(($(date +%s) - start)) s" ;;
	77) echo "integration: service images $(tail -1 "$LOGS/service-images.log")" ;;
	*) echo "FAIL service images: $(tail -1 "$LOGS/service-images.log")"
	   fail=1 failed=(service-images) ;;
	esac ;;
esac
# The boot and power-cut tests' kernel, likewise: downloaded here (the newest
# that downloads), found in the cache by the tests.
case " ${tests[*]}" in *"/71_qemu_boot.sh"* | *"/72_powercut.sh"*)
	if kdir=$("$SRC/tests/integration/_kernel.sh" amd64 cloud-amd64 2>"$LOGS/kernel.log"); then
		echo "integration: boot kernel ${kdir##*/kernel-}"
	else
		echo "integration: boot kernel: $(tail -1 "$LOGS/kernel.log") (71_qemu_boot fails, 72_powercut skips)"
	fi ;;
esac
# The foreign kernels and busyboxes of the ARM boots, the same way (apt-get
# download needs the network; tests/qemu-arch.sh caches them).
case " ${tests[*]}" in *"/73_qemu_arm.sh"*)
	echo "integration: ARM kernels and busybox (tests/qemu-arch.sh, log: $LOGS/qemu-arch.log)"
	"$SRC/tests/qemu-arch.sh" prefetch >"$LOGS/qemu-arch.log" 2>&1 ||
		echo "integration: ARM kernels: $(tail -1 "$LOGS/qemu-arch.log") (73_qemu_arm uses what is cached)" ;;
esac
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$LOGS/$name.log
	cur_work=$(mktemp -d "$BASE_TMP/minirun-it.XXXXXX")
	cur_meta=$(mktemp -d "$BASE_TMP/minirun-it-meta.XXXXXX")
	mkdir "$cur_work/root" "$cur_work/run" "$cur_work/tmp"
	start=$(date +%s%N)
	if [ "${V:-0}" = 1 ]; then
		exec 3> >(tee "$log")
	else
		exec 3>"$log"
	fi
	if [ $ISOLATE = 1 ]; then
		(test_env && exec timeout -k 10 "$TIMEOUT" unshare --pid --net --fork --kill-child \
			--mount-proc --propagation slave \
			bash "$SELF" --inner "$t" "$cur_meta" "$cur_work") >&3 2>&1 </dev/null
		rc=$?
	else
		if [ -x "$t" ]; then run=("$t"); else run=(sh "$t"); fi
		read -r up _ </proc/uptime
		since=$(( ${up%.*} * $(getconf CLK_TCK) ))
		(test_env && exec setsid timeout -k 10 "$TIMEOUT" "${run[@]}") >&3 2>&1 </dev/null &
		sid=$!
		wait $sid
		rc=$?
		outer_cleanup "$sid" "$since" "$cur_work" "$cur_meta"
	fi
	exec 3>&-
	secs=$(( ($(date +%s%N) - start) / 1000000 ))
	secs=$(printf '%d.%01ds' $((secs / 1000)) $((secs % 1000 / 100)))
	why=""
	[ -s "$cur_meta/procs" ] && why="left processes: $(head -5 "$cur_meta/procs" | tr '\n' ';' | sed 's/;$//')"
	[ -s "$cur_meta/mounts" ] && why="${why:+$why; }left mounts: $(tr '\n' ' ' <"$cur_meta/mounts" | sed 's/ $//')"
	if [ $rc = 77 ] && [ -z "$why" ]; then
		if [ -s "$cur_meta/skip" ]; then
			reason=$(head -1 "$cur_meta/skip")
		else
			reason=$(grep -v '^[[:space:]]*$' "$log" | tail -1 | sed 's/^skipped: //')
		fi
		printf 'SKIP %-28s %s\n' "$name" "${reason:-no reason given}"
		skip=$((skip + 1))
	elif [ $rc = 0 ] && [ -z "$why" ]; then
		printf 'PASS %-28s %s\n' "$name" "$secs"
		pass=$((pass + 1))
	else
		case $rc in
		0) ;;
		124 | 137) why="${why:+$why; }timed out after ${TIMEOUT}s" ;;
		77) ;;
		*) why="exit $rc${why:+; $why}" ;;
		esac
		printf 'FAIL %-28s %s (%s)\n' "$name" "$why" "$secs"
		if [ "${V:-0}" != 1 ]; then
			tail -n 25 "$log" | sed 's/^/     | /'
			echo "     full log: $log"
		fi
		fail=$((fail + 1))
		failed+=("$name")
	fi
	remove_dirs "$cur_work" "$cur_meta"
	cur_work= cur_meta=
done
echo "integration: $pass passed, $fail failed, $skip skipped${failed[*]:+ (failed: ${failed[*]})}"
[ $fail = 0 ]
