#!/bin/sh
# `run` in the foreground: exit codes (0, 3, 126, 127, 128+N), Docker's image
# defaults (Entrypoint/Cmd, Env, WorkingDir, User, Hostname), the isolation a
# Docker user expects (namespaces, /dev, /proc masks, capabilities,
# no_new_privs, descriptors), the stateless root (overlay and copy drivers,
# long layer lists), and the two CVE guards (5736 and 21626).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/_ctr.sh"

out() { "$MINIRUN" run --rm "$@" 2>&1; }

# ---- exit codes --------------------------------------------------------------
check "run echo prints and exits 0" sh -c '[ "$("$MINIRUN" run --rm busybox echo hello)" = hello ]'
mr run --rm busybox sh -c 'exit 3'; rc=$?
check "the container's exit code (3)" [ "$rc" = 3 ]
mr run --rm busybox nonexist >"$T/e" 2>&1; rc=$?
check "command not found: 127 with Docker's words" sh -c "[ $rc = 127 ] && grep -q 'exec: \"nonexist\": executable file not found in \$PATH' $T/e"
mr run --rm busybox /nonexist >"$T/e" 2>&1; rc=$?
check "missing path: 127" sh -c "[ $rc = 127 ] && grep -q 'no such file or directory' $T/e"
mr run --rm busybox /etc >"$T/e" 2>&1; rc=$?
check "not executable: 126, permission denied" sh -c "[ $rc = 126 ] && grep -q 'permission denied' $T/e"
mr run --rm --init busybox sh -c 'kill -9 $$'; rc=$?
check "killed by SIGKILL: 137 (with --init as PID 1)" [ "$rc" = 137 ]
mr run --rm --init busybox sh -c 'kill -15 $$'; rc=$?
check "killed by SIGTERM: 143" [ "$rc" = 143 ]
check "--init: PID 1 is the reaper, the command PID 2" sh -c '[ "$("$MINIRUN" run --rm --init busybox sh -c "echo \$\$")" = 2 ]'
mr run --rm --pull never nosuchimage true >"$T/e" 2>&1; rc=$?
check "--pull never, no such image: 125" sh -c "[ $rc = 125 ] && grep -q 'No such image: nosuchimage' $T/e"
mr create --pull never nosuchimage >"$T/e" 2>&1; rc=$?
check "create --pull never, no such image: 1 (Docker)" sh -c "[ $rc = 1 ] && grep -q 'No such image: nosuchimage' $T/e"
# --pull missing (the default) pulls: here from a registry that cannot be
# reached (a closed port on loopback), so the pull's own error, exit 125
MINIRUN_INSECURE_REGISTRIES=127.0.0.1:9 mr run --rm 127.0.0.1:9/nosuch:1 true >"$T/e" 2>&1; rc=$?
check "run of a missing image pulls it (the pull's error, 125)" sh -c "[ $rc = 125 ] && grep -q \"Unable to find image '127.0.0.1:9/nosuch:1' locally\" $T/e && grep -q '127.0.0.1:9' $T/e && ! \"\$MINIRUN\" ps -aq | grep -q ."
MINIRUN_INSECURE_REGISTRIES=127.0.0.1:9 mr run --rm --pull always busybox true >"$T/e" 2>&1; rc=$?
check "--pull always pulls even a present image (its error here)" sh -c "[ $rc = 125 ] && ! grep -q 'Unable to find' $T/e && grep -qi 'pull\|docker.io\|registry' $T/e"
check "--pull missing with the image present: no pull" sh -c '"$MINIRUN" run --rm --pull missing busybox true 2>&1 | grep -c . | grep -qx 0'
mr run --rm busybox >"$T/e" 2>&1; rc=$?
check "image Cmd (sh) with stdin closed exits 0" [ "$rc" = 0 ]

# ---- image defaults and flags -----------------------------------------------
env=$(out busybox env)
check "PATH from the image" sh -c "echo '$env' | grep -qx 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'"
check "HOME from passwd, HOSTNAME set" sh -c "echo '$env' | grep -qx 'HOME=/root' && echo '$env' | grep -q '^HOSTNAME=[0-9a-f]\{12\}$'"
printf 'A=from-file\n# comment\n\nB=2\n' >"$T/envfile"
check "-e K=V, -e K from the caller, --env-file, -e wins" sh -c 'FOO=bar "$MINIRUN" run --rm -e X=1 -e FOO -e NOTSET --env-file '"$T"'/envfile -e B=3 busybox env >'"$T"'/env2 &&
	grep -qx X=1 '"$T"'/env2 && grep -qx FOO=bar '"$T"'/env2 && ! grep -q NOTSET '"$T"'/env2 &&
	grep -qx A=from-file '"$T"'/env2 && grep -qx B=3 '"$T"'/env2'
check "default user root, workdir /" sh -c '[ "$("$MINIRUN" run --rm busybox sh -c "id -u; pwd" | tr "\n" " ")" = "0 / " ]'
check "-u nobody from /etc/passwd" sh -c '[ "$("$MINIRUN" run --rm -u nobody busybox id -u)" = 65534 ]'
check "-u uid:gid numeric" sh -c '[ "$("$MINIRUN" run --rm -u 1234:5678 busybox sh -c "id -u; id -g" | tr "\n" " ")" = "1234 5678 " ]'
mr run --rm -u nosuchuser busybox true >"$T/e" 2>&1; rc=$?
check "-u of an unknown name: 125" sh -c "[ $rc = 125 ] && grep -q 'unable to find user nosuchuser' $T/e"
check "-w is the working directory, created when missing" sh -c '[ "$("$MINIRUN" run --rm -w /new/dir busybox pwd)" = /new/dir ]'
mr run --rm -w rel busybox true >"$T/e" 2>&1; rc=$?
check "-w relative: refused (125)" sh -c "[ $rc = 125 ] && grep -q 'absolute path' $T/e"
check "--entrypoint replaces the image's and its Cmd" sh -c '[ "$("$MINIRUN" run --rm --entrypoint echo busybox a b)" = "a b" ]'
check "hostname: short ID by default, -h sets it" sh -c '[ "$("$MINIRUN" run --rm -h myhost busybox hostname)" = myhost ]'
check "/etc/hostname and /etc/hosts provided" sh -c '"$MINIRUN" run --rm -h hh busybox sh -c "cat /etc/hostname; grep -c localhost /etc/hosts" | tr "\n" " " | grep -q "^hh [1-9]"'
check "resolv.conf without loopback name servers" sh -c '! "$MINIRUN" run --rm busybox cat /etc/resolv.conf | grep -q "^nameserver 127\."'
mr run --rm --name dup busybox true
mr run -d --name dup busybox sleep 30 >/dev/null
mr run --name dup busybox true >"$T/e" 2>&1; rc=$?
check "a name in use: 125, Docker's Conflict message" sh -c "[ $rc = 125 ] && grep -q 'Conflict. The container name \"/dup\" is already in use' $T/e"
mr rm -f dup >/dev/null

# ---- isolation --------------------------------------------------------------
check "PID namespace: the command is PID 1" sh -c '[ "$("$MINIRUN" run --rm busybox sh -c "echo \$\$")" = 1 ]'
check "--network none: only lo, and it is up" sh -c '"$MINIRUN" run --rm --network none busybox sh -c "cat /proc/net/dev" | tail -n +3 | awk "{print \$1}" | tr "\n" " " | grep -qx "lo: " &&
	"$MINIRUN" run --rm --network none busybox busybox ping -c 1 -W 1 127.0.0.1 >/dev/null'
check "a network namespace of its own by default" sh -c '[ "$("$MINIRUN" run --rm busybox readlink /proc/self/ns/net)" != "$(readlink /proc/self/ns/net)" ]'
hostifs=$(tail -n +3 /proc/net/dev | wc -l)
check "--network host sees the host's interfaces" sh -c '[ "$("$MINIRUN" run --rm --network host busybox cat /proc/net/dev | tail -n +3 | wc -l)" = '"$hostifs"' ]'
check "private /dev: null, zero, full, random, urandom, tty, ptmx, shm, mqueue, fd" sh -c '"$MINIRUN" run --rm busybox sh -c "test -c /dev/null && test -c /dev/zero && test -c /dev/full && test -c /dev/random && test -c /dev/urandom && test -c /dev/tty && test -L /dev/ptmx && test -d /dev/shm && test -d /dev/mqueue && test -L /dev/fd && echo x > /dev/null && ! test -e /dev/sda && ! test -e /dev/vda"'
check "/proc/kcore, /proc/keys masked; /proc/sys and /sys read-only" sh -c '"$MINIRUN" run --rm busybox sh -c "! test -s /proc/keys && ! echo 1 >/proc/sys/kernel/ns_last_pid && ! touch /sys/x && grep -q \" /sys sysfs ro\" /proc/mounts"'
check "Docker's default capabilities (a80425fb)" sh -c '"$MINIRUN" run --rm busybox grep -q "^CapEff:	00000000a80425fb" /proc/self/status'
check "--cap-drop ALL leaves none, bounding set too" sh -c '"$MINIRUN" run --rm --cap-drop ALL busybox sh -c "grep -q \"^CapEff:	0000000000000000\" /proc/self/status && grep -q \"^CapBnd:	0000000000000000\" /proc/self/status"'
check "--cap-add NET_ADMIN" sh -c '"$MINIRUN" run --rm --cap-add net_admin busybox grep -q "^CapEff:	00000000a80435fb" /proc/self/status'
check "a non-root user has no effective capabilities" sh -c '"$MINIRUN" run --rm -u nobody busybox grep -q "^CapEff:	0000000000000000" /proc/self/status'
check "--privileged has every capability and a writable /sys" sh -c '"$MINIRUN" run --rm --privileged busybox sh -c "grep CapEff /proc/self/status | grep -vq 00000000a80425fb && grep -q \" /sys sysfs rw\" /proc/mounts"'
mr run --rm --cap-add NOSUCH busybox true >"$T/e" 2>&1; rc=$?
check "an unknown capability: 125" sh -c "[ $rc = 125 ] && grep -q 'unknown capability' $T/e"
check "--security-opt no-new-privileges" sh -c '"$MINIRUN" run --rm --security-opt no-new-privileges busybox grep -q "^NoNewPrivs:	1" /proc/self/status &&
	"$MINIRUN" run --rm busybox grep -q "^NoNewPrivs:	0" /proc/self/status'
mr run -d --name fds busybox sleep 60 >/dev/null
check "no descriptor of minirun reaches the container (seen from the host)" sh -c '[ "$(ls /proc/$("$MINIRUN" inspect -f "{{.State.Pid}}" fds)/fd | tr "\n" " ")" = "0 1 2 " ]'
mr rm -f fds >/dev/null
check "stdin is /dev/null without -i" sh -c '[ "$(echo data | "$MINIRUN" run --rm busybox cat)" = "" ]'
check "-i passes stdin" sh -c '[ "$(echo data | "$MINIRUN" run --rm -i busybox cat)" = data ]'
check "cgroup namespace: the container sees its cgroup as /" sh -c '"$MINIRUN" run --rm busybox cat /proc/self/cgroup | grep -q "^0::/$"'

# ---- CVE guards --------------------------------------------------------------
mr run --rm busybox /proc/self/exe version >"$T/e" 2>&1; rc=$?
check "CVE-2019-5736: minirun's own binary is refused as the command" sh -c "[ $rc = 126 ] && grep -q 'own binary' $T/e"
mr run --rm -w /proc/self/fd/3 busybox pwd >"$T/e" 2>&1; rc=$?
check "CVE-2024-21626: a working directory through /proc/self/fd is refused" sh -c "[ $rc = 125 ] && ! grep -q '^/' $T/e"
check "a working directory cannot leave the root through .." sh -c '[ "$("$MINIRUN" run --rm -w /../../.. busybox pwd)" = / ]'

# ---- stateless root, both drivers -------------------------------------------
for drv in overlay copy; do
	export MINIRUN_STORAGE_DRIVER=$drv
	mr run --name st-$drv busybox sh -c 'test -e /newfile && echo again; echo changed >/etc/passwd; touch /newfile; rm -f /bin/true' >/dev/null 2>&1
	check "$drv: inspect names the driver" sh -c '[ "$("$MINIRUN" inspect -f "{{.GraphDriver.Name}}" st-'$drv')" = '$drv' ]'
	check "$drv: a second start sees the container's own changes" sh -c '[ "$("$MINIRUN" start -a st-'$drv' 2>&1)" = again ]'
	mr rm -f st-$drv >/dev/null
	check "$drv: after rm, a new container has the image's files" sh -c '"$MINIRUN" run --rm busybox sh -c "! test -e /newfile && test -e /bin/true && grep -q ^root: /etc/passwd"'
	# the glob must match a layer's passwd: a check that passes on no file proves nothing
	check "$drv: the store's layer is unchanged" sh -c 'set -- '"$MINIRUN_ROOT"'/layers/*/etc/passwd; [ -f "$1" ] && ! grep -q changed "$@"'
	unset MINIRUN_STORAGE_DRIVER
done
check "read-only root: writes fail (overlay)" sh -c '"$MINIRUN" run --rm --read-only busybox sh -c "! touch /x 2>/dev/null && touch /dev/shm/ok"'
check "read-only root: writes fail (copy, hardlinked)" sh -c 'MINIRUN_STORAGE_DRIVER=copy "$MINIRUN" run --rm --read-only busybox sh -c "! touch /x 2>/dev/null && ! echo x >> /etc/passwd"'
check "six-layer image: whiteouts and opaque folders hold" sh -c '"$MINIRUN" load -q -i '"$FIX"'/layers-docker.tar >/dev/null &&
	"$MINIRUN" run --rm layers sh -c "test -e /opt/dir/c && test -e /opt/dir/d && ! test -e /opt/dir/a && ! test -e /etc/removed-file && ! test -e /opt/gone-dir"'

# ---- a long layer list (over one page of mount options) ---------------------
python3 - "$T/many.tar" 60 <<'PY' || bad "could not build the 60-layer image"
import hashlib, io, json, sys, tarfile
out, n = sys.argv[1], int(sys.argv[2])
blobs, diffs = [], []
def tarbytes(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            i = tarfile.TarInfo(name); i.size = len(data); i.mtime = 1700000000
            t.addfile(i, io.BytesIO(data))
    return b.getvalue()
for k in range(n):
    data = tarbytes([("layer%02d" % k, b"%d\n" % k)])
    d = hashlib.sha256(data).hexdigest()
    blobs.append((d, data)); diffs.append("sha256:" + d)
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": ["/layer00"]}, "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd = hashlib.sha256(cfg).hexdigest()
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": len(cfg)},
       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + d, "size": len(b)} for d, b in blobs]}
mb = json.dumps(man).encode(); md = hashlib.sha256(mb).hexdigest()
idx = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
       "digest": "sha256:" + md, "size": len(mb), "annotations": {"org.opencontainers.image.ref.name": "many:latest"}}]}).encode()
with tarfile.open(out, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", idx)
    add("blobs/sha256/" + cd, cfg); add("blobs/sha256/" + md, mb)
    for d, b in blobs: add("blobs/sha256/" + d, b)
PY
mr load -q -i "$T/many.tar" >"$T/e" 2>&1 || bad "load the 60-layer image: $(cat $T/e)"
BB="-v $FIX/ref-busybox/rootfs/bin/busybox:/busybox:ro --entrypoint /busybox"
check "60 layers (options over a page): the base and the top layer are both there" sh -c '"$MINIRUN" run --rm '"$BB"' many cat /layer00 /layer59 | tr "\n" " " | grep -qx "0 59 "'
check "60 layers with the copy driver too" sh -c 'MINIRUN_STORAGE_DRIVER=copy "$MINIRUN" run --rm '"$BB"' many cat /layer30 | grep -qx 30'

# ---- a foreground run is logged (issue 17 item 3) ---------------------------
mr run --name fglog busybox sh -c 'echo out1; echo err1 >&2; echo out2' >"$T/o" 2>"$T/e"
check "foreground: stdout and stderr relayed live" sh -c "[ \"\$(cat $T/o)\" = 'out1
out2' ] && [ \"\$(cat $T/e)\" = err1 ]"
check "foreground: the log file exists" sh -c "test -s \"$MINIRUN_ROOT/containers/\$(\"$MINIRUN\" inspect -f '{{.Id}}' fglog)/log\""
check "foreground: logs prints stdout afterwards" sh -c '[ "$("$MINIRUN" logs fglog 2>/dev/null | tr "\n" " ")" = "out1 out2 " ]'
check "foreground: logs prints stderr to stderr" sh -c '[ "$("$MINIRUN" logs fglog 2>&1 >/dev/null)" = err1 ]'
check "foreground: logs -t has a timestamp per line" sh -c '[ "$("$MINIRUN" logs -t fglog 2>&1 | grep -cE "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z (out|err)[12]$")" = 3 ]'
check "foreground: logs keeps the write order across stdout and stderr" sh -c '[ "$("$MINIRUN" run --name fgord busybox sh -c "echo o1; sleep 0.1; echo e1 >&2; sleep 0.1; echo o2" >/dev/null 2>&1; "$MINIRUN" logs fgord 2>&1 | tr "\n" " ")" = "o1 e1 o2 " ]'
mr run --name fgcap --log-opt max-size=4k --log-opt max-file=1 busybox sh -c 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done' >/dev/null
check "foreground: the log keeps its cap (max-size=4k)" sh -c "[ \$(stat -c %s \"$MINIRUN_ROOT/containers/\$(\"$MINIRUN\" inspect -f '{{.Id}}' fgcap)/log\") -le 4096 ] && \"$MINIRUN\" logs fgcap | tail -1 | grep -qx line-299"
check "foreground -t: the pty's output is logged" sh -c '"$MINIRUN" run -t --name fgtty busybox echo ttyout </dev/null >/dev/null && "$MINIRUN" logs fgtty | tr -d "\r" | grep -qx ttyout'
{ timeout 10 "$MINIRUN" run --rm busybox busybox yes; echo $? >"$T/rc"; } | head -1 >/dev/null
check "foreground: a reader gone (| head) ends the container, no endless relay (rc $(cat "$T/rc"))" sh -c "[ $(cat "$T/rc") != 124 ]"
mr rm fglog fgord fgcap fgtty >/dev/null

ctr_assert_clean
finish
