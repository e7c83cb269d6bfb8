#!/bin/sh
# Pull from a real registry: Debian's docker-registry on 127.0.0.1 with TLS
# from a CA made here, once with htpasswd basic auth, once with token auth (a
# token server from _pull_servers.py), once in plain HTTP; the fixtures are
# pushed into it with skopeo. Then: pulls by tag and digest, multi-arch
# selection, gzip and zstd layers, trees equal to umoci's, "Image is up to
# date" without downloads, login/logout, TLS refusals (unknown CA, wrong
# name, expired), certs.d, plain HTTP only with --insecure-registry, and a
# proxy that cuts, stalls or corrupts a blob, or redirects blobs to another
# host. Every server started here is stopped on exit (EXTRA_CLEANUP).
# Needs: docker-registry skopeo openssl apache2-utils python3 (Debian).
. "$(dirname "$0")/lib.sh"
PIDS=""
EXTRA_CLEANUP='for p in $PIDS; do kill $p 2>/dev/null; done; for p in $PIDS; do wait $p 2>/dev/null; done'
for c in docker-registry skopeo openssl htpasswd python3; do
	command -v $c >/dev/null || skip "$c missing (apt-get install docker-registry skopeo openssl apache2-utils python3)"
done
fixtures
TREECMP="python3 $REPO/tests/treecmp.py --skip-root"
SERVERS="python3 $REPO/tests/integration/_pull_servers.py"
unset MINIRUN_INSECURE_REGISTRIES MINIRUN_PULL_TIMEOUT
export MINIRUN_CA_FILE=$T/ca.crt MINIRUN_AUTH_FILE=$T/auth.json MINIRUN_CERTS_D=$T/certs.d
STORES=0

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s)
	python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}
start() { # start NAME CMD...: in the background, logged to $T/NAME.log
	name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
}
stop() { # stop the most recently started server
	last=${PIDS##* }
	kill "$last" 2>/dev/null; wait "$last" 2>/dev/null
	PIDS=${PIDS% *}
}
registry() { # registry NAME PORT [AUTH-YAML]: docker-registry on the shared storage
	{
		printf 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$T/data"
		printf 'http:\n  addr: 127.0.0.1:%s\n' "$2"
		[ "$1" = plain ] || printf '  tls:\n    certificate: %s\n    key: %s\n' "$T/srv.crt" "$T/srv.key"
		printf '%s\n' "${3:-}"
	} >"$T/$1.yml"
	start "$1" docker-registry serve "$T/$1.yml"
	wait_port "$2" || { cat "$T/$1.log"; bad "registry $1 did not start"; finish; }
}
helper() { # helper NAME MODE ARGS...: a _pull_servers.py server; its port in $PORT
	name=$1; shift
	rm -f "$T/$name.port"
	start "$name" $SERVERS "$@" --port-file "$T/$name.port" --log "$T/$name.events"
	for _ in $(seq 100); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
	PORT=$(cat "$T/$name.port" 2>/dev/null) || { cat "$T/$name.log"; bad "$name did not start"; finish; }
}
newstore() { STORES=$((STORES + 1)); export MINIRUN_ROOT=$T/store$STORES; }
pull() { mr pull "$@" >"$T/pull.out" 2>&1; }
out_has() { grep -q -- "$1" "$T/pull.out"; }
same_tree() { # same_tree IMAGE REF: `image unpack` equals umoci's reference rootfs
	rm -rf "$T/tree"
	mr image unpack "$1" "$T/tree" >"$T/unpack.out" 2>&1 && $TREECMP "$FIX/$2/rootfs" "$T/tree" >>"$T/unpack.out" 2>&1
}
expect() { # expect "description" CONDITION...: ok or bad with the pull output
	d=$1; shift
	if "$@"; then ok "$d"; else bad "$d"; sed 's/^/       /' "$T/pull.out" | tail -8; fi
}
nothing_stored() { [ ! -s "$MINIRUN_ROOT/images.json" ] && [ -z "$(ls -A "$MINIRUN_ROOT/layers" 2>/dev/null)" ]; }

# ---- certificates: a CA (RSA), the registry's (EC P-256; IP 127.0.0.1 and
# localhost), the same names with an RSA key, one for another name, an
# expired one, an unrelated CA (P-384), the token signer ----
cd "$T" || exit 1
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; bad "openssl $1"; finish; }; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=minirun test CA"
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout other-ca.key -out other-ca.crt -days 2 -subj "/CN=another CA"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >srv.ext
ossl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile srv.ext
ossl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj "/CN=localhost"
ossl x509 -req -in rsa.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out rsa.crt -days 2 -extfile srv.ext
ossl req -newkey rsa:2048 -nodes -keyout name.key -out name.csr -subj "/CN=registry.example"
printf 'subjectAltName=DNS:registry.example\n' >name.ext
ossl x509 -req -in name.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out name.crt -days 2 -extfile name.ext
mkdir -p cadb && : >cadb/index.txt && echo 1000 >cadb/serial
printf '[ca]\ndefault_ca=t\n[t]\ndatabase=%s/cadb/index.txt\nserial=%s/cadb/serial\nnew_certs_dir=%s/cadb\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n[ext]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' "$T" "$T" "$T" >ca.cnf
ossl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in srv.csr -out expired.crt -startdate 20200101000000Z -enddate 20200102000000Z -extensions ext
ossl req -x509 -newkey rsa:2048 -nodes -keyout tok.key -out tok.crt -days 2 -subj "/CN=token signer"
mkdir -p skopeo-certs certs.d && cp ca.crt skopeo-certs/
htpasswd -Bbn alice secret >htpasswd 2>/dev/null
ok "test CA and certificates made"

# ---- registries and fixtures ----
P1=$(free_port)
registry basic "$P1" "$(printf 'auth:\n  htpasswd:\n    realm: minirun-test\n    path: %s/htpasswd' "$T")"
R1=127.0.0.1:$P1
push() { # push ARCHIVE REF [--all]
	skopeo copy -q ${3:-} --dest-cert-dir "$T/skopeo-certs" --dest-creds alice:secret "$1" "docker://$R1/$2" >"$T/skopeo.out" 2>&1 ||
		{ cat "$T/skopeo.out"; bad "skopeo push $2"; finish; }
}
push "docker-archive:$FIX/busybox-docker.tar" library/busybox:latest
push "oci-archive:$FIX/multi-oci.tar" library/multi:latest --all
push "oci-archive:$FIX/busybox-zstd-oci.tar" library/zbox:latest
push "oci-archive:$FIX/layers-oci.tar" team/layers:1
ok "fixtures pushed with skopeo (busybox, multi-arch index, zstd, six layers)"
digest_of() { skopeo inspect --raw --cert-dir "$T/skopeo-certs" --creds alice:secret "docker://$R1/$1" | sha256sum | cut -c1-64; }
BUSYBOX_DIGEST=sha256:$(digest_of library/busybox:latest)
MULTI_DIGEST=sha256:$(digest_of library/multi:latest)
blob_gets() { grep -c 'GET /v2/[^ ]*/blobs/' "$T/basic.log"; }

# ---- basic auth, login, logout ----
newstore
pull "$R1/library/busybox"
expect "pull without credentials fails: no basic auth credentials" out_has "no basic auth credentials"
expect "... and stores nothing" nothing_stored
echo wrong | mr login -u alice --password-stdin "$R1" >"$T/pull.out" 2>&1
expect "login with a wrong password fails clearly" out_has "incorrect username or password"
expect "... and writes no credentials" test ! -e "$T/auth.json"
echo secret | mr login -u alice --password-stdin "$R1" >"$T/pull.out" 2>&1
expect "login: Login Succeeded" out_has "^Login Succeeded$"
expect "credentials file is mode 0600" test "$(stat -c %a "$T/auth.json" 2>/dev/null)" = 600
expect "credentials in Docker's config.json form" python3 -c "
import json, base64, sys
a = json.load(open('$T/auth.json'))['auths']['$R1']['auth']
sys.exit(base64.b64decode(a) != b'alice:secret')"
pull "$R1/library/busybox"
expect "pull by tag" test $? = 0
expect "... prints Docker's layer lines" sh -c "grep -q ': Pulling fs layer$' '$T/pull.out' && grep -q ': Download complete$' '$T/pull.out' && grep -q ': Pull complete$' '$T/pull.out'"
expect "... Digest: the manifest's" out_has "^Digest: $BUSYBOX_DIGEST$"
expect "... Status: Downloaded newer image" out_has "^Status: Downloaded newer image for $R1/library/busybox:latest$"
expect "... and the full name last" test "$(tail -1 "$T/pull.out")" = "$R1/library/busybox:latest"
expect "unpacked tree equals umoci's" same_tree "$R1/library/busybox" ref-busybox
before=$(blob_gets)
pull "$R1/library/busybox:latest"
expect "second pull: Image is up to date" out_has "^Status: Image is up to date for $R1/library/busybox:latest$"
expect "... with no layer lines" sh -c "! grep -q 'Pulling fs layer' '$T/pull.out'"
expect "... and no blob downloaded" test "$(blob_gets)" = "$before"
pull "$R1/library/busybox@$BUSYBOX_DIGEST"
expect "pull by digest" out_has "^$R1/library/busybox@$BUSYBOX_DIGEST$"
pull "$R1/library/busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000"
expect "pull of an unknown digest: manifest not found" out_has "manifest for $R1/library/busybox@sha256:0000.* not found"
pull "$R1/library/nosuch:1"
expect "pull of an unknown repository fails" out_has "not found\|denied"
pull "$R1/Library/Busybox"
expect "invalid reference refused" out_has "invalid reference format"

# multi-arch: the host's platform, then others in fresh stores
case $(uname -m) in
x86_64) host_ref=ref-multi-amd64 ;; aarch64) host_ref=ref-multi-arm64 ;; *) host_ref= ;;
esac
newstore
pull "$R1/library/multi"
expect "multi-arch pull (host platform)" test $? = 0
expect "... Digest: the index's" out_has "^Digest: $MULTI_DIGEST$"
[ -n "$host_ref" ] && expect "... tree equals umoci's $host_ref" same_tree "$R1/library/multi" $host_ref
for pr in linux/arm/v7:ref-multi-armv7 linux/arm64:ref-multi-arm64 linux/arm/v6:ref-multi-armv6; do
	newstore
	pull --platform "${pr%%:*}" "$R1/library/multi"
	expect "pull --platform ${pr%%:*}" test $? = 0
	expect "... tree equals umoci's ${pr##*:}" same_tree "$R1/library/multi" "${pr##*:}"
done
pull --platform linux/s390x "$R1/library/multi"
expect "pull --platform of a missing platform fails" out_has "no image for platform linux/s390x"
newstore
pull "$R1/library/multi@$MULTI_DIGEST"
expect "multi-arch pull by the index digest" out_has "^$R1/library/multi@$MULTI_DIGEST$"
newstore
pull "$R1/library/zbox"
expect "zstd layer pulled" out_has "Pull complete"
expect "... tree equals umoci's" same_tree "$R1/library/zbox" ref-busybox
newstore
pull -q "$R1/team/layers:1"
expect "pull -q prints only the name" test "$(cat "$T/pull.out")" = "$R1/team/layers:1"
expect "six layers (whiteouts, opaque dirs) equal umoci's" same_tree "$R1/team/layers:1" ref-layers
mr logout "$R1" >"$T/pull.out" 2>&1
expect "logout removes the credentials" out_has "^Removing login credentials for $R1$"
newstore
pull "$R1/library/busybox"
expect "... and pulls fail again" out_has "no basic auth credentials"

# ---- token auth ----
helper token token --cert srv.crt --key srv.key --sign-key tok.key --sign-cert tok.crt --users alice:secret
TP=$PORT
P2=$(free_port)
registry token "$P2" "$(printf 'auth:\n  token:\n    realm: https://127.0.0.1:%s/token\n    service: minirun-test-registry\n    issuer: minirun-test-issuer\n    rootcertbundle: %s/tok.crt' "$TP" "$T")"
R2=127.0.0.1:$P2
newstore
pull "$R2/library/busybox"
expect "token auth: anonymous pull" out_has "^Status: Downloaded newer image"
expect "... asked the token server for the pull scope" grep -q "token user=None service=minirun-test-registry scopes=repository:library/busybox:pull" "$T/token.events"
expect "... tree equals umoci's" same_tree "$R2/library/busybox" ref-busybox
pull "$R2/team/layers:1"
expect "token auth: private repository denied anonymously" out_has "pull access denied for $R2/team/layers"
echo nope | mr login -u alice --password-stdin "$R2" >"$T/pull.out" 2>&1
expect "token auth: login with a wrong password fails" out_has "incorrect username or password"
echo secret | mr login -u alice --password-stdin "$R2" >"$T/pull.out" 2>&1
expect "token auth: login succeeds" out_has "^Login Succeeded$"
pull "$R2/team/layers:1"
expect "token auth: private pull with credentials" test $? = 0
expect "... token requested as alice" grep -q "token user=alice .*scopes=repository:team/layers:pull account=alice" "$T/token.events"
expect "... tree equals umoci's" same_tree "$R2/team/layers:1" ref-layers
pull "localhost:$P2/library/busybox"
expect "host name checked by DNS name (localhost)" test $? = 0

# ---- TLS refusals and certs.d ----
newstore
MINIRUN_CA_FILE=$T/other-ca.crt pull "$R2/library/busybox"
expect "unknown CA: error names the host and the reason" out_has "$R2: tls: failed to verify certificate: x509: certificate signed by unknown authority"
expect "... and stores nothing" nothing_stored
MINIRUN_CA_FILE=$T/other-ca.crt pull --ca-file "$T/ca.crt" "$R2/library/busybox"
expect "--ca-file replaces the bundle (over MINIRUN_CA_FILE)" test $? = 0
newstore
MINIRUN_CA_FILE=$T/ca.crt pull --ca-file "$T/other-ca.crt" "$R2/library/busybox"
expect "--ca-file: a bundle without the CA refuses" out_has "certificate signed by unknown authority"
newstore
mkdir -p "certs.d/$R2" "certs.d/127.0.0.1:$TP" && cp ca.crt "certs.d/$R2/ca.crt" && cp ca.crt "certs.d/127.0.0.1:$TP/ca.crt"
MINIRUN_CA_FILE=$T/other-ca.crt pull "$R2/library/busybox"
expect "certs.d/HOST:PORT/ca.crt trusted for that registry" test $? = 0
rm -rf certs.d/*
helper wrongname proxy --cert name.crt --key name.key --upstream "$R2" --upstream-ca ca.crt
pull "127.0.0.1:$PORT/library/busybox"
expect "certificate for another name refused (IP address)" out_has "certificate is not valid for 127.0.0.1"
pull "localhost:$PORT/library/busybox"
expect "certificate for another name refused (DNS name)" out_has "certificate is not valid for localhost"
# Names through DNS: minirun's own resolver asks the nameserver of
# /etc/resolv.conf: a test server on 127.0.0.1:53, only when this script has
# a network namespace of its own (loopback only), and a resolv.conf
# bind-mounted in a private mount namespace of each pull.
printf 'nameserver 127.0.0.1\nsearch example\noptions timeout:2 attempts:1\n' >resolv.conf
dns_pull() {
	unshare --mount --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
		sh "$T/resolv.conf" "$MINIRUN" pull "$@" >"$T/pull.out" 2>&1
}
if [ "$(grep -c : /proc/net/dev)" = 1 ] && grep -q '^ *lo:' /proc/net/dev &&
	unshare --mount --propagation private true 2>/dev/null; then
	start dns python3 "$REPO/tests/integration/_dns_server.py" --log "$T/dns.events" registry.example=127.0.0.1
	PIDS_DNS=${PIDS##* }
	for _ in $(seq 100); do grep -q ready "$T/dns.events" 2>/dev/null && break; sleep 0.05; done
	newstore
	dns_pull "registry.example:$PORT/library/busybox"
	expect "DNS: a name from the nameserver in resolv.conf (A record), certificate for that name" test $? = 0
	expect "... asked for its A and AAAA records" sh -c "grep -q '^registry.example 1$' '$T/dns.events' && grep -q '^registry.example 28$' '$T/dns.events'"
	dns_pull "registry:$PORT/library/busybox"
	expect "DNS: a short name completed with the search domain" out_has "certificate is not valid for registry"
	dns_pull "nope.example:$PORT/library/busybox"
	expect "DNS: an unknown name: one clear error" out_has "lookup nope.example: no such host"
	kill "$PIDS_DNS" 2>/dev/null
	wait "$PIDS_DNS" 2>/dev/null
	PIDS=$(echo "$PIDS" | sed "s/ $PIDS_DNS\$//; s/ $PIDS_DNS / /")
	dns_pull "nope.example:$PORT/library/busybox"
	expect "DNS: no nameserver answering: one clear error" out_has "lookup nope.example: no answer from the nameservers in /etc/resolv.conf"
else
	echo "  (DNS checks skipped: no network namespace of this script's own, or no unshare)"
fi
stop
helper expired proxy --cert expired.crt --key srv.key --upstream "$R2" --upstream-ca ca.crt
pull "127.0.0.1:$PORT/library/busybox"
expect "expired certificate refused" out_has "certificate has expired or is not yet valid"
stop

# ---- plain HTTP ----
P3=$(free_port)
registry plain "$P3"
newstore
pull "127.0.0.1:$P3/library/busybox"
expect "plain HTTP refused without --insecure-registry" out_has "needs --insecure-registry 127.0.0.1:$P3"
expect "... and stores nothing" nothing_stored
pull --insecure-registry "127.0.0.1:$P3" "127.0.0.1:$P3/library/busybox"
expect "plain HTTP with --insecure-registry" test $? = 0
MINIRUN_INSECURE_REGISTRIES="other:1,127.0.0.1:$P3" pull "127.0.0.1:$P3/library/zbox"
expect "plain HTTP with MINIRUN_INSECURE_REGISTRIES" test $? = 0

# ---- resilience: cut, stall, corrupt, kill; redirects ----
newstore
helper cut proxy --cert rsa.crt --key rsa.key --upstream "$R2" --upstream-ca ca.crt --cut 300000
pull "127.0.0.1:$PORT/library/busybox"
expect "connection cut mid-blob: pull succeeds" test $? = 0
expect "... over ECDHE-RSA with AES-GCM (an RSA server key)" grep -q "cipher ECDHE-RSA-AES.*-GCM" "$T/cut.events"
expect "... after a cut" grep -q "cut after 300000 bytes" "$T/cut.events"
expect "... resumed with a Range request" grep -Eq "Range: bytes=[1-9][0-9]*-" "$T/cut.events"
expect "... tree equals umoci's" same_tree "127.0.0.1:$PORT/library/busybox" ref-busybox
stop
newstore
helper stall proxy --cert srv.crt --key srv.key --upstream "$R2" --upstream-ca ca.crt --stall 400000
MINIRUN_PULL_TIMEOUT=1 pull "127.0.0.1:$PORT/library/busybox"
expect "stalled connection: read timeout, resumed" sh -c "grep -q stalled '$T/stall.events' && grep -Eq 'Range: bytes=[1-9]' '$T/stall.events'"
expect "... over ECDHE-ECDSA with AES-GCM (an EC server key)" grep -q "cipher ECDHE-ECDSA-AES.*-GCM" "$T/stall.events"
expect "... tree equals umoci's" same_tree "127.0.0.1:$PORT/library/busybox" ref-busybox
stop
newstore
helper corrupt proxy --cert srv.crt --key srv.key --upstream "$R2" --upstream-ca ca.crt --corrupt 500000
pull "127.0.0.1:$PORT/library/busybox"
expect "corrupted byte: pull fails" sh -c "grep -q corrupted '$T/corrupt.events' && grep -q '^Error: ' '$T/pull.out'"
expect "... and stores nothing" nothing_stored
stop
newstore
helper slow proxy --cert srv.crt --key srv.key --upstream "$R2" --upstream-ca ca.crt --slow 200000
"$MINIRUN" pull "127.0.0.1:$PORT/library/busybox" >"$T/pull.out" 2>&1 &
kpid=$!
for _ in $(seq 100); do ls "$MINIRUN_ROOT"/tmp/layer* >/dev/null 2>&1 && break; sleep 0.05; done
sleep 0.5
kill -9 $kpid; wait $kpid 2>/dev/null
expect "killed mid-pull: no image, no layer" nothing_stored
mr images >/dev/null 2>&1
expect "... temporaries cleaned by the next command" test -z "$(ls -A "$MINIRUN_ROOT/tmp" 2>/dev/null)"
stop
newstore
helper front front --cert srv.crt --key srv.key --upstream "$R2" --upstream-ca ca.crt --storage "$T/data" --flaky
pull "127.0.0.1:$PORT/library/busybox"
expect "blobs redirected to another host: pull succeeds" test $? = 0
expect "... after a 503 answered with a retry" grep -q "^front 503" "$T/front.events"
expect "... the blobs came from the other host" grep -q "^cdn /cdn/sha256:" "$T/front.events"
expect "... without the registry's Authorization" sh -c "! grep -q '^cdn .*authorization=yes' '$T/front.events'"
expect "... tree equals umoci's" same_tree "127.0.0.1:$PORT/library/busybox" ref-busybox
stop

finish
