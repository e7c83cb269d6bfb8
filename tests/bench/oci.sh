#!/bin/bash
# tests/bench/oci.sh MINIRUN [RUNS]: `ctr run --rm IMAGE true` through one
# private containerd (Debian's 1.6) with minirun, crun and runc as the runc
# binary (ctr --runc-binary), interleaved, RUNS times each (default 30);
# prints the median and mean wall time per runtime and the ratio to minirun.
# The busybox image is the test fixture (tests/fixtures.sh), imported as a
# docker-archive. Everything runs in a private mount namespace under a
# temporary folder that is removed at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$(readlink -f "${1:?usage: oci.sh MINIRUN [RUNS]}")
runs=${2:-30}
for c in containerd ctr containerd-shim-runc-v2 crun runc; do
	command -v "$c" >/dev/null || { echo "oci bench: $c missing (apt-get install containerd crun runc)" >&2; exit 1; }
done
fix=$("$repo/tests/fixtures.sh")
if [ "${OCI_BENCH_INNER:-}" != 1 ]; then
	OCI_BENCH_INNER=1 exec unshare -m --propagation private "$0" "$@"
fi
# crun refuses a hybrid cgroup layout (v1 controllers plus cgroup2 at
# unified): hidden in this mount namespace, for all three alike
hidden=""
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
	umount -l /sys/fs/cgroup/unified && hidden=" (cgroup2 at /sys/fs/cgroup/unified hidden for crun)"
fi
W=$(mktemp -d /var/tmp/minirun-oci-bench.XXXXXX)
NS=bench$$
mkdir -p "$W/bin"
ln -s "$bin" "$W/bin/runc"
cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$W/sock"
[ttrpc]
  address = "$W/sock.ttrpc"
EOF
containerd --config "$W/config.toml" >"$W/log" 2>&1 &
cd_pid=$!
cleanup() {
	kill "$cd_pid" 2>/dev/null; wait "$cd_pid" 2>/dev/null || true
	rm -rf "/run/containerd/runc/$NS"
	for d in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	umount -R "$W" 2>/dev/null || true
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$W/sock" ] && break; sleep 0.1; done
C="ctr -a $W/sock -n $NS"
$C images import "$fix/busybox-docker.tar" >/dev/null
I=docker.io/library/busybox:latest
declare -A times
names="minirun crun runc"
for n in $names; do
	case $n in minirun) rb=$W/bin/runc ;; *) rb=$(command -v "$n") ;; esac
	$C run --rm --runc-binary "$rb" "$I" warm-$n true  # warm the caches once
done
for i in $(seq "$runs"); do
	for n in $names; do
		case $n in minirun) rb=$W/bin/runc ;; *) rb=$(command -v "$n") ;; esac
		t0=$(date +%s%N)
		$C run --rm --runc-binary "$rb" "$I" "r$i-$n" true
		t1=$(date +%s%N)
		times[$n]="${times[$n]:-} $(( (t1 - t0) / 1000 ))"
	done
done
med() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1; s += $1 } END { printf "%d %d", a[int((NR + 1) / 2)], s / NR }'; }
read -r mmed _ <<<"$(echo "${times[minirun]}" | med)"
echo "ctr run --rm busybox true through containerd $(containerd --version | awk '{print $3}'), $runs runs each$hidden (ms):"
printf '  %-8s %8s %8s %8s\n' runtime median mean ratio
for n in $names; do
	read -r m a <<<"$(echo "${times[$n]}" | med)"
	printf '  %-8s %8d.%01d %6d.%01d %7s\n' "$n" $((m / 1000)) $((m % 1000 / 100)) $((a / 1000)) $((a % 1000 / 100)) \
		"$(awk -v x="$m" -v y="$mmed" 'BEGIN { printf "%.2fx", x / y }')"
done
