#!/bin/sh
# Updates with rollback (`up` with pull = always): a local registry (Debian's
# docker-registry, TLS with a CA made here) serves app:1, then a new app:1
# again and again (images made with umoci from the busybox fixture, differing
# in APP_VERSION). A healthy new image replaces the old container; one that
# exits, or whose health check fails, is rolled back: the previous container
# runs again and the image is refused (said by up, a label on the container
# and not retried by the next up). `up` killed with SIGKILL while it stops
# the old container, while it waits for the new one's health check, and
# right after starting the new one: the next `up` puts one of the two back
# (then updates). The named volume keeps its data in every case.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
PIDS=""
EXTRA_CLEANUP='for p in $PIDS; do kill $p 2>/dev/null; done; for p in $PIDS; do wait $p 2>/dev/null; done'
for c in docker-registry skopeo umoci openssl python3; do
	command -v $c >/dev/null || skip "$c missing (apt-get install docker-registry skopeo umoci openssl python3)"
done
export MINIRUN_CA_FILE=$T/ca.crt
unset MINIRUN_INSECURE_REGISTRIES

# ---- a CA, the registry's certificate, the registry ----
cd "$T" || exit 1
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; bad "openssl $1"; finish; }; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=minirun update test CA"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >srv.ext
ossl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile srv.ext
mkdir -p certs && cp ca.crt certs/
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n  tls:\n    certificate: %s\n    key: %s\n' \
	"$T/data" "$PORT" "$T/srv.crt" "$T/srv.key" >reg.yml
docker-registry serve reg.yml >"$T/registry.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" 2>/dev/null && break
	sleep 0.1
done
R=127.0.0.1:$PORT

# ---- images: the busybox fixture with APP_VERSION=N ----
cp -r "$FIX/oci" "$T/layout"
publish() { # publish VERSION: app:1 on the registry is now that image
	umoci config --image "$T/layout:latest" --tag "v$1" --config.env "APP_VERSION=$1" >>"$T/umoci.log" 2>&1 &&
		skopeo copy -q --dest-cert-dir "$T/certs" "oci:$T/layout:v$1" "docker://$R/app:1" >>"$T/skopeo.log" 2>&1 ||
		{ cat "$T/umoci.log" "$T/skopeo.log"; bad "publish v$1"; finish; }
}

# ---- the declaration ----
mkdir -p "$T/boot"
cat >"$T/boot/app.conf" <<EOC
image = $R/app:1
pull = always
pull_rate = 200k
volume = appdata:/data
restart = always
stop_timeout = 10
health_cmd = test "\$APP_VERSION" != sick
health_interval = 1s
health_timeout = 2s
health_retries = 1
command = sh -c 'echo "version \$APP_VERSION" >>/data/log; case \$APP_VERSION in bad*) exit 3;; esac; trap "sleep 1; exit 0" TERM; while :; do sleep 0.2; done'
EOC
up() { mr up "$T/boot" >"$T/up.out" 2>&1; echo $? >"$T/up.rc"; cat "$T/up.out" | tee -a "$T/all-up.out"; }

publish 1
up
check "first up: pulled and started" sh -c "grep -q 'minirun: app: pulling' '$T/up.out' && grep -q 'minirun: app: started' '$T/up.out'"
check "first up: version 1 runs" sh -c "[ \"\$('$MINIRUN' exec app sh -c 'echo \$APP_VERSION')\" = 1 ]"
id1=$(mr inspect -f '{{.Id}}' app)
up
check "up again, same image: up to date, same container" sh -c "grep -q 'app: up to date' '$T/up.out' && [ \"\$('$MINIRUN' inspect -f '{{.Id}}' app)\" = $id1 ]"

# ---- a healthy new image replaces the old one ----
publish 2
v2=""
up
check "new image: replaced, health check waited for, updated" sh -c \
	"grep -q 'app: new image for its tag, replacing' '$T/up.out' && grep -q 'waiting for the new container' '$T/up.out' && grep -q 'app: updated to image' '$T/up.out' && [ \$(cat '$T/up.rc') = 0 ]"
check "new image: version 2 runs, the old container is gone" sh -c "[ \"\$('$MINIRUN' exec app sh -c 'echo \$APP_VERSION')\" = 2 ] && [ \"\$('$MINIRUN' ps -aq | wc -l)\" = 1 ]"
check "new image: the volume kept its data" sh -c "[ \"\$('$MINIRUN' run --rm -v appdata:/data busybox cat /data/log | tr '\n' ' ')\" = 'version 1 version 2 ' ]"
v2=$(mr inspect -f '{{.Image}}' app)

# ---- a new image that exits: rolled back, refused ----
publish bad
up
bad_id=$(mr images -q --no-trunc "$R/app:1")
check "exiting image: up says it rolled back and refused it (exit 1)" sh -c \
	"grep -q 'app: the new container stopped (exit code 3): rolled back' '$T/up.out' && grep -q 'refused until' '$T/up.out' && [ \$(cat '$T/up.rc') = 1 ]"
check "exiting image: the previous container runs again (version 2)" sh -c "[ \"\$('$MINIRUN' exec app sh -c 'echo \$APP_VERSION')\" = 2 ] && [ \"\$('$MINIRUN' inspect -f '{{.Image}}' app)\" = '$v2' ]"
check "exiting image: only one container, no app.prev left" sh -c "[ \"\$('$MINIRUN' ps -aq | wc -l)\" = 1 ] && ! '$MINIRUN' inspect app.prev >/dev/null 2>&1"
check "exiting image: the refusal is on the container (label, ps and inspect)" sh -c \
	"'$MINIRUN' inspect -f '{{json .Config.Labels}}' app | grep -qF '\"minirun.boot.refused\":\"$bad_id\"' && '$MINIRUN' ps --format '{{.Labels}}' | grep -q 'minirun.boot.refused=$bad_id'"
check "exiting image: the image rolled back to is untagged, in use, kept by image prune" sh -c \
	"[ '$v2' != '$bad_id' ] && '$MINIRUN' image prune -f >/dev/null && '$MINIRUN' image inspect '$v2' >/dev/null"
check "exiting image: the volume kept its data" sh -c "[ \"\$('$MINIRUN' run --rm -v appdata:/data busybox cat /data/log | tr '\n' ' ')\" = 'version 1 version 2 version bad version 2 ' ]"
idr=$(mr inspect -f '{{.Id}}' app)
up
check "refused image: the next up does not try it again" sh -c \
	"grep -q 'was rolled back before: refused' '$T/up.out' && [ \"\$('$MINIRUN' inspect -f '{{.Id}}' app)\" = $idr ] && ! grep -q replacing '$T/up.out'"

# ---- a new image whose health check fails: rolled back ----
publish sick
up
check "unhealthy image: rolled back (is unhealthy), version 2 runs" sh -c \
	"grep -q 'app: the new container is unhealthy: rolled back' '$T/up.out' && [ \"\$('$MINIRUN' exec app sh -c 'echo \$APP_VERSION')\" = 2 ] && [ \"\$('$MINIRUN' ps -aq | wc -l)\" = 1 ]"

# ---- SIGKILL of up in the middle of an update ----
# killup PATTERN: run up in the background, SIGKILL it once its output
# shows PATTERN (then some settling), report what was left
killup() {
	"$MINIRUN" up "$T/boot" >"$T/kill.out" 2>&1 &
	upid=$!   # minirun itself (not a subshell running it): the kill must reach it
	n=0
	until grep -q "$1" "$T/kill.out" || [ $n -ge 1200 ]; do sleep 0.05; n=$((n + 1)); done
	sleep "${2:-0}"
	kill -KILL $upid 2>/dev/null
	wait $upid 2>/dev/null
	sed 's/^/    killed up: /' "$T/kill.out"
	grep -q "$1" "$T/kill.out"
}
i=3
for point in "stopping the old container|0.3" "stopping the old container|1.4" "waiting for the new container|0.5"; do
	pat=${point%|*}
	i=$((i + 1))
	publish $i
	check "kill -9 of up at '$pat' (+${point#*|}s): reached" killup "$pat" "${point#*|}"
	echo "    left: $(mr ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Status}}' | tr '\n' ';') journal: $(ls "$MINIRUN_ROOT/boot" | tr '\n' ' ')"
	up
	check "...the next up: the update is done, one container (version $i) runs, no leftovers" sh -c \
		"[ \"\$('$MINIRUN' exec app sh -c 'echo \$APP_VERSION')\" = $i ] && [ \"\$('$MINIRUN' ps -aq | wc -l)\" = 1 ] && ! '$MINIRUN' inspect app.prev >/dev/null 2>&1 && [ ! -e '$MINIRUN_ROOT/boot/app.rollout' ]"
	check "...the volume kept its data (last: version $i)" sh -c "'$MINIRUN' run --rm -v appdata:/data busybox tail -1 /data/log | grep -qx 'version $i'"
done
# the kill after the new container started and before it was confirmed: the
# recovery puts the old one back (said), then the update runs again
check "a cut-short update was said and undone by the next up" grep -q "an update was cut short: the previous container is back" "$T/all-up.out"

# ---- a kill with a bad image: the old one comes back and stays ----
publish bad2
check "kill -9 of up with a bad image while stopping the old: reached" killup "stopping the old container" 0.3
up
check "...the next up: rolled back, version 6 runs, one container" sh -c \
	"grep -q 'rolled back' '$T/up.out' && [ \"\$('$MINIRUN' exec app sh -c 'echo \$APP_VERSION')\" = 6 ] && [ \"\$('$MINIRUN' ps -aq | wc -l)\" = 1 ]"

mr down "$T/boot" >/dev/null 2>&1
check "down: no container left" sh -c "[ -z \"\$('$MINIRUN' ps -aq)\" ]"

# ---- init's timer: pull_interval = 2s picks up a new tag by itself ----
publish 7
echo 'pull_interval = 2s' >>"$T/boot/app.conf"
"$MINIRUN" init "$T/boot" >"$T/init.out" 2>&1 &
ipid=$!
PIDS="$PIDS $ipid"
n=0
until grep -q "app: started" "$T/init.out" || [ $n -ge 200 ]; do sleep 0.1; n=$((n + 1)); done
publish 8
n=0
until grep -q "app: updated to image" "$T/init.out" || [ $n -ge 300 ]; do sleep 0.1; n=$((n + 1)); done
cat "$T/init.out"
check "init: says it looks for new images every 2s" grep -q "looking for new images every 2s" "$T/init.out"
check "init: the timer's up updated app to version 8" sh -c \
	"grep -q 'app: updated to image' '$T/init.out' && [ \"\$('$MINIRUN' exec app sh -c 'echo \$APP_VERSION')\" = 8 ]"
kill -TERM $ipid
wait $ipid
check "init: SIGTERM stops the containers" sh -c "[ -z \"\$('$MINIRUN' ps -aq)\" ]"

# ---- pull_rate: the download is paced ----
export MINIRUN_ROOT=$T/store-rate
size=$(cat "$T/layout/blobs/sha256/"* | wc -c)
t0=$(date +%s%N)
mr pull -q --limit-rate 256k "$R/app:1" >"$T/rate.out" 2>&1
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
want=$((size * 1000 / 262144 * 8 / 10))
echo "  (pull of $size bytes at --limit-rate 256k: $ms ms, at least $want ms expected)"
check "pull --limit-rate 256k: took at least 80% of size/rate" sh -c "[ $ms -ge $want ] && grep -q app:1 '$T/rate.out'"
check "pull --limit-rate 1: refused (1, Docker's code for a failed pull)" sh -c "'$MINIRUN' pull --limit-rate 1 '$R/app:1' >/dev/null 2>&1; [ \$? = 1 ]"
finish
