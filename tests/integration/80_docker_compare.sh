#!/bin/sh
# minirun against Docker itself: a private dockerd (Debian's docker.io 20.10,
# its own containerd started by dockerd, own --data-root, --exec-root, socket
# and pidfile; no iptables; a bridge of its own only inside the test's own
# network namespace) and minirun run the same scenarios
# (tests/docker-compare/scenarios), their outputs normalised (IDs, times,
# sizes, addresses) and compared with exit codes and error texts scenario by
# scenario. Prints "N scenarios, M identical, K known differences"; fails on
# a difference not listed as known. Skipped (77) only where dockerd cannot
# start. Everything started here is stopped and removed on exit.
# Needs (Debian): docker.io containerd python3.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "dockerd needs root"
for c in dockerd containerd python3; do
	command -v $c >/dev/null || skip "$c missing (apt-get install docker.io containerd python3)"
done
DOCKER=/usr/bin/docker
[ -x $DOCKER ] || skip "$DOCKER missing (apt-get install docker.io)"
fixtures
D=$T/docker
mkdir -p "$D/data" "$D/exec" "$D/config" "$T/bin"
SOCK=$D/docker.sock
# The engines as the scenarios call them ($X): named docker and minirun so
# that their messages read as they do for users.
cat >"$T/bin/docker" <<EOS
#!/bin/sh
DOCKER_CONFIG=$D/config exec $DOCKER -H unix://$SOCK "\$@"
EOS
cat >"$T/bin/minirun" <<EOS
#!/bin/sh
exec $MINIRUN "\$@"
EOS
chmod +x "$T/bin/docker" "$T/bin/minirun"

docker_stop() {
	[ -f "$D/docker.pid" ] || return 0
	ids=$("$T/bin/docker" ps -aq 2>/dev/null)
	[ -n "$ids" ] && "$T/bin/docker" rm -f $ids >/dev/null 2>&1
	pid=$(cat "$D/docker.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$pid" 2>/dev/null
	fi
	# the containerd dockerd started, should it outlive dockerd
	cpid=$(cat "$D/exec/containerd/containerd.pid" 2>/dev/null)
	[ -n "$cpid" ] && kill -KILL "$cpid" 2>/dev/null
	rm -f "$D/docker.pid"
	[ -n "${BRIDGE:-}" ] && ip link del "$BRIDGE" 2>/dev/null
	return 0
}
EXTRA_CLEANUP='docker_stop; for id in $("$MINIRUN" ps -aq --no-trunc 2>/dev/null); do "$MINIRUN" rm -f "$id" >/dev/null 2>&1; done'

# A bridge for Docker's default network only where this test has a network
# namespace of its own (the runner's: loopback only); elsewhere none, and
# the scenarios that need it are reported as skipped.
BRIDGE=""
bridge_opt=--bridge=none
if [ "$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | tr '\n' ' ')" = "lo " ]; then
	BRIDGE=mrcmp0
	if ip link add $BRIDGE type bridge && ip addr add 172.29.0.1/24 dev $BRIDGE &&
	   ip link set $BRIDGE up; then
		bridge_opt=--bridge=$BRIDGE
	else
		ip link del $BRIDGE 2>/dev/null
		BRIDGE=""
	fi
fi
dockerd --data-root "$D/data" --exec-root "$D/exec" -H "unix://$SOCK" --pidfile "$D/docker.pid" \
	--iptables=false --ip6tables=false --ip-masq=false $bridge_opt \
	--containerd-namespace minirun-cmp --containerd-plugins-namespace minirun-cmp-p \
	>"$D/dockerd.log" 2>&1 &
i=0
until "$T/bin/docker" version >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 $! 2>/dev/null; then
		tail -5 "$D/dockerd.log" >&2
		skip "dockerd cannot start here: $(grep -m1 -E 'failed to start daemon|level=fatal' "$D/dockerd.log" | cut -c1-200)"
	fi
	sleep 0.1
done
"$T/bin/docker" load -q -i "$FIX/busybox-docker.tar" >/dev/null || { echo "docker load busybox failed" >&2; exit 1; }
"$MINIRUN" load -q -i "$FIX/busybox-docker.tar" >/dev/null || { echo "minirun load busybox failed" >&2; exit 1; }

PATH=$T/bin:$PATH python3 "$REPO/tests/docker-compare/compare.py" \
	--scenarios "$REPO/tests/docker-compare/scenarios" --fixtures "$FIX" \
	--bridge "${BRIDGE:-none}" --work "$T/cmp" ${COMPARE_ONLY:+--only "$COMPARE_ONLY"}
rc=$?
[ $rc = 0 ] && ok "docker comparison" || bad "docker comparison (see the differences above)"
finish
