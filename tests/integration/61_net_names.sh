#!/bin/sh
# Names on created networks (issue 17 item 5): container names, NAME.NETWORK,
# --network-alias aliases and the short ID resolve on a user network, kept
# current through stops and restarts at another address; not on the default
# bridge. /etc/hosts, /etc/hostname, /etc/resolv.conf are 0644 (a non-root
# user resolves localhost and the container's own name).
# Runs in a network namespace of its own.
if [ -z "${MR_NET_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "skipped: needs root" >&2; exit 77; }
	command -v unshare >/dev/null || { echo "skipped: no unshare" >&2; exit 77; }
	MR_NET_INNER=1 exec unshare -n sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
mr version | grep -q 'net' || skip "built without MINIRUN_WITH_NET"
ip link add mrprobe0 type bridge 2>/dev/null || skip "no bridge support in this kernel"
ip link del mrprobe0
ip link set lo up
fixtures
# `mr` inside `sh -c` too
mkdir -p "$T/bin" && printf '#!/bin/sh\nexec "%s" "$@"\n' "$MINIRUN" >"$T/bin/mr" && chmod +x "$T/bin/mr"
PATH=$T/bin:$PATH
export PATH MINIRUN_ROOT MINIRUN_RUNDIR
EXTRA_CLEANUP='for n in $(mr ps -aq 2>/dev/null); do mr rm -f "$n" >/dev/null 2>&1; done'
mr load -i "$FIX/busybox-docker.tar" >/dev/null || { bad "load busybox"; finish; }

# item 2: modes, and a non-root user resolves names through /etc/hosts
check "etc files are 0644" sh -c "mr run --rm busybox busybox stat -c '%a %n' /etc/hosts /etc/hostname /etc/resolv.conf | grep -c '^644 ' | grep -qx 3"
check "user 1000 reads /etc/hosts, resolves localhost and its own name" \
	sh -c "mr run --rm -u 1000 -h box busybox sh -c 'cat /etc/hosts >/dev/null && busybox nc localhost 1 </dev/null; busybox nc box 1 </dev/null' 2>&1 | grep -c 'Connection refused' | grep -qx 2"

mr network create --subnet 10.79.0.0/24 nn >/dev/null || { bad "network create"; finish; }
check "run d1 on n with --network-alias db" mr run -d --name d1 --network nn --network-alias db busybox busybox httpd -f -p 80 -h /etc
check "run d2 on n" mr run -d --name d2 --network nn busybox busybox sleep 300
ip1=$(mr inspect -f '{{.NetworkSettings.IPAddress}}' d1)
ip2=$(mr inspect -f '{{.NetworkSettings.IPAddress}}' d2)
id1=$(mr inspect -f '{{.Id}}' d1 | cut -c1-12)
check "d2 pings d1 by name" mr exec d2 busybox ping -c1 -W2 d1
check "d2 resolves d1 to its address ($ip1)" sh -c "mr exec d2 busybox ping -c1 -W2 d1 | grep -q '($ip1)'"
check "d2 wgets d1 by alias" sh -c "mr exec d2 busybox wget -qO- http://db/hostname | grep -q ."
check "d2 wgets d1 by name.network" sh -c "mr exec d2 busybox wget -qO- http://d1.nn/hostname | grep -q ."
check "d2 pings d1 by short ID" mr exec d2 busybox ping -c1 -W2 "$id1"
check "d1 (started first) resolves d2, started after it" sh -c "mr exec d1 busybox ping -c1 -W2 d2 | grep -q '($ip2)'"
check "a foreground container on n resolves both" mr run --rm --network nn busybox sh -c 'busybox ping -c1 -W2 d1 && busybox ping -c1 -W2 d2.nn'
check "a non-root user on n resolves d1 by alias" sh -c "mr run --rm -u 1000 --network nn busybox busybox wget -qO- http://db/hostname | grep -q ."

# a restart at another address: d1 stops, d3 takes its address, d1 comes back
check "stop d1" mr stop -t 1 d1
check "d1's name is gone from d2 once stopped" sh -c "mr exec d2 busybox ping -c1 -W1 d1 2>&1 | grep -q \"bad address 'd1'\""
check "run d3 on n" mr run -d --name d3 --network nn busybox busybox sleep 300
ip3=$(mr inspect -f '{{.NetworkSettings.IPAddress}}' d3)
check "d3 took d1's old address ($ip3)" test "$ip3" = "$ip1"
check "start d1 again" mr start d1
nip1=$(mr inspect -f '{{.NetworkSettings.IPAddress}}' d1)
check "d1 came back at another address ($nip1)" test -n "$nip1" -a "$nip1" != "$ip1"
check "d2 resolves d1 to its new address" sh -c "mr exec d2 busybox ping -c1 -W2 d1 | grep -q '($nip1)'"
check "d2 resolves d3 to the old one" sh -c "mr exec d2 busybox ping -c1 -W2 d3 | grep -q '($ip3)'"
check "d2 still wgets d1 by alias" sh -c "mr exec d2 busybox wget -qO- http://db/hostname | grep -q ."

# a rename: the new name resolves at once, the old one no more (Docker's DNS)
check "rename d3 to d4" mr rename d3 d4
check "d2 resolves the new name d4" sh -c "mr exec d2 busybox ping -c1 -W2 d4 | grep -q '($ip3)'"
check "d2 no longer resolves d3" sh -c "mr exec d2 busybox ping -c1 -W1 d3 2>&1 | grep -q \"bad address 'd3'\""

# the default bridge resolves no names (Docker's legacy links aside)
check "run b1 on the default bridge" mr run -d --name b1 busybox busybox sleep 300
check "b2 on the default bridge does not resolve b1" sh -c "mr run --rm busybox busybox ping -c1 -W1 b1 2>&1 | grep -q \"bad address 'b1'\""
check "the default bridge does not resolve d2 either" sh -c "mr run --rm busybox busybox ping -c1 -W1 d2 2>&1 | grep -q \"bad address 'd2'\""
out=$(mr run --rm --network-alias x busybox true 2>&1); rc=$?
check "--network-alias on the default bridge refused (rc $rc: $out)" sh -c "test $rc = 125 && echo '$out' | grep -q 'network-scoped alias is supported only for containers in user defined networks'"
check "other networks do not see n's names" sh -c "mr network create mm >/dev/null && mr run --rm --network mm busybox busybox ping -c1 -W1 d1 2>&1 | grep -q \"bad address 'd1'\""
finish
