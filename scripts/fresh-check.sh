#!/bin/bash
# make fresh-check: the README's two commands, verbatim, on a fresh Debian 12.
#
# Usage: scripts/fresh-check.sh [COMMAND...]    (as root)
#
# Builds a minimal Debian 12 root (debootstrap --variant=minbase bookworm, from
# the mirror of this machine's own apt sources, which are copied into it as a
# fresh install has them), puts a clean clone of this repository's HEAD in it
# (/root/minirun; uncommitted changes are not in it), and runs in it, each as
# `bash -euo pipefail -c` from the clone:
#   1. the README's set-up block (the one running scripts/setup.sh and make),
#   2. the README's test command (the block after <!-- test-command -->),
#   3. each COMMAND given (CI: presets, sizes, cross builds in the same root),
# printing the wall time of each, PASS or FAIL, and the tests that skipped.
# The root is a chroot with /proc, /sys (with its cgroup mounts), /dev,
# /dev/pts bound in, a /run of its own (a tmpfs, as at boot: the host's /run
# would let package scripts reach the host's services) and the host's
# resolv.conf. It never sees the host's .deps, /var/cache/minirun-deps or
# /var/cache/minirun-tests: it builds everything itself.
#
# Everything happens in a private mount namespace, so no mount can leak even
# on a crash; the mounts and the root are still removed explicitly at the end,
# also on failure or Ctrl-C.
#
# Cached outside the repository, in $FRESH_CACHE (/var/cache/minirun-fresh):
# the finished debootstrap root as a tarball, keyed by date, mirror and
# debootstrap's version (a new one each day), and apt's downloaded .deb files
# (bound as the root's /var/cache/apt/archives; apt still checks each against
# the signed indexes, and a fresh machine downloads them itself).
#
# Environment: FRESH_CACHE; FRESH_ONLY=setup (stop after the set-up command,
# to iterate quickly); FRESH_T=pattern (passed to the test command as T=);
# FRESH_KEEP=1 (leave the root in place for a look, still unmounted);
# the logs of the last run stay in $FRESH_CACHE/last-run/;
# FRESH_TMP (where the root is made, /var/tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
exec </dev/null

die() { echo "fresh-check: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot, mounts)"
for t in debootstrap unshare chroot git tar zstd flock; do
	command -v $t >/dev/null || die "$t not found (apt-get install debootstrap util-linux git tar zstd)"
done

# ---- outer part: a private mount namespace for everything ------------------
if [ -z "${FRESH_IN_NS:-}" ]; then
	export FRESH_IN_NS=1
	exec unshare -m --propagation private "$0" "$@"
fi

CACHE=${FRESH_CACHE:-/var/cache/minirun-fresh}
SUITE=bookworm

# The machine's own Debian mirror: the first deb822 stanza (or one-line entry)
# of type deb for bookworm; and the Debian entries to copy into the root (the
# stanzas or lines naming that mirror or its -security sibling, no third party).
srcs=(/etc/apt/sources.list.d/*.sources)
mirror=$(awk 'BEGIN { RS = ""; FS = "\n" }
	/(^|\n)Types:[^\n]*deb([ \n]|$)/ && /(^|\n)Suites:[^\n]* '$SUITE'([ \n]|$)/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, a, " "); print a[2]; exit } }' \
	"${srcs[@]}" 2>/dev/null | head -1 || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "'$SUITE'" { print $2; exit }' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 || true)
[ -n "$mirror" ] || die "no Debian $SUITE mirror in this machine's apt sources"
sources_for_root() { # the Debian part of the host's apt sources, deb only
	local f
	for f in "${srcs[@]}"; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n"; ORS = "\n\n" }
			/(^|\n)Types:[^\n]*deb([ \n]|$)/ && /(^|\n)URIs:[^\n]*debian/ && /(^|\n)Suites:[^\n]*'$SUITE'/ {
				gsub(/Types:[^\n]*/, "Types: deb"); print }' "$f"
	done
}
sources_list_for_root() {
	awk '$1 == "deb" && $2 ~ /debian/ && $3 ~ /^'$SUITE'/' /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list 2>/dev/null || true
}

# The README's commands: the fenced block running scripts/setup.sh and make
# before <!-- test-command -->, and the block after it (as .ci/run reads it).
readme_block() { # setup|test
	awk -v want="$1" '/<!-- test-command -->/ { tc = 1; next }
		/^```/ { if (inb) { inb = 0; if (want == "test" && tc == 1) { printf "%s", b; exit }
				if (want == "setup" && !tc && b ~ /scripts\/setup\.sh/ && b ~ /make/) { printf "%s", b; exit }
				if (tc == 1) tc = 2 }
			else { inb = 1; b = "" } next }
		inb { b = b $0 "\n" }' README.md
}
SETUP_CMD=$(readme_block setup)
TEST_CMD=$(readme_block test)
[ -n "$SETUP_CMD" ] || die "README.md has no set-up block (scripts/setup.sh && make ...)"
[ -n "$TEST_CMD" ] || die "README.md has no test command (the block after <!-- test-command -->)"
cmds=("$SETUP_CMD")
names=("README set-up")
if [ "${FRESH_ONLY:-}" != setup ]; then
	if [ -n "${FRESH_T:-}" ]; then
		cmds+=("$TEST_CMD T='$FRESH_T'"); names+=("README test command, T=$FRESH_T")
	else
		cmds+=("$TEST_CMD"); names+=("README test command")
	fi
	for c in "$@"; do cmds+=("$c"); names+=("$c"); done
fi

git -C "$REPO" diff --quiet HEAD 2>/dev/null ||
	echo "fresh-check: note: uncommitted changes are not checked (the root gets a clone of HEAD)" >&2
head=$(git -C "$REPO" rev-parse --short HEAD)

# ---- the root: work folder, cleanup on any exit -----------------------------
mkdir -p "$CACHE/archives/partial"
WORK=$(mktemp -d "${FRESH_TMP:-/var/tmp}/minirun-fresh.XXXXXX")
R=$WORK/root
cleanup() {
	local rc=$? m
	trap - EXIT INT TERM HUP
	# The logs outlive the root: each command's output and the tests' logs.
	# Every step is tried, whatever fails: under set -e a copy of what a short
	# run never made (FRESH_ONLY=setup has no test logs) ended the cleanup
	# before the root was unmounted and removed.
	set +e +o pipefail
	if [ -d "$WORK" ]; then
		rm -rf "$CACHE/last-run" && mkdir -p "$CACHE/last-run" &&
			cp "$WORK"/*.log "$CACHE/last-run/" 2>/dev/null
		cp -r "$R/root/minirun/build/test-logs" "$CACHE/last-run/" 2>/dev/null
		echo "fresh-check: logs in $CACHE/last-run/" >&2
	fi
	# Processes a command left in the root (a test's server, a stuck build):
	# found by their root folder, which no process outside it has.
	for m in /proc/[0-9]*; do
		[ "$(readlink "$m/root" 2>/dev/null)" = "$R" ] && kill -9 "${m#/proc/}" 2>/dev/null
	done
	# Every mount under the work folder, deepest first; lazily if busy.
	for _ in 1 2 3; do
		grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
		grep -q " $WORK" /proc/self/mounts || break
		sleep 1
	done
	if grep -q " $WORK" /proc/self/mounts; then
		echo "fresh-check: mounts left under $WORK (not removed):" >&2
		grep " $WORK" /proc/self/mounts >&2
	elif [ "${FRESH_KEEP:-0}" = 1 ]; then
		echo "fresh-check: root kept in $R (remove: rm -rf --one-file-system $WORK)" >&2
	else
		rm -rf --one-file-system "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'echo "fresh-check: interrupted" >&2; exit 130' INT TERM HUP

now() { date +%s; }
t_all=$(now)

# The debootstrap root, cached by day: the archive's packages change over time,
# and a fresh machine installs today's.
exec 9>"$CACHE/.lock"
flock 9
key=$(printf '%s %s %s minbase\n' "$mirror" "$SUITE" "$(dpkg-query -W -f '${Version}' debootstrap)" |
	sha256sum | cut -c1-12)
base=$CACHE/base-$SUITE-$(date -u +%Y%m%d)-$key.tar.zst
mkdir -p "$R"
t0=$(now)
if [ -f "$base" ]; then
	echo "fresh-check: base root from the cache ($base)"
	tar -C "$R" --zstd -xpf "$base"
else
	echo "fresh-check: debootstrap --variant=minbase $SUITE $mirror (log: $WORK/debootstrap.log)"
	# debootstrap's own .deb files go through the shared archive cache.
	mkdir -p "$R/var/cache/apt/archives"
	mount --bind "$CACHE/archives" "$R/var/cache/apt/archives"
	if ! debootstrap --variant=minbase "$SUITE" "$R" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
		tail -n 20 "$WORK/debootstrap.log" >&2
		die "debootstrap failed"
	fi
	umount "$R/var/cache/apt/archives"
	rm -f "$CACHE"/base-*.tar.zst
	tar -C "$R" --zstd -cpf "$base.tmp" --one-file-system . && mv "$base.tmp" "$base"
fi
exec 9>&-
echo "fresh-check: base root ready in $(($(now) - t0)) s"

# As a fresh install has them: the machine's Debian sources (its mirror and
# security updates), no deb-src, nothing else of the host.
rm -f "$R/etc/apt/sources.list" "$R"/etc/apt/sources.list.d/*
s=$(sources_for_root)
if [ -n "$s" ]; then
	printf '%s' "$s" >"$R/etc/apt/sources.list.d/debian.sources"
else
	sources_list_for_root >"$R/etc/apt/sources.list"
fi
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
git clone -q --no-hardlinks "$REPO" "$R/root/minirun"
git -C "$R/root/minirun" checkout -q --detach "$(git -C "$REPO" rev-parse HEAD)"

# The root is a mount point of its own: pivot_root(2) (minirun's containers,
# unshare in the tests) fails with EINVAL under a root that is not one.
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
mkdir -p "$R/var/cache/apt/archives"
mount --bind "$CACHE/archives" "$R/var/cache/apt/archives"

in_root() { # command: run in the root, from the clone, with a clean environment
	env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		chroot "$R" /bin/bash -c 'cd /root/minirun && exec bash -euo pipefail -c "$1"' fresh "$1"
}

results=()
fail=0
for i in "${!cmds[@]}"; do
	printf '\n==== fresh-check [%s]: %s ====\n%s\n' "$head" "${names[$i]}" "${cmds[$i]}"
	t0=$(now)
	if in_root "${cmds[$i]}" 2>&1 | tee "$WORK/cmd-$i.log"; then st=PASS; else st="FAIL (exit $?)"; fail=1; fi
	secs=$(($(now) - t0))
	results+=("$(printf '%-6s %6s  %s' "${st%% *}" "$(printf '%dm%02ds' $((secs / 60)) $((secs % 60)))" "${names[$i]}")")
	echo "==== ${names[$i]}: $st after $((secs / 60))m$((secs % 60))s"
	[ $fail = 0 ] || break
done

# The shared .deb cache keeps what the archive still serves, nothing older.
# (Only with the indexes in place: without them apt would think none is.)
if ls "$R"/var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
	in_root "apt-get -qq autoclean" >/dev/null 2>&1 || true
fi

# The integration runner's skips, each with its reason on its own line.
printf '\n==== fresh-check summary (commit %s, %s, total %d s) ====\n' "$head" "$mirror" $(($(now) - t_all))
printf '%s\n' "${results[@]}"
skips=$(grep -h '^SKIP ' "$WORK"/cmd-*.log 2>/dev/null || true)
if [ -n "$skips" ]; then
	echo "skipped tests, with their reasons:"
	printf '%s\n' "$skips" | sed 's/^SKIP /  /'
elif [ "${#results[@]}" -gt 1 ]; then
	echo "skipped tests: none"
fi
[ $fail = 0 ] && echo "fresh-check: PASS" || echo "fresh-check: FAIL"
exit $fail
