#!/bin/sh
# tests/bench/port.sh [MINIRUN]: throughput of a published port against the
# container's own address (issue 6: published >= 0.8 of direct).
#
# A container (the test busybox image) runs tcpzero, which sends
# $MINIRUN_BENCH_PORT_BYTES (default 1 GiB) of zeros to each client; the
# client (tcpzero get, on the host) reads them from the container's address
# (bridge, no proxy) and from 127.0.0.1:HOSTPORT (`-p 127.0.0.1:HOSTPORT:5001`:
# DNAT by nf_tables, or minirun's userland proxy where nf_tables cannot or
# with MINIRUN_USERLAND_PROXY=1), alternately, $MINIRUN_BENCH_PORT_RUNS times
# each (default 3). Prints the medians and one line for bench.py:
#   port: direct_s=D published_s=P bytes=N ratio=R
# (R: published throughput / direct). Runs in a network namespace of its own
# (unshare -n) with a temporary store: the host's networking is never touched.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$(cd "$(dirname "${1:-${MINIRUN:-$repo/minirun}}")" && pwd)/$(basename "${1:-${MINIRUN:-$repo/minirun}}")
die() { echo "port bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (containers, network namespace)"
[ -x "$bin" ] || die "$bin: no minirun binary"
if [ -z "${MR_PORT_INNER:-}" ]; then
	MR_PORT_INNER=1 exec unshare -n sh "$0" "$bin"
fi
bytes=${MINIRUN_BENCH_PORT_BYTES:-1073741824}
runs=${MINIRUN_BENCH_PORT_RUNS:-3}
tmp=$(mktemp -d "${MINIRUN_BENCH_TMP:-/var/tmp}/minirun-port.XXXXXX")
export MINIRUN_ROOT="$tmp/root" MINIRUN_RUNDIR="$tmp/run"
cleanup() {
	"$bin" rm -f mrbench-port >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ip link set lo up
cc=$(command -v musl-gcc || command -v cc) || die "no C compiler (musl-gcc)"
"$cc" -static -O2 -o "$tmp/tcpzero" "$here/tcpzero.c" || die "cannot build tcpzero"
fix=$("$repo/tests/fixtures.sh") || die "test fixtures could not be built"
"$bin" load -q -i "$fix/busybox-docker.tar" >/dev/null
"$bin" run -d --name mrbench-port -p 127.0.0.1:18080:5001 -v "$tmp/tcpzero:/tcpzero:ro" \
	busybox /tcpzero serve 5001 "$bytes" >/dev/null
ip=$("$bin" inspect -f '{{.NetworkSettings.IPAddress}}' mrbench-port)
sleep 0.3
: >"$tmp/direct"
: >"$tmp/published"
i=0
while [ $i -lt "$runs" ]; do
	"$tmp/tcpzero" get "$ip" 5001 >>"$tmp/direct"
	"$tmp/tcpzero" get 127.0.0.1 18080 >>"$tmp/published"
	i=$((i + 1))
done
med() { awk -v b="$bytes" '$1 != b { bad = 1 } { print $2 } END { if (bad) print "short read" > "/dev/stderr" }' "$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
d=$(med "$tmp/direct")
p=$(med "$tmp/published")
awk -v d="$d" -v p="$p" -v b="$bytes" 'BEGIN {
	printf "direct    %s:5001        %.3f s  %7.0f MiB/s\n", "container", d, b / d / 1048576
	printf "published 127.0.0.1:18080 %.3f s  %7.0f MiB/s\n", p, b / p / 1048576
	printf "port: direct_s=%s published_s=%s bytes=%s ratio=%.3f\n", d, p, b, d / p }'
