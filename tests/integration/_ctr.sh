# Helpers of the container tests (sourced after lib.sh; "_" names are not run).
# Loads the busybox fixture into the test's store, removes every container of
# the store on exit (even after a failed check), and checks that nothing is
# left behind: no mount under the store, no monitor process of the store, no
# cgroup made by the test.
fixtures
[ "$(id -u)" = 0 ] || skip "containers need root"
mr load -q -i "$FIX/busybox-docker.tar" >/dev/null 2>&1 || { echo "load busybox failed" >&2; exit 1; }

# The cgroup folders of minirun's containers, as "hierarchy/minirun/ID".
ctr_cgroups() {
	for d in /sys/fs/cgroup/*/minirun/* /sys/fs/cgroup/minirun/*; do
		[ -d "$d" ] && echo "$d"
	done 2>/dev/null | sort
}
ctr_cgroups >"$T/cg.before"

# Pids of the monitors of this store (by the store path in their command line).
ctr_monitors() {
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")
		case $c in *"--root $MINIRUN_ROOT "*" __monitor "*) echo "${p#/proc/}" ;; esac
	done
}

ctr_cleanup() {
	for id in $("$MINIRUN" ps -aq --no-trunc 2>/dev/null); do
		"$MINIRUN" rm -f "$id" >/dev/null 2>&1
	done
	for p in $(ctr_monitors); do kill -KILL "$p" 2>/dev/null; done
}
EXTRA_CLEANUP=ctr_cleanup

# New cgroup folders that stay empty: leftovers (a live container's folder
# has processes; another user's removal takes milliseconds).
ctr_cgroups_left() {
	ctr_cgroups >"$T/cg.after"
	for d in $(comm -13 "$T/cg.before" "$T/cg.after"); do
		grep -q . "$d/cgroup.procs" 2>/dev/null && continue
		sleep 1
		[ -d "$d" ] && ! grep -q . "$d/cgroup.procs" 2>/dev/null && echo "$d"
	done
}

# The end of every container test: remove what is left, then check.
ctr_assert_clean() {
	ctr_cleanup
	if grep -q " $MINIRUN_ROOT" /proc/self/mounts; then
		bad "no mount left under the store: $(grep " $MINIRUN_ROOT" /proc/self/mounts | head -3)"
	else
		ok "no mount left under the store"
	fi
	m=$(ctr_monitors)
	[ -z "$m" ] && ok "no monitor process left" || bad "monitor processes left: $m"
	c=$(ctr_cgroups_left)
	[ -z "$c" ] && ok "no cgroup left" || bad "cgroups left: $c"
	[ -z "$(ls "$MINIRUN_ROOT/containers" 2>/dev/null | grep -v '^\.names$')" ] &&
		ok "no container record left" || bad "container records left: $(ls "$MINIRUN_ROOT/containers")"
}

# Wait until `ps` shows the container with a status matching the pattern.
ctr_wait_status() { # NAME PATTERN [TENTHS]
	n=${3:-50}
	while [ "$n" -gt 0 ]; do
		"$MINIRUN" ps -a --filter "name=^$1\$" --format '{{.Status}}' | grep -q "$2" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	"$MINIRUN" ps -a --filter "name=^$1\$" --format '{{.Status}}' >&2
	return 1
}

# `run --rm ARGS busybox true` must be refused as minirun's own failure: exit
# 125, one line naming the problem (the expected text), no container made.
ctr_run_refused() { # expected-message args...
	msg=$1; shift
	"$MINIRUN" run --rm "$@" busybox true >"$T/refused" 2>&1
	brc=$?
	# one line, or Docker's run form: "minirun: Error: ....", "See 'minirun run --help'."
	[ $brc = 125 ] && grep -qF -e "$msg" "$T/refused" && { [ "$(wc -l <"$T/refused")" = 1 ] ||
		{ [ "$(wc -l <"$T/refused")" = 2 ] && tail -1 "$T/refused" | grep -qx "See 'minirun run --help'."; }; } &&
		[ -z "$("$MINIRUN" ps -aq)" ] || { cat "$T/refused"; echo "exit $brc"; return 1; }
}
