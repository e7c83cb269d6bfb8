#!/bin/sh
# Issue 17's Docker behaviours, checked without Docker (80_docker_compare
# compares them with Docker itself where dockerd can start): rmi of one tag,
# of a used image, -f; rm -f / rmi -f of a missing object; ps filters
# without -a; the PORTS column and HostConfig.PortBindings;
# NetworkSettings.Networks; Go templates; --format and filters of images,
# volume ls, network ls, stats, the inspect commands; ps -s; top -o;
# history; Docker's exit codes; run/create --pull.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"
ID=$(mr images -q --no-trunc busybox)

# 1. rmi
mr tag busybox other:2
check "rmi TAG untags only that tag" sh -c '[ "$("$MINIRUN" rmi other:2)" = "Untagged: other:2" ] && "$MINIRUN" image inspect busybox >/dev/null'
mr tag busybox aa:1
check "rmi -f TAG untags only that tag" sh -c '[ "$("$MINIRUN" rmi -f aa:1)" = "Untagged: aa:1" ] && [ "$("$MINIRUN" images -q | wc -l)" = 1 ]'
mr run -d --name user1 busybox sleep 300 >/dev/null
mr rmi busybox >"$T/e" 2>&1; rc=$?
check "rmi of the last tag of a used image: Docker's conflict, exit 1" sh -c "[ $rc = 1 ] && grep -q 'conflict: unable to remove repository reference \"busybox\" (must force) - container [0-9a-f]\{12\} is using its referenced image [0-9a-f]\{12\}' $T/e"
mr rmi "$ID" >"$T/e" 2>&1; rc=$?
check "rmi by ID under a running container: cannot be forced" sh -c "[ $rc = 1 ] && grep -q '(cannot be forced) - image is being used by running container' $T/e"
check "rmi -f of the last tag: untagged, the container keeps its files" sh -c '[ "$("$MINIRUN" rmi -f busybox)" = "Untagged: busybox:latest" ] && "$MINIRUN" exec user1 ls /bin/busybox >/dev/null && [ "$("$MINIRUN" images --format "{{.Repository}}:{{.Tag}}")" = "<none>:<none>" ]'
mr rm -f user1 >/dev/null
check "the untagged image goes by ID once unused (image and layer chain)" sh -c '"$MINIRUN" rmi "'"$ID"'" | grep -c "^Deleted: sha256:" | grep -qx 2'
mr load -q -i "$FIX/busybox-docker.tar" >/dev/null

# 10. missing objects with -f
mr rm -f nosuch >"$T/o" 2>"$T/e"; rc=$?
check "rm -f of a missing container: the error, exit 0" sh -c "[ $rc = 0 ] && grep -q 'No such container: nosuch' $T/e"
mr rmi -f nosuch >"$T/o" 2>"$T/e"; rc=$?
check "rmi -f of a missing image: the error, exit 0" sh -c "[ $rc = 0 ] && grep -q 'No such image: nosuch' $T/e"
mr rm nosuch >/dev/null 2>&1; rc=$?
check "rm of a missing container: exit 1" [ "$rc" = 1 ]

# 4. ps filters without -a
mr run --name stopped1 busybox true
mr run -d --name running1 -p 127.0.0.1:18080:80 -p 127.0.0.1:18081:18081 -p 127.0.0.1:18082:18082 busybox sleep 300 >/dev/null
check "ps -f name= without -a: not a stopped one" sh -c '[ -z "$("$MINIRUN" ps -q -f name=stopped1)" ] && [ -n "$("$MINIRUN" ps -aq -f name=stopped1)" ]'
check "ps -f ancestor= without -a: only the running one" sh -c '[ "$("$MINIRUN" ps -q -f ancestor=busybox | wc -l)" = 1 ]'
check "ps -f status=exited widens to stopped ones" sh -c '[ "$("$MINIRUN" ps -q -f status=exited | wc -l)" = 1 ]'

# 7. PORTS and PortBindings
check "ps PORTS: Docker's grouping and order" sh -c '[ "$("$MINIRUN" ps --format "{{.Ports}}" -f name=running1)" = "127.0.0.1:18081-18082->18081-18082/tcp, 127.0.0.1:18080->80/tcp" ]'
check "HostConfig.PortBindings" sh -c '[ "$("$MINIRUN" inspect -f "{{json .HostConfig.PortBindings}}" running1)" = "{\"18081/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18081\"}],\"18082/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18082\"}],\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18080\"}]}" ]'

# 6. Networks and templates
check "NetworkSettings.Networks: the bridge endpoint" sh -c '"$MINIRUN" inspect -f "{{range \$k, \$v := .NetworkSettings.Networks}}{{\$k}} {{len \$v.NetworkID}} {{len \$v.EndpointID}} {{\$v.IPPrefixLen}}{{end}}" running1 | grep -qE "^bridge 64 64 [0-9]+$"'
check "range .NetworkSettings.Networks: the address" sh -c '"$MINIRUN" inspect -f "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}" running1 | grep -qE "^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$"'
mr run -d --name t1 --label a=1 --label b=2 busybox sleep 300 >/dev/null
check "template: index, len, range with key and value" sh -c '[ "$("$MINIRUN" inspect -f "{{index .Config.Labels \"b\"}} {{len .Config.Labels}} {{range \$k, \$v := .Config.Labels}}{{\$k}}={{\$v}};{{end}}" t1)" = "2 3 a=1;b=2;org.example.fixture=busybox;" ]'
check "template: if/else, join, upper, lower, printf" sh -c '[ "$("$MINIRUN" inspect -f "{{if .State.Running}}up{{else}}down{{end}} {{join .Config.Cmd \",\"}} {{upper .Name}} {{lower \"AB\"}} {{printf \"%s-%d\" .Name .RestartCount}}" t1)" = "up sleep,300 /T1 ab /t1-0" ]'
check "template: Go's map and slice printing, json with sorted keys" sh -c '[ "$("$MINIRUN" inspect -f "{{.Config.Labels}} {{.Config.Cmd}} {{json .Config.Labels}}" t1)" = "map[a:1 b:2 org.example.fixture:busybox] [sleep 300] {\"a\":\"1\",\"b\":\"2\",\"org.example.fixture\":\"busybox\"}" ]'
mr inspect -f '{{.NoSuchField}}' t1 >"$T/o" 2>"$T/e"; rc=$?
check "template: a missing field is Docker's error, exit 1" sh -c "[ $rc = 1 ] && grep -q 'map has no entry for key \"NoSuchField\"' $T/e"
mr inspect -f '{{range}}' t1 >"$T/o" 2>"$T/e"; rc=$?
check "template: a malformed one, exit 64" sh -c "[ $rc = 64 ] && grep -q 'missing value for range' $T/e"

# 8. formats, filters, history, ps -s, top -o
mr tag busybox other:2
check "images --format and --filter reference" sh -c '[ "$("$MINIRUN" images --filter reference=other --format "{{.Repository}}:{{.Tag}}")" = other:2 ]'
check "images --filter dangling=false / label" sh -c '[ "$("$MINIRUN" images -f dangling=false -q | wc -l)" = 2 ] && [ -z "$("$MINIRUN" images -f label=nosuch -q)" ] && [ "$("$MINIRUN" images -f label=org.example.fixture -q | wc -l)" = 2 ]'
mr images --filter bogus=1 >/dev/null 2>"$T/e"; rc=$?
check "images --filter of an unknown key: Docker's error, 1" sh -c "[ $rc = 1 ] && grep -q \"Invalid filter 'bogus'\" $T/e"
check "image prune --filter label: nothing matches, nothing goes" sh -c '"$MINIRUN" image prune -a -f --filter label=nosuch | grep -q "Total reclaimed space: 0B" && [ "$("$MINIRUN" images -q | wc -l)" = 2 ]'
mr rmi other:2 >/dev/null
mr volume create --label k=v v1 >/dev/null
check "volume ls --format table, volume inspect -f" sh -c '"$MINIRUN" volume ls --format "table {{.Name}}\t{{.Driver}}" | head -1 | grep -qE "^VOLUME NAME +DRIVER$" && [ "$("$MINIRUN" volume inspect -f "{{.Name}} {{.Labels.k}}" v1)" = "v1 v" ]'
check "network ls --format, network inspect -f" sh -c '"$MINIRUN" network ls --format "{{.Name}} {{.Driver}}" | grep -qx "host host" && [ "$("$MINIRUN" network inspect -f "{{.Name}} {{json .Options}}" none)" = "none {}" ]'
check "image inspect -f" sh -c '[ "$("$MINIRUN" image inspect -f "{{.Os}} {{len .RootFS.Layers}}" busybox)" = "linux 1" ]'
check "stats --no-stream --format" sh -c '[ "$("$MINIRUN" stats --no-stream --format "{{.Name}} {{.PIDs}}" t1)" = "t1 1" ]'
mr run --name s1 busybox sh -c 'echo hello > /file'
check "ps -s: writable layer and virtual size" sh -c '"$MINIRUN" ps -a -s --format "{{.Names}} {{.Size}}" -f name=s1 | grep -qE "^s1 6B \(virtual [0-9.]+[kM]B\)$" && "$MINIRUN" ps -s | head -1 | grep -q " SIZE$"'
check "top -o pid,comm" sh -c '"$MINIRUN" top t1 -o pid,comm >'"$T"'/top && head -1 '"$T"'/top | grep -qE "^PID +COMMAND$" && grep -qE "^[0-9]+ +sleep$" '"$T"'/top'
mr top t1 -o comm >/dev/null 2>"$T/e"; rc=$?
check "top without a pid column: Docker's error, 1" sh -c "[ $rc = 1 ] && grep -q \"Couldn't find PID field\" $T/e"
check "history: Docker's columns, the top row is the image" sh -c '"$MINIRUN" history busybox >'"$T"'/h && head -1 '"$T"'/h | grep -qE "^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$" && sed -n 2p '"$T"'/h | grep -q "^[0-9a-f]\{12\} " && tail -1 '"$T"'/h | grep -q "^<missing> .* [0-9.]*MB"'

# 11. exit codes
for c in "logs nosuch" "top nosuch" "port nosuch" "exec nosuch true" "tag nosuch x:1" "rename nosuch x" "kill -s BAD t1" "volume create bad/name" "network create --driver nosuch n1" "load -i /nonexistent" "history nosuch"; do
	# shellcheck disable=SC2086
	mr $c >/dev/null 2>&1; rc=$?
	check "exit 1: $c" [ "$rc" = 1 ]
done
mr exec stopped1 true >/dev/null 2>&1; rc=$?
check "exit 1: exec in a stopped container" [ "$rc" = 1 ]
mr exec t1 /nonexistent >/dev/null 2>&1; rc=$?
check "exit 126: exec of a missing command" [ "$rc" = 126 ]
mr run --rm busybox /nonexistent >/dev/null 2>&1; rc=$?
check "exit 127: run of a missing command" [ "$rc" = 127 ]
mr ps --bogus >/dev/null 2>&1; rc=$?
check "exit 125: a bad flag" [ "$rc" = 125 ]

# 12. --pull
mr run --rm --pull never nosuch/image:1 true >/dev/null 2>"$T/e"; rc=$?
check "run --pull never of a missing image: 125, No such image" sh -c "[ $rc = 125 ] && grep -q 'No such image: nosuch/image:1' $T/e && ! grep -q 'Unable to find' $T/e"
MINIRUN_INSECURE_REGISTRIES=127.0.0.1:9 mr create 127.0.0.1:9/nosuch:1 >/dev/null 2>"$T/e"; rc=$?
check "create of a missing image pulls (the pull's error, 1)" sh -c "[ $rc = 1 ] && grep -q \"Unable to find image '127.0.0.1:9/nosuch:1' locally\" $T/e && grep -q '127.0.0.1:9' $T/e"

mr rm -f running1 t1 stopped1 s1 >/dev/null
mr volume rm v1 >/dev/null
ctr_assert_clean
finish
