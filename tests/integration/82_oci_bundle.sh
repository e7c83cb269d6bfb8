#!/bin/sh
# OCI runtime mode on a bundle, without an engine: a config.json without a
# `mount` namespace keeps the container in the caller's mount namespace (as
# runc and crun: chroot instead of pivot_root), its mounts are seen by the
# caller while it runs and all gone after delete (also after a failed
# create); with a `mount` namespace nothing reaches the caller. The bundle's
# root is busybox-static from the host; state under $T.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
"$MINIRUN" version | grep -q -- '+oci' || skip "built without MINIRUN_WITH_OCI"
BB=$(command -v busybox) || skip "busybox missing (apt-get install busybox-static)"
file -L "$BB" 2>/dev/null | grep -q 'statically linked' || skip "$BB is not static"
command -v jq >/dev/null || skip "jq missing"

ln -s "$MINIRUN" "$T/runc"
R=$T/state
rc() { "$T/runc" --root "$R" "$@"; }
mounts_under() { grep -c " $1[/ ]" /proc/self/mountinfo; }

B=$T/bundle
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/dev" "$B/rootfs/tmp"
cp "$BB" "$B/rootfs/bin/busybox"
for a in sh sleep cat readlink echo true; do ln -s busybox "$B/rootfs/bin/$a"; done
rc spec --bundle "$B" || { bad "runc spec"; finish; }
# no mount namespace, no hostname (it needs a UTS namespace), no tty, a long sleep
jq '.process.terminal = false | .process.args = ["sleep", "60"] | del(.hostname) |
    .linux.namespaces |= map(select(.type != "mount"))' "$B/config.json" >"$B/c.json" &&
	mv "$B/c.json" "$B/config.json"
ROOTFS=$(readlink -f "$B/rootfs")

check "create without a mount namespace" rc create --bundle "$B" c1
check "start" rc start c1
pid=$(rc state c1 | jq -r .pid)
if [ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]; then
	ok "the container is in the caller's mount namespace"
else
	bad "the container is in the caller's mount namespace ($(readlink "/proc/$pid/ns/mnt"))"
fi
if [ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
	ok "its other namespaces are its own (pid)"
else
	bad "its other namespaces are its own (pid)"
fi
if [ "$(readlink "/proc/$pid/root")" = "$ROOTFS" ]; then
	ok "its root is the bundle's rootfs (chroot)"
else
	bad "its root is the bundle's rootfs (chroot): $(readlink "/proc/$pid/root")"
fi
n=$(mounts_under "$ROOTFS")
if [ "$n" -ge 3 ] && grep -q " $ROOTFS/proc " /proc/self/mountinfo; then
	ok "its mounts are seen by the caller ($n under the rootfs)"
else
	bad "its mounts are seen by the caller ($n under the rootfs)"
fi
# update: the flag form and a resources document, seen in its cgroup
cgf() { for f in "/sys/fs/cgroup/$1/minirun-oci/c1/$2" "/sys/fs/cgroup/minirun-oci/c1/$3"; do
	[ -f "$f" ] && cat "$f" && return; done; echo none; }
check "update --memory" rc update --memory 67108864 c1
check "its memory limit is 64 MiB" test "$(cgf memory memory.limit_in_bytes memory.max)" = 67108864
echo '{"pids": {"limit": 7}}' | rc update --resources - c1
check "update --resources -: pids limit 7" test "$(cgf pids pids.max pids.max)" = 7
check "update --pids-limit x is refused" sh -c "! '$T/runc' --root '$R' update --pids-limit x c1"
check "exec in it" sh -c "[ \"\$('$T/runc' --root '$R' exec c1 cat /proc/1/comm)\" = sleep ]"
check "kill" rc kill c1 KILL
i=0
while [ "$(rc state c1 | jq -r .status)" != stopped ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "delete" rc delete c1
n=$(mounts_under "$ROOTFS")
if [ "$n" = 0 ]; then ok "delete removed every mount it made"; else bad "mounts left: $n"; grep " $ROOTFS[/ ]" /proc/self/mountinfo; fi
check "the rootfs is intact" test -x "$B/rootfs/bin/busybox"

# a create killed after its init mounted (its state record never written:
# removed here, and its init killed): delete --force still undoes the mounts
check "create c4" rc create --bundle "$B" c4
pid=$(rc state c4 | jq -r .pid)
rm -f "$R/c4/state.json"
kill -KILL "$pid"
check "delete --force of a half-made container" rc delete --force c4
n=$(mounts_under "$ROOTFS")
if [ "$n" = 0 ]; then ok "it left no mount"; else bad "it left $n mounts"; fi
check "its state folder is gone" test ! -e "$R/c4"
i=0
while [ -d "/proc/$pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
for d in /sys/fs/cgroup/*/minirun-oci/c4 /sys/fs/cgroup/minirun-oci/c4; do
	[ -d "$d" ] && rmdir "$d"
done

# a create that fails half way (a bind whose source is missing) leaves nothing
jq '.mounts += [{"destination": "/mnt", "type": "bind", "source": "/nonexistent-h23", "options": ["bind"]}]' \
	"$B/config.json" >"$T/bad.json"
mkdir -p "$T/badb" && cp "$T/bad.json" "$T/badb/config.json" && ln -s "$B/rootfs" "$T/badb/rootfs"
if rc create --bundle "$T/badb" c2 2>"$T/err"; then
	bad "create with a missing bind source fails"
else
	grep -q 'nonexistent-h23' "$T/err" && ok "create with a missing bind source fails: $(cat "$T/err")" ||
		bad "the error names the source: $(cat "$T/err")"
fi
n=$(mounts_under "$ROOTFS")
if [ "$n" = 0 ]; then ok "the failed create left no mount"; else bad "the failed create left $n mounts"; fi
rc delete --force c2 >/dev/null 2>&1

# with a mount namespace: nothing of the container reaches the caller
jq '.linux.namespaces += [{"type": "mount"}]' "$B/config.json" >"$B/c.json" && mv "$B/c.json" "$B/config.json"
check "create with a mount namespace" rc create --bundle "$B" c3
pid=$(rc state c3 | jq -r .pid)
if [ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]; then
	ok "the container has its own mount namespace"
else
	bad "the container has its own mount namespace"
fi
n=$(mounts_under "$ROOTFS")
if [ "$n" = 0 ]; then ok "its mounts stay in it"; else bad "$n of its mounts reach the caller"; fi
check "delete --force" rc delete --force c3
finish
