#!/bin/bash
# The OCI runtime-tools validation suite (58 TAP programs, the conformance
# tests runc and crun run) against one runtime binary; prints a per-test
# table (points passed / total, PASS when every point passed) and totals.
#
#   tests/oci-validation.sh [RUNTIME] [TEST...]     (default: ./minirun, all)
#
# The suite is built once, outside the repository, by
# ../shared/oci-runtime-tools/build.sh (OCI_TOOLS_SRC; cache OCI_TOOLS_CACHE,
# default /var/cache/oci-runtime-tools) with Debian's Go packages only.
# A runtime named minirun is called through a symlink named runc (runc mode)
# with its own --root; runc and crun as they are. Each test runs in a private
# mount namespace with a timeout (OCI_TEST_TIMEOUT, 120 s); the cgroups the
# suite leaves (cgrouptest, testdir/cgrouptest) are removed afterwards.
# Output: the table on stdout, each test's TAP in $OCI_LOGS (build/oci-validation).
# Exit 77 when the suite cannot be built or run here (not root).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
RT=${1:-$REPO/minirun}
[ $# -gt 0 ] && shift
[ "$(id -u)" = 0 ] || { echo "skipped: the validation suite needs root" >&2; exit 77; }
SRC=${OCI_TOOLS_SRC:-$REPO/../shared/oci-runtime-tools}
[ -x "$SRC/build.sh" ] || SRC=/work/shared/oci-runtime-tools
CACHE=${OCI_TOOLS_CACHE:-/var/cache/oci-runtime-tools}
TOOLS=$("$SRC/build.sh" "$CACHE" 2>"${TMPDIR:-/tmp}/oci-tools-build.log" | tail -1) ||
	{ echo "skipped: the validation suite did not build (see ${TMPDIR:-/tmp}/oci-tools-build.log)" >&2; exit 77; }
LOGS=${OCI_LOGS:-$REPO/build/oci-validation}
mkdir -p "$LOGS"
W=$(mktemp -d "${TMPDIR:-/tmp}/oci-validation.XXXXXX")
trap 'rm -rf "$W"' EXIT

RT=$(readlink -f "$RT")
if "$RT" version 2>/dev/null | grep -q '^minirun version'; then
	ln -s "$RT" "$W/runc"
	printf '#!/bin/sh\nexec %s/runc --root %s/state "$@"\n' "$W" "$W" >"$W/runtime"
	chmod +x "$W/runtime"
	RUNTIME=$W/runtime
else
	RUNTIME=$RT
fi

cd "$TOOLS" || exit 1
tests=("$@")
[ ${#tests[@]} = 0 ] && mapfile -t tests < <(ls validation/*/*.t | sed 's|validation/\([^/]*\)/.*|\1|')
printf '%-40s %9s  %s\n' TEST POINTS RESULT
full=0 n=0 okp=0 allp=0
for t in "${tests[@]}"; do
	log=$LOGS/$t.tap
	RUNTIME=$RUNTIME timeout "${OCI_TEST_TIMEOUT:-120}" unshare -m --propagation private \
		"./validation/$t/$t.t" >"$log" 2>&1
	rc=$?
	ok=$(grep -cE '^ok [0-9]+' "$log")
	notok=$(grep -cE '^not ok [0-9]+' "$log")
	# some programs print two TAP streams (the second "1..0"): the larger plan
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$log" | sort -n | tail -1)
	# a YAML diagnostic block that follows no "ok" line is how the hook and
	# lifecycle tests report a failure
	orphan=$(awk '/^(ok|not ok) [0-9]/ { last = 1; next } /^  ---$/ { if (!last) n++; last = 0; next }
		/^  \.\.\.$/ { last = 0 } END { print n + 0 }' "$log")
	total=$((ok + notok))
	[ -n "$plan" ] && [ "$plan" -gt "$total" ] && total=$plan
	# passed: exit 0, no "not ok", every planned point ok; a program
	# without points (plan 1..0, or the *_fail ones that print no TAP)
	# passes when it reported no diagnostic
	if [ "$rc" = 0 ] && [ "$notok" = 0 ] && [ "$ok" = "${plan:-0}" ] && { [ "$ok" -gt 0 ] || [ "$orphan" = 0 ]; }; then
		res=PASS
		full=$((full + 1))
	elif [ "$rc" = 124 ]; then
		res="FAIL (timeout)"
	else
		res=FAIL
	fi
	n=$((n + 1))
	okp=$((okp + ok))
	allp=$((allp + total))
	printf '%-40s %4s/%-4s  %s\n' "$t" "$ok" "$total" "$res"
	# what the suite leaves behind
	for d in /sys/fs/cgroup/*/testdir/cgrouptest /sys/fs/cgroup/*/cgrouptest /sys/fs/cgroup/*/testdir \
		 /sys/fs/cgroup/testdir/cgrouptest /sys/fs/cgroup/cgrouptest /sys/fs/cgroup/testdir \
		 /sys/fs/cgroup/*/minirun-oci/testdir/cgrouptest /sys/fs/cgroup/*/minirun-oci/cgrouptest \
		 /sys/fs/cgroup/*/minirun-oci/testdir /sys/fs/cgroup/*/minirun-oci /sys/fs/cgroup/minirun-oci; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
done
printf 'fully passed: %d / %d tests; points: %d / %d\n' "$full" "$n" "$okp" "$allp"
