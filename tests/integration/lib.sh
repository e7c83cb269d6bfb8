# Shared helpers for the integration scripts (sourced, POSIX sh).
# Every script runs with $MINIRUN (the binary) and gets its own temporary
# folder $T (a fresh store in $T/store unless MINIRUN_ROOT is set by the
# runner); everything it mounts or starts is undone by `cleanup` on exit,
# even when a check fails.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
: "${MINIRUN:=$REPO/minirun}"
T=$(mktemp -d "${TMPDIR:-/tmp}/minirun-it.XXXXXX")
: "${MINIRUN_ROOT:=$T/store}"
export MINIRUN_ROOT
: "${MINIRUN_RUNDIR:=$T/run}"
export MINIRUN_RUNDIR
FAILS=0
CHECKS=0

cleanup() {
	# Unmount whatever is still mounted under our folder (deepest first),
	# then remove it without crossing into any mount that would not go.
	grep -o " $T[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	[ -n "${EXTRA_CLEANUP:-}" ] && eval "$EXTRA_CLEANUP"
	if grep -q " $T" /proc/self/mounts; then
		echo "cleanup: mounts left under $T" >&2
	else
		rm -rf --one-file-system "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ok() { CHECKS=$((CHECKS + 1)); echo "  ok   $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "  FAIL $*"; }
check() { # check "description" command...
	d=$1; shift
	if "$@" >"$T/.out" 2>&1; then ok "$d"; else bad "$d"; sed 's/^/       /' "$T/.out" | tail -20; fi
}
skip() { echo "skipped: $*" >&2; exit 77; }
finish() {
	echo "  $CHECKS checks, $FAILS failed"
	[ "$FAILS" = 0 ]
	exit $?
}
mr() { "$MINIRUN" "$@"; }
# wait_listen PORT [NETNS-PID]: until a TCP socket listens on PORT (10 s at
# most): a server started in the background is ready, however loaded the
# machine is (a fixed sleep fails under load).
wait_listen() {
	_i=0
	while [ $_i -lt 200 ]; do
		if [ -n "${2:-}" ]; then
			nsenter -t "$2" -n ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		else
			ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		fi
		sleep 0.05; _i=$((_i + 1))
	done
	echo "wait_listen: nothing listens on port $1" >&2
	return 1
}
fixtures() {
	FIX=$("$REPO/tests/fixtures.sh") || skip "fixtures could not be built"
}
