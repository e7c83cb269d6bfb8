#!/bin/sh
# A real service: busybox's HTTP server run detached, answered to curl (from
# Debian, run on the host inside the container's network namespace with
# nsenter), its access seen in the container, stopped and removed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
command -v curl >/dev/null || skip "curl missing"
command -v nsenter >/dev/null || skip "nsenter missing"

mr run -d --name www -e MSG=served-by-minirun busybox sh -c \
	'mkdir -p /www && echo "$MSG" > /www/index.html && exec busybox httpd -f -vv -p 80 -h /www' >/dev/null
pid=$(mr inspect -f '{{.State.Pid}}' www)
n=0; until nsenter -t "$pid" -n curl -fsS -m 2 http://127.0.0.1/ >"$T/page" 2>"$T/curl.err" || [ $n -ge 30 ]; do sleep 0.1; n=$((n+1)); done
check "curl in the container's network namespace gets the page" grep -qx served-by-minirun "$T/page"
check "a missing page is a 404" sh -c "[ \"\$(nsenter -t $pid -n curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/nope)\" = 404 ]"
check "the port is not on the host's network (the container has its own)" sh -c "! ss -ltn 2>/dev/null | grep -q ':80 .*' || ! curl -fs -m 1 http://127.0.0.1:80/ | grep -q served-by-minirun"
check "the server logged the requests (logs)" sh -c '"$MINIRUN" logs www 2>&1 | grep -q "url:/"'
check "exec can fetch it from inside too" sh -c '"$MINIRUN" exec www busybox wget -qO- http://127.0.0.1/ | grep -qx served-by-minirun'
t0=$(date +%s%N); mr stop www >/dev/null; t1=$(date +%s%N)
check "stop: httpd as PID 1 has no SIGTERM handler: killed after the 10 s timeout (137)" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.ExitCode}}" www)" = 137 ]'
echo "  (stop took $(( (t1 - t0) / 1000000 )) ms)"
mr rm www >/dev/null
check "removed" sh -c '! "$MINIRUN" inspect www >/dev/null 2>&1'

# --init makes PID 1 a reaper that forwards SIGTERM: a quick stop.
mr run -d --init --name www2 busybox busybox httpd -f -p 8080 -h / >/dev/null
sleep 0.2
t0=$(date +%s%N); mr stop www2 >/dev/null; t1=$(date +%s%N)
check "with --init, stop is quick (SIGTERM reaches httpd): 143" sh -c '[ "$("$MINIRUN" inspect -f "{{.State.ExitCode}}" www2)" = 143 ] && [ '"$(( (t1 - t0) / 1000000 ))"' -lt 3000 ]'
mr rm www2 >/dev/null
ctr_assert_clean
finish
