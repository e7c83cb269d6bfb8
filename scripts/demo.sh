#!/bin/sh
# minirun's main job, end to end, from nothing but Debian packages: build a
# busybox image with real tools (umoci, skopeo; tests/fixtures.sh, cached),
# load it into a store of its own, list and inspect it, and run a first
# container from it when this build can run containers.
# Usage: scripts/demo.sh [STORE]   (as root; default store: a temporary folder)
set -eu
cd "$(dirname "$0")/.."
M=./minirun
[ -x "$M" ] || { echo "demo: build first (make)" >&2; exit 1; }
store=${1:-$(mktemp -d /tmp/minirun-demo.XXXXXX)}
export MINIRUN_ROOT=$store
FIX=$(tests/fixtures.sh)
echo "+ minirun version"; $M version
echo "+ minirun load -i busybox-docker.tar"; $M load -i "$FIX/busybox-docker.tar"
echo "+ minirun images"; $M images
if $M run --help >/dev/null 2>&1; then
	echo "+ minirun run --rm busybox echo hello from a container"
	$M run --rm busybox echo hello from a container
fi
echo "(store: $store; remove it with: rm -rf --one-file-system $store)"
