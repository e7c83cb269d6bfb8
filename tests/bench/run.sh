#!/bin/sh
# tests/bench/run.sh [MINIRUN] [bench.py options]: minirun against its peers.
#
# `make bench` runs it with the binary it built. MINIRUN (first argument, else
# $MINIRUN, else ./minirun of the repository) is the binary measured for load,
# CLI and container rows; the size rows also read build/native/<preset>/minirun
# (`make presets`). Installs missing peers from Debian's packages, builds the
# benchmark images once (tests/bench/image.sh, cached outside the repository),
# then runs tests/bench/bench.py, which prints the table and writes
# ${MINIRUN_BENCH_OUT:-docs}/bench.txt and bench.svg.
#
# Environment: MINIRUN_BENCH_RUNS (container latency runs, default 30),
# MINIRUN_BENCH_LOAD_RUNS (default 3), MINIRUN_BENCH_ONLY (comma list of
# size,load,pull,cli,container,net,oci; oci: tests/bench/oci.sh, written to
# docs/bench-oci.txt), MINIRUN_BENCH_CACHE (image cache, default
# /var/cache/minirun-bench), MINIRUN_BENCH_TMP (scratch, default /var/tmp),
# MINIRUN_BENCH_OUT (output folder, default docs/ of the repository).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:-${MINIRUN:-$repo/minirun}}
[ $# -gt 0 ] && shift

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (containers, mounts, dropping caches)"
[ -x "$bin" ] || die "$bin: no minirun binary (make, or pass its path)"

# Peers and tools, by command -> Debian package.
need=""
for pair in crun:crun runc:runc containerd:containerd podman:podman conmon:conmon umoci:umoci skopeo:skopeo \
	hyperfine:hyperfine zstd:zstd debootstrap:debootstrap unshare:util-linux \
	/usr/bin/time:time /bin/busybox:busybox-static strip:binutils \
	docker-registry:docker-registry openssl:openssl findmnt:util-linux; do
	c=${pair%%:*}
	command -v "$c" >/dev/null 2>&1 || need="$need ${pair#*:}"
done
if [ -n "$need" ]; then
	echo "bench: installing from Debian:$need" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null; } ||
		die "apt-get install$need failed"
fi

images=$("$here/image.sh")
out=${MINIRUN_BENCH_OUT:-$repo/docs}
# OCI runtime mode: ctr run --rm through containerd with minirun, crun, runc
case ",${MINIRUN_BENCH_ONLY:-oci}," in
*,oci,*)
	if command -v containerd >/dev/null && command -v ctr >/dev/null; then
		mkdir -p "$out"
		"$here/oci.sh" "$bin" "${MINIRUN_BENCH_RUNS:-30}" | tee "$out/bench-oci.txt" ||
			echo "bench: the oci rows failed" >&2
	else
		echo "bench: oci rows skipped: containerd missing (apt-get install containerd)" >&2
	fi
	[ "${MINIRUN_BENCH_ONLY:-}" = oci ] && exit 0 ;;
esac
exec /usr/bin/python3 "$here/bench.py" --minirun "$bin" --repo "$repo" --images "$images" \
	--out "$out" --tmpdir "${MINIRUN_BENCH_TMP:-/var/tmp}" \
	--runs "${MINIRUN_BENCH_RUNS:-30}" --load-runs "${MINIRUN_BENCH_LOAD_RUNS:-3}" \
	--only "${MINIRUN_BENCH_ONLY:-}" "$@"
