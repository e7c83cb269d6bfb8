#!/bin/sh
# Networking: bridge, veth, addresses, published TCP/UDP ports, cleanup.
# Runs in a network namespace of its own: the host's interfaces, routes and
# firewall are never touched.
if [ -z "${MR_NET_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "skipped: needs root" >&2; exit 77; }
	command -v unshare >/dev/null || { echo "skipped: no unshare" >&2; exit 77; }
	MR_NET_INNER=1 exec unshare -n sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
mr version | grep -q 'net' || skip "built without MINIRUN_WITH_NET"
command -v curl >/dev/null || skip "curl is not installed (apt-get install curl)"
ip link add mrprobe0 type bridge 2>/dev/null || skip "no bridge support in this kernel"
ip link del mrprobe0
ip link set lo up
# another address of this host (TEST-NET-2, on lo of this namespace only)
ip addr add 198.51.100.1/32 dev lo
NFT=
if command -v nft >/dev/null && { nft add table ip mrprobe && nft delete table ip mrprobe; } 2>/dev/null; then
	NFT=1
fi
fixtures
# `mr` inside `sh -c` too
mkdir -p "$T/bin" && printf '#!/bin/sh\nexec "%s" "$@"\n' "$MINIRUN" >"$T/bin/mr" && chmod +x "$T/bin/mr"
PATH=$T/bin:$PATH
export PATH MINIRUN_ROOT MINIRUN_RUNDIR
EXTRA_CLEANUP='for n in $(mr ps -aq 2>/dev/null); do mr rm -f "$n" >/dev/null 2>&1; done'
mr load -i "$FIX/busybox-docker.tar" >/dev/null || { bad "load busybox"; finish; }

mkdir -p "$T/www1" "$T/www2"
echo hello-one >"$T/www1/index.html"
echo hello-two >"$T/www2/index.html"
check "run web1 -p 8001:80" mr run -d --name web1 -p 8001:80 -v "$T/www1:/www" busybox busybox httpd -f -p 80 -h /www
check "run web2 -p 127.0.0.1:8002:80/tcp" mr run -d --name web2 -p 127.0.0.1:8002:80/tcp -v "$T/www2:/www" busybox busybox httpd -f -p 80 -h /www
check "bridge minirun0 has the gateway" sh -c 'ip -4 addr show minirun0 | grep -q "10.88.0.1/16"'
ip1=$(mr inspect -f '{{.NetworkSettings.IPAddress}}' web1)
ip2=$(mr inspect -f '{{.NetworkSettings.IPAddress}}' web2)
check "addresses allocated lowest first ($ip1 $ip2)" test "$ip1" = 10.88.0.2 -a "$ip2" = 10.88.0.3
check "inspect Ports" sh -c "mr inspect -f '{{json .NetworkSettings.Ports}}' web1 | grep -q '\"80/tcp\":\\[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8001\"}\\]'"
check "inspect Gateway/MacAddress" sh -c "mr inspect web1 | grep -q '\"Gateway\": \"10.88.0.1\"' && mr inspect web1 | grep -q '\"MacAddress\": \"02:42:0a:58:00:02\"'"
check "container port lists the mapping" sh -c 'mr container port web1 | grep -qx "80/tcp -> 0.0.0.0:8001"'
sleep 0.3
check "curl 127.0.0.1:8001 -> web1" sh -c 'curl -fsS -m 5 http://127.0.0.1:8001/ | grep -qx hello-one'
check "curl 127.0.0.1:8002 -> web2" sh -c 'curl -fsS -m 5 http://127.0.0.1:8002/ | grep -qx hello-two'
check "curl web1's address" sh -c "curl -fsS -m 5 http://$ip1/ | grep -qx hello-one"
check "curl web2's address" sh -c "curl -fsS -m 5 http://$ip2/ | grep -qx hello-two"
check "curl the host's other address:8001 -> web1" sh -c 'curl -fsS -m 5 http://198.51.100.1:8001/ | grep -qx hello-one'
check "curl the bridge address:8001 -> web1" sh -c 'curl -fsS -m 5 http://10.88.0.1:8001/ | grep -qx hello-one'
check "127.0.0.1:8002 is not published on the other address" sh -c '! curl -fsS -m 3 http://198.51.100.1:8002/'
check "hairpin: web1 reaches its own published port" sh -c 'mr exec web1 busybox wget -qO- http://198.51.100.1:8001/ | grep -qx hello-one'
check "hairpin: another container reaches web1's published port" sh -c 'mr run --rm busybox busybox wget -qO- http://10.88.0.1:8001/ | grep -qx hello-one'
if [ -n "$NFT" ]; then
	check "nft: DNAT of 8001 (any local address), at prerouting and output" sh -c "test \$(nft list table ip minirun | grep -c 'fib daddr type local tcp dport 8001 dnat to $ip1:80') = 2"
	check "nft: DNAT of 127.0.0.1:8002" sh -c "test \$(nft list table ip minirun | grep -c 'ip daddr 127.0.0.1 tcp dport 8002 dnat to $ip2:80') = 2"
	check "nft: the guard drops the bridge's traffic to 127.0.0.0/8" sh -c 'nft list chain ip minirun guard | grep -q "iifname \"minirun0\" ip daddr 127.0.0.0/8 drop"'
	check "route_localnet on minirun0" grep -qx 1 /proc/sys/net/ipv4/conf/minirun0/route_localnet
	check "DNAT: no proxy process" sh -c '! pgrep -x minirun-proxy'
	check "DNAT: host port 8001 stays reserved" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("0.0.0.0", 8001)); s.listen(1)
except OSError:
    sys.exit(0)
sys.exit(1)'
else
	echo "  (DNAT checks skipped: no nft program or no nf_tables; ports went through the proxy)"
fi
check "container to container by address" sh -c "mr run --rm busybox busybox wget -qO- http://$ip1/ | grep -qx hello-one"
check "default route via the gateway" sh -c "mr run --rm busybox busybox ip route | grep -q 'default via 10.88.0.1'"
check "/etc/hosts has the address; --add-host, --dns" sh -c "mr run --rm -h box --add-host db:10.1.2.3 --dns 9.9.9.9 busybox sh -c 'grep -q \"10.88.0.[0-9]*	box\" /etc/hosts && grep -q \"10.1.2.3	db\" /etc/hosts && grep -qx \"nameserver 9.9.9.9\" /etc/resolv.conf'"

# a busy host port: a clear error, nothing created
out=$(mr run -d --name web3 -p 8001:80 busybox sleep 100 2>&1)
check "busy port refused ($out)" sh -c "echo '$out' | grep -q 'Bind for 0.0.0.0:8001 failed: port is already allocated'"
check "busy port: no container left" sh -c '! mr ps -a --format "{{.Names}}" | grep -qx web3'
if command -v python3 >/dev/null; then
	python3 -c '
import socket, time
s = socket.socket(); s.bind(("0.0.0.0", 8003)); s.listen(1); time.sleep(30)' &
busy=$!
	wait_listen 8003
	out=$(mr run -d --name web3 -p 8003:80 busybox sleep 100 2>&1)
	check "port of a host program refused ($out)" sh -c "echo '$out' | grep -q 'Bind for 0.0.0.0:8003 failed: port is already allocated'"
	check "no container, no rule left" sh -c '! mr ps -a --format "{{.Names}}" | grep -qx web3 && ! nft list ruleset 2>/dev/null | grep -q "dport 8003"'
	kill $busy 2>/dev/null; wait $busy 2>/dev/null
fi

# -p CONTAINERPORT: a free host port
check "run -p 80 (free host port)" mr run -d --name web4 -p 80 -v "$T/www1:/www" busybox busybox httpd -f -p 80 -h /www
hp=$(mr container port web4 80 | sed 's/.*://')
check "chosen port $hp serves" sh -c "test -n '$hp' && curl -fsS -m 5 http://127.0.0.1:$hp/ | grep -qx hello-one"

# UDP: busybox has no UDP server; a tiny static echo server, bind-mounted
CC=$(command -v musl-gcc || command -v cc || true)
cat >"$T/uecho.c" <<'CEOF'
#include <netinet/in.h>
#include <sys/socket.h>
int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) }, f;
	socklen_t fl;
	char b[512];
	int s = socket(AF_INET, SOCK_DGRAM, 0), n;
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
		return 1;
	for (;;) {
		fl = sizeof f;
		n = (int)recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&f, &fl);
		if (n > 0)
			sendto(s, b, (size_t)n, 0, (struct sockaddr *)&f, fl);
	}
}
CEOF
if [ -n "$CC" ] && "$CC" -static -o "$T/uecho" "$T/uecho.c" 2>/dev/null && command -v python3 >/dev/null; then
	check "run udp -p 5301:53/udp" mr run -d --name u1 -p 5301:53/udp -v "$T/uecho:/uecho:ro" busybox /uecho
	sleep 0.3
	for a in 127.0.0.1 198.51.100.1; do
		check "UDP echo through the published port on $a" python3 -c '
import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"ping-udp", (sys.argv[1], 5301)); assert s.recvfrom(100)[0] == b"ping-udp"' $a
	done
	[ -n "$NFT" ] && check "nft: DNAT of udp 5301" sh -c 'nft list table ip minirun | grep -q "fib daddr type local udp dport 5301 dnat to 10.88.0.[0-9]*:53"'
	# A client that keeps sending (one source port) while the container
	# restarts at another address: its conntrack entry still DNATs to the
	# old address (now another container's) unless the entries of the
	# published UDP ports are flushed at start, as Docker does.
	if [ -n "$NFT" ]; then
		python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 41235)); s.settimeout(0.05)
end = time.time() + 10
with open(sys.argv[1], "w") as f:
    while time.time() < end:
        s.sendto(b"keep", ("127.0.0.1", 5301))
        try:
            s.recvfrom(100); f.write("%.3f\n" % time.time()); f.flush()
        except OSError:
            pass
        time.sleep(0.05)' "$T/udp-replies" &
		sender=$!
		sleep 1
		mr stop -t 1 u1 >/dev/null
		mr run -d --name ufill busybox sleep 30 >/dev/null
		mr start u1 >/dev/null
		t_restart=$(date +%s.%N)
		sleep 2.5
		after=$(awk -v t="$t_restart" '$1 > t + 0.5' "$T/udp-replies" | wc -l)
		check "UDP client sending across a restart at a new address still reaches it ($after replies; $(mr inspect -f '{{.NetworkSettings.IPAddress}}' u1) vs ufill $(mr inspect -f '{{.NetworkSettings.IPAddress}}' ufill))" [ "$after" -gt 10 ]
		wait $sender
		mr rm -f ufill >/dev/null
	fi
else
	echo "  (UDP check skipped: no C compiler or python3)"
fi

# host server reached from a container through the bridge
if command -v python3 >/dev/null; then
	mkdir -p "$T/hostsrv" && echo host-side >"$T/hostsrv/index.html"
	(cd "$T/hostsrv" && exec python3 -m http.server --bind 10.88.0.1 8099 >/dev/null 2>&1) &
	hs=$!
	wait_listen 8099
	check "container reaches a server on the host" sh -c "mr run --rm busybox busybox wget -qO- http://10.88.0.1:8099/ | grep -qx host-side"
	kill $hs 2>/dev/null; wait $hs 2>/dev/null
fi

# The guard (route_localnet is on for the bridge): a host on the bridge
# that sends to 127.0.0.1 through it does not reach the host's
# localhost-only services. A namespace on the bridge plays the hostile
# container (a container would need CAP_NET_ADMIN for the same routes).
if [ -n "$NFT" ] && command -v python3 >/dev/null; then
	mkdir -p "$T/losrv" && echo localhost-only >"$T/losrv/index.html"
	(cd "$T/losrv" && exec python3 -m http.server --bind 127.0.0.1 8097 >/dev/null 2>&1) &
	ls=$!
	# (lo stays down there: no local 127.0.0.0/8 of its own)
	unshare -n sh -c 'while ! ip link show ev1 >/dev/null 2>&1; do sleep 0.05; done
		ip addr add 10.88.255.200/16 dev ev1 && ip link set ev1 up &&
		echo 1 >/proc/sys/net/ipv4/conf/ev1/route_localnet &&
		ip route add 127.0.0.1/32 via 10.88.0.1 dev ev1 && touch "$0" && exec sleep 60' "$T/evil.ready" &
	evil=$!
	sleep 0.3
	ip link add ev0 type veth peer name ev1 netns $evil
	ip link set ev0 master minirun0 && ip link set ev0 up
	sleep 1
	check "probe namespace on the bridge" test -e "$T/evil.ready"
	check "a container cannot reach the host's 127.0.0.1-only server" sh -c "! nsenter -t $evil -n curl -sS -m 3 http://127.0.0.1:8097/"
	# the same probe without the guard gets through: the check above means something
	nft flush chain ip minirun guard
	check "(without the guard the probe would get through)" sh -c "nsenter -t $evil -n curl -sS -m 5 http://127.0.0.1:8097/ | grep -qx localhost-only"
	kill $evil $ls 2>/dev/null; wait $evil $ls 2>/dev/null
	ip link del ev0 2>/dev/null
fi

# the userland proxy, as where nf_tables cannot DNAT (MINIRUN_USERLAND_PROXY=1)
check "run -p 8005:80 with the userland proxy" env MINIRUN_USERLAND_PROXY=1 mr run -d --name px -p 8005:80 -v "$T/www2:/www" busybox busybox httpd -f -p 80 -h /www
sleep 0.3
check "proxy: a proxy process serves it" pgrep -x minirun-proxy
check "proxy: curl 127.0.0.1:8005" sh -c 'curl -fsS -m 5 http://127.0.0.1:8005/ | grep -qx hello-two'
check "proxy: curl the host's other address:8005" sh -c 'curl -fsS -m 5 http://198.51.100.1:8005/ | grep -qx hello-two'
[ -n "$NFT" ] && check "proxy: no DNAT rule for 8005; the guard is back" sh -c '! nft list table ip minirun | grep -q "dport 8005" && nft list chain ip minirun guard | grep -q "127.0.0.0/8 drop"'
check "rm px" sh -c 'mr rm -f px >/dev/null && ! pgrep -x minirun-proxy'

# masquerading: a server in ANOTHER network namespace ("outside", reached
# through a veth pair with 192.0.2.0/24, a documentation range) sees the
# connection coming from this namespace's address, not from 10.88.x.x; it has
# no route back to 10.88.0.0/16, so without masquerading there is no answer.
if ! command -v nft >/dev/null; then
	echo "  (masquerade checks skipped: no nft program to check the rules; apt-get install nftables)"
elif ! { nft add table ip mrprobe && nft delete table ip mrprobe; } 2>/dev/null; then
	echo "  (masquerade checks skipped: this kernel has no nf_tables)"
elif ! command -v python3 >/dev/null; then
	echo "  (masquerade checks skipped: no python3 for the outside server)"
else
	check "nft: table ip minirun masquerades the subnet" sh -c 'nft list table ip minirun | grep -q "ip saddr 10.88.0.0/16 oifname != \"minirun0\" masquerade"'
	check "nft: hairpin and 127.0.0.1 masquerades" sh -c 'nft list table ip minirun | grep -q "ip saddr 10.88.0.0/16 oifname \"minirun0\" ct status dnat masquerade" && nft list table ip minirun | grep -q "ip saddr 127.0.0.0/8 oifname \"minirun0\" masquerade"'
	check "ip_forward enabled" grep -qx 1 /proc/sys/net/ipv4/ip_forward
	cat >"$T/outside.py" <<'PYEOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 8098))
s.listen(4)
s.settimeout(20)
for _ in range(2):
    try:
        c, a = s.accept()
    except socket.timeout:
        break
    c.recv(1000)
    c.sendall(b"HTTP/1.0 200 OK\r\n\r\nfrom " + a[0].encode() + b"\n")
    c.close()
PYEOF
	unshare -n sh -c 'while ! ip link show vo1 >/dev/null 2>&1; do sleep 0.05; done
		ip link set lo up && ip addr add 192.0.2.2/24 dev vo1 && ip link set vo1 up &&
		exec python3 "$0"' "$T/outside.py" &
	outside=$!
	sleep 0.2
	ip link add vo0 type veth peer name vo1 netns $outside
	ip addr add 192.0.2.1/24 dev vo0 && ip link set vo0 up
	wait_listen 8098 $outside
	# (busybox wget -T crashes: timeout instead)
	got=$(mr run --rm busybox busybox timeout 10 busybox wget -qO- http://192.0.2.2:8098/ 2>&1)
	check "outside server sees the host's address ($got)" test "$got" = "from 192.0.2.1"
	check "from outside: the published port on the host's address" sh -c "nsenter -t $outside -n curl -fsS -m 5 http://192.0.2.1:8001/ | grep -qx hello-one"
	kill $outside 2>/dev/null; wait $outside 2>/dev/null
	ip link del vo0 2>/dev/null
fi

check "--network none has no eth0" sh -c "! mr run --rm --network none busybox busybox ip link | grep -q eth0"
check "--network container:web1 shares its address" sh -c "mr run --rm --network container:web1 busybox busybox ip addr | grep -q '$ip1/16'"

# created networks: own bridge mr-<id12>, own subnet, reach each other
check "network ls lists bridge, host, none" sh -c 'mr network ls | grep -q "^NETWORK ID  *NAME  *DRIVER  *SCOPE" && mr network ls | grep -q " bridge  *bridge  *local" && mr network ls | grep -q " host  *host  *local" && mr network ls | grep -q " none  *null  *local"'
nid=$(mr network create --subnet 10.77.0.0/24 mynet)
check "network create mynet ($nid)" test ${#nid} = 64
out=$(mr network create mynet 2>&1)
check "same name refused ($out)" sh -c "echo '$out' | grep -q 'network with name mynet already exists'"
out=$(mr network create --subnet 10.88.5.0/24 clash 2>&1)
check "overlapping subnet refused ($out)" sh -c "echo '$out' | grep -q 'Pool overlaps'"
check "network ls lists mynet" sh -c "mr network ls | grep -q '^$(echo $nid | cut -c1-12)  *mynet  *bridge  *local'"
check "network inspect by ID prefix" sh -c "mr network inspect $(echo $nid | cut -c1-12) | grep -q '\"Name\": \"mynet\"'"
check "network inspect mynet: IPAM" sh -c "mr network inspect mynet | tr -d ' \n' | grep -q '\"Name\":\"mynet\",\"Id\":\"$nid\".*\"Driver\":\"bridge\".*\"Config\":\[{\"Subnet\":\"10.77.0.0/24\",\"Gateway\":\"10.77.0.1\"}\]'"
check "run n1 --network mynet" mr run -d --name n1 --network mynet -v "$T/www1:/www" busybox busybox httpd -f -p 80 -h /www
nip=$(mr inspect -f '{{.NetworkSettings.IPAddress}}' n1)
check "n1 has 10.77.0.2 ($nip)" test "$nip" = 10.77.0.2
check "bridge mr-<id12> has the gateway" sh -c "ip -4 addr show mr-$(echo $nid | cut -c1-12) | grep -q 10.77.0.1/24"
check "inspect mynet lists n1" sh -c "mr network inspect mynet | tr -d ' \n' | grep -q '\"Name\":\"n1\",\"MacAddress\":\"02:42:0a:4d:00:02\",\"IPv4Address\":\"10.77.0.2/24\"'"
check "container on mynet reaches n1" sh -c "mr run --rm --network mynet busybox busybox wget -qO- http://$nip/ | grep -qx hello-one"
# networks are isolated from each other (as Docker's): not by address, but a
# published port is a service of the host, reachable from every network.
# --init: a dropped connection hangs until timeout kills wget, which as the
# container's PID 1 would ignore SIGTERM.
if [ -n "$NFT" ]; then
	check "isolation: mynet cannot reach web1 on the default bridge by address" sh -c "! mr run --rm --init --network mynet busybox busybox timeout 5 busybox wget -qO- http://$ip1/"
	check "isolation: the default bridge cannot reach n1 on mynet" sh -c "! mr run --rm --init busybox busybox timeout 5 busybox wget -qO- http://$nip/"
	check "...but mynet reaches web1's published port on the host's address" sh -c "mr run --rm --network mynet busybox busybox timeout 10 busybox wget -qO- http://198.51.100.1:8001/ | grep -qx hello-one"
	check "nft: the isolation rules" sh -c "nft list chain ip minirun isolate | grep -q 'iifname \"mr-$(echo $nid | cut -c1-12)\" oifname != \"mr-$(echo $nid | cut -c1-12)\" oifname \"minirun0\" ct status ! dnat drop'"
fi
if command -v nft >/dev/null && nft list tables >/dev/null 2>&1; then
	check "nft: mynet masqueraded too" sh -c "nft list table ip minirun | grep -q 'ip saddr 10.77.0.0/24 oifname != \"mr-$(echo $nid | cut -c1-12)\" masquerade'"
fi
check "stop n1" mr stop -t 1 n1
out=$(mr network rm mynet 2>&1)
check "network rm refused while a container is on it ($out)" sh -c "echo '$out' | grep -q 'in use by container n1'"
out=$(mr network rm bridge 2>&1)
check "network rm bridge refused ($out)" sh -c "echo '$out' | grep -q 'bridge is a pre-defined network'"
check "rm n1" mr rm n1
check "network rm mynet" sh -c 'mr network rm mynet | grep -qx mynet'
check "mynet's bridge is gone" sh -c "! ip link show mr-$(echo $nid | cut -c1-12) 2>/dev/null"
mr network create unused >/dev/null
check "network prune removes an unused network" sh -c 'mr network prune | grep -qx unused && ! mr network ls | grep -q unused'
check "run --network nosuch fails" sh -c 'mr run --rm --network nosuch busybox true 2>&1 | grep -q "network nosuch not found"'

# an exited container gives its address back, a stopped one has none
check "stop web2" mr stop -t 1 web2
check "stopped: no IPAddress" test -z "$(mr inspect -f '{{.NetworkSettings.IPAddress}}' web2)"

check "rm all" sh -c 'mr rm -f web1 web2 web4 >/dev/null'
mr rm -f u1 >/dev/null 2>&1
check "no minirun0 left" sh -c '! ip link show minirun0 2>/dev/null'
check "no mr* veth left" sh -c '! ip -br link | grep -q "^mr"'
check "no proxy left" sh -c '! pgrep -x minirun-proxy'
check "no address held" grep -q '"Containers":{}' "$MINIRUN_ROOT/network.json"
if command -v nft >/dev/null; then
	check "no nftables rules left" test -z "$(nft list ruleset 2>/dev/null)"
fi
finish
