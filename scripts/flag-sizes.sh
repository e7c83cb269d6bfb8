#!/bin/sh
# What each MINIRUN_WITH_* flag costs: builds the full preset once per flag with
# that flag turned off (through a temporary preset in build/flag-sizes/) and
# prints the stripped size saved. Flags that others need are measured on a base
# without those others: PULL on full without TLS, GZIP on full without PULL/TLS,
# SECCOMP on full without SECCOMP_PROFILE, CGROUPS on full without OCI.
# Usage: scripts/flag-sizes.sh [make arguments, e.g. ARCH=armhf]   (or `make flag-sizes`)
set -eu
cd "$(dirname "$0")/.."
dir=build/flag-sizes
mkdir -p "$dir"

# variant NAME FLAG=VALUE...: a preset = full + these flags.
variant() {
	name=$1; shift
	{
		# MINIRUN_PRESET stays "full": only the flag may change the size.
		echo "#include \"$(pwd)/configs/full.h\""
		for kv in "$@"; do
			echo "#undef MINIRUN_WITH_${kv%=*}"
			echo "#define MINIRUN_WITH_${kv%=*} ${kv#*=}"
		done
	} >"$dir/$name.h.new"
	cmp -s "$dir/$name.h.new" "$dir/$name.h" 2>/dev/null && rm "$dir/$name.h.new" ||
		mv "$dir/$name.h.new" "$dir/$name.h"
}
variant full
variant no-tls TLS=0
variant no-pull TLS=0 PULL=0
variant no-gzip TLS=0 PULL=0 GZIP=0
for f in ZSTD OVERLAY NET SECCOMP_PROFILE INIT FORMAT STATS HELP HISTORY CP PRUNE OCI; do
	variant "no-$(echo $f | tr A-Z a-z)" $f=0
done
variant no-cgroups OCI=0 CGROUPS=0
variant no-seccomp SECCOMP_PROFILE=0 SECCOMP=0

names=$(cd "$dir" && ls *.h | sed 's/\.h$//')
arch=native
for a in "$@"; do case $a in ARCH=*) arch=${a#ARCH=} ;; esac; done
targets=""
for n in $names; do targets="$targets build/$arch/$n/minirun"; done
# shellcheck disable=SC2086
make -s CONFIG_DIR="$dir" "$@" $targets >&2

size() { stat -c %s "build/$arch/$1/minirun"; }
full=$(size full)
printf '%-10s %9s  %s\n' flag "saves" "(stripped bytes when off, $arch; full = $full)"
row() { # FLAG variant base note
	printf '%-10s %9d  %s\n' "$1" $(( $(size "$3") - $(size "$2") )) "$4"
}
row TLS no-tls full ""
row PULL no-pull no-tls "measured without TLS"
row GZIP no-gzip no-pull "measured without PULL and TLS"
row SECCOMP no-seccomp no-seccomp_profile "measured without SECCOMP_PROFILE (which needs it)"
row CGROUPS no-cgroups no-oci "measured without OCI (which needs it)"
for f in ZSTD OVERLAY NET SECCOMP_PROFILE INIT FORMAT STATS HELP HISTORY CP PRUNE OCI; do
	row $f "no-$(echo $f | tr A-Z a-z)" full ""
done
