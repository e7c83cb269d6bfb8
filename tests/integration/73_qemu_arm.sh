#!/bin/sh
# Full-system boots on the devices' architectures: the aarch64 build under
# qemu-system-aarch64 (`virt`, Cortex-A53) and the armhf build under
# qemu-system-arm (`virt`, Cortex-A15, a 32-bit router-class target), each
# with Debian's own kernel for that architecture and Debian's static busybox
# (tests/qemu-arch.sh: apt-get download, cached in /var/cache/minirun-tests).
# The initramfs: busybox /init loads the modules (overlay, bridge, veth,
# nf_tables, virtio), brings eth0 up on qemu's user network and execs
# `minirun init` (cross-built: make ARCH=aarch64 / ARCH=armhf), which starts
# the boot declaration `hello` from an image of that architecture (a docker
# archive made here from the arch's busybox). A watcher then checks, inside
# the VM: info (cgroup v2), --memory/--pids-limit, a named volume surviving
# rm, a bind mount, -d + logs, -p 8080:80 fetched from outside the VM
# (hostfwd), a restart policy after a kill, and prints the boot-to-first-
# container time and the idle monitor's RSS; SIGTERM to PID 1 runs `down`.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (mknod, cpio of device nodes)"
command -v cpio >/dev/null && command -v python3 >/dev/null && command -v curl >/dev/null ||
	skip "cpio, python3 or curl missing"
BOOTS=0

# target NAME DEBARCH FLAVOUR QEMU MACHINE CPU OCIARCH VARIANT
target() {
	name=$1 debarch=$2 flavour=$3 qemu=$4 machine=$5 cpu=$6 ociarch=$7 variant=$8
	bin=$REPO/build/$name/full/minirun
	echo "== $name: $qemu -M $machine -cpu $cpu"
	command -v "$qemu" >/dev/null || { echo "  SKIP $name: $qemu missing (apt-get install qemu-system-arm)"; return; }
	[ -x "$bin" ] || { echo "  SKIP $name: $bin missing (make ARCH=$name)"; return; }
	K=$("$REPO/tests/qemu-arch.sh" kernel "$debarch" "$flavour") || { echo "  SKIP $name: no kernel"; return; }
	BB=$("$REPO/tests/qemu-arch.sh" busybox "$debarch") || { echo "  SKIP $name: no busybox"; return; }
	VMLINUZ=$(ls "$K"/boot/vmlinuz-* | head -1)
	MODS=$(ls -d "$K"/lib/modules/* | head -1)
	R=$T/$name
	rm -rf "$R"
	mkdir -p "$R/bin" "$R/sbin" "$R/dev" "$R/lib" "$R/images" "$R/etc/minirun/containers"
	cp "$bin" "$R/sbin/minirun"
	cp "$BB" "$R/bin/busybox"
	mknod -m 600 "$R/dev/console" c 5 1
	# the modules and what they need, in load order (each .ko's modinfo
	# "depends=": the package has no modules.dep, depmod makes it at install)
	python3 - "$MODS" "$R/lib" virtio_mmio virtio_net overlay bridge veth crc32c_generic nf_tables \
		nft_chain_nat nft_masq nft_nat nft_fib_ipv4 nft_ct <<'PY' || { bad "$name: modules"; return; }
import os, re, shutil, sys
mods, out, want = sys.argv[1], sys.argv[2], sys.argv[3:]
dep = {}
for root, _, files in os.walk(mods):
    for f in files:
        if f.endswith(".ko"):
            path = os.path.join(root, f)
            m = re.search(rb"\0depends=([^\0]*)\0", open(path, "rb").read())
            deps = m.group(1).decode().split(",") if m and m.group(1) else []
            dep[f[:-3].replace("-", "_")] = (os.path.relpath(path, mods), deps)
order = []
def add(m):
    m = m.replace("-", "_")
    if m in order or m not in dep:
        return  # built in
    for d in dep[m][1]:
        add(os.path.basename(d).split(".ko")[0])
    order.append(m)
for m in want:
    add(m)
with open(os.path.join(out, "modules.order"), "w") as f:
    for m in order:
        shutil.copy(os.path.join(mods, dep[m][0]), os.path.join(out, m + ".ko"))
        f.write(m + ".ko\n")
PY
	# an image of the target's architecture: its busybox, an httpd root
	python3 - "$BB" "$R/images/bb.tar" "$ociarch" "$variant" <<'PY' || { bad "$name: image"; return; }
import hashlib, io, json, sys, tarfile
bb, out, arch, variant = sys.argv[1:]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data=None, mode=0o644, kind=tarfile.REGTYPE, link=""):
        i = tarfile.TarInfo(name); i.mtime = 1700000000; i.mode = mode; i.type = kind; i.linkname = link
        if data is not None:
            i.size = len(data)
        t.addfile(i, io.BytesIO(data) if data is not None else None)
    for d in ("bin", "etc", "www", "data", "tmp", "proc", "sys", "dev"):
        add(d, mode=0o1777 if d == "tmp" else 0o755, kind=tarfile.DIRTYPE)
    add("bin/busybox", open(bb, "rb").read(), 0o755)
    for a in "sh echo cat sleep httpd ls mkdir kill head wc true false grep env cut tr seq id".split():
        add("bin/" + a, kind=tarfile.SYMTYPE, link="busybox")
    add("etc/passwd", b"root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    add("etc/group", b"root:x:0:\nnobody:x:65534:\n")
    add("www/index.html", ("hello from a minirun container on " + arch + "\n").encode())
blob = layer.getvalue()
diff = "sha256:" + hashlib.sha256(blob).hexdigest()
cfg = json.dumps({"architecture": arch, "variant": variant, "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
cid = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{"Config": cid + ".json", "RepoTags": ["bb:latest"], "Layers": ["layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for n, d in ((cid + ".json", cfg), ("layer.tar", blob), ("manifest.json", man)):
        i = tarfile.TarInfo(n); i.size = len(d); i.mtime = 1700000000
        t.addfile(i, io.BytesIO(d))
PY
	cat >"$R/etc/minirun/containers/hello.conf" <<'EOC'
image = bb:latest
archive = /images/bb.tar
command = sh -c 'echo "MINIRUN-MARKER uptime $(cut -d" " -f1 /proc/uptime)"; trap "exit 0" TERM; while :; do sleep 0.2; done'
network = none
stop_timeout = 5
EOC
	cat >"$R/init" <<'EOC'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t devtmpfs devtmpfs /dev
mkdir -p /proc && mount -t proc proc /proc
for m in $(cat /lib/modules.order); do insmod /lib/$m || echo "TEST: insmod $m failed"; done
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
(
	mr() { chroot /proc/1/root /sbin/minirun "$@"; }
	n=0
	until mr logs hello 2>/dev/null | grep -q MINIRUN-MARKER || [ $n -ge 900 ]; do sleep 0.1; n=$((n + 1)); done
	mr logs hello 2>&1 | sed 's/^/TEST: hello says: /'
	sleep 1
	for p in /proc/[0-9]*; do
		case "$({ tr '\0' ' ' <$p/cmdline; } 2>/dev/null)" in
		*__monitor*) echo "TEST: idle monitor $(grep VmRSS $p/status | tr -s ' \t' ' ')" ;;
		esac
	done
	mr info 2>&1 | sed -n 's/^ *Cgroup Version: */TEST: info: Cgroup Version: /p'
	mr run -d --name lim --network none --memory 32m --pids-limit 20 bb sleep 300 >/dev/null 2>/tmp/lim.err
	echo "TEST: run with limits: exit $?"
	sed 's/^/TEST: run with limits says: /' /tmp/lim.err
	cg=/proc/1/root/sys/fs/cgroup/minirun/$(mr inspect -f '{{.Id}}' lim)
	echo "TEST: lim memory.max=$(cat $cg/memory.max) pids.max=$(cat $cg/pids.max)"
	mr rm -f lim >/dev/null
	mr run --rm --network none -v vol:/data bb sh -c 'echo kept-in-volume >/data/f'
	echo "TEST: volume after rm: $(mr run --rm --network none -v vol:/data bb cat /data/f)"
	mkdir -p /proc/1/root/srv/b && echo from-the-host >/proc/1/root/srv/b/f
	echo "TEST: bind mount: $(mr run --rm --network none -v /srv/b:/b:ro bb cat /b/f)"
	mr run -d --name lg --network none bb sh -c 'echo line-one; echo line-two' >/dev/null
	sleep 1
	echo "TEST: logs: $(mr logs lg | tr '\n' ' ')"
	mr run -d --name rs --restart always --network none bb sleep 300 >/dev/null
	kill -9 $(mr inspect -f '{{.State.Pid}}' rs)
	n=0
	until [ "$(mr inspect -f '{{.RestartCount}} {{.State.Status}}' rs)" = "1 running" ] || [ $n -ge 100 ]; do
		sleep 0.1; n=$((n + 1)); done
	echo "TEST: after kill -9: $(mr inspect -f 'restarts {{.RestartCount}} {{.State.Status}}' rs)"
	mr run -d --name web -p 8080:80 bb httpd -f -v -p 80 -h /www >/dev/null 2>/tmp/web.err
	echo "TEST: web started: exit $?"
	sed 's/^/TEST: web says: /' /tmp/web.err
	n=0
	# the host fetches it through qemu's hostfwd; httpd -v logs the request
	until mr logs web 2>&1 | grep -q response || [ $n -ge 300 ]; do sleep 0.1; n=$((n + 1)); done
	mr logs web 2>&1 | sed 's/^/TEST: web log: /'
	echo "TEST: sending SIGTERM to PID 1"
	kill -TERM 1
) &
exec /sbin/minirun init
EOC
	chmod 755 "$R/init"
	(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$T/$name.cpio.gz" || { bad "$name: cpio"; return; }
	hp=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	echo "  kernel $(basename "$VMLINUZ"), initramfs $(wc -c <"$T/$name.cpio.gz") bytes, host port $hp"
	# the host side: once web runs, fetch it through qemu's hostfwd
	(
		n=0
		until grep -q "TEST: web started" "$T/$name.console" 2>/dev/null || [ $n -ge 1200 ]; do sleep 0.1; n=$((n + 1)); done
		n=0
		until curl -s -m 3 "http://127.0.0.1:$hp/" >"$T/$name.fetched" 2>/dev/null && [ -s "$T/$name.fetched" ] ||
			[ $n -ge 30 ]; do sleep 0.5; n=$((n + 1)); done
	) &
	fetcher=$!
	t0=$(date +%s)
	timeout ${QEMU_TIMEOUT:-150} "$qemu" -M "$machine" -cpu "$cpu" -m 512 -smp 1 -nographic -no-reboot \
		-kernel "$VMLINUZ" -initrd "$T/$name.cpio.gz" -append "console=ttyAMA0 panic=-1 quiet" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$hp-:8080" -device virtio-net-device,netdev=n0 \
		</dev/null >"$T/$name.console" 2>&1 &
	qpid=$!
	wait $qpid
	echo $? >"$T/$name.rc"
	t1=$(date +%s)
	kill $fetcher 2>/dev/null; wait $fetcher 2>/dev/null
	tr -d '\r' <"$T/$name.console" >"$T/$name.txt"
	sed 's/^/  | /' "$T/$name.txt" | grep -v '^  | *$' | tail -45
	echo "  ($name: boot to power off $((t1 - t0)) s)"
	BOOTS=$((BOOTS + 1))
	c() { check "$name: $1" grep -q "$2" "$T/$name.txt"; }
	check "$name: qemu ended by itself (no timeout)" [ "$(cat "$T/$name.rc")" != 124 ]
	check "$name: every module loaded" sh -c "! grep -q 'TEST: insmod' '$T/$name.txt'"
	c "init loaded the image and started hello" "minirun: hello: started"
	c "hello ran (its marker)" "TEST: hello says: MINIRUN-MARKER"
	c "info: Cgroup Version 2" "TEST: info: Cgroup Version: 2"
	c "run --memory 32m --pids-limit 20" "TEST: run with limits: exit 0"
	c "limits in the cgroup" "TEST: lim memory.max=33554432 pids.max=20"
	c "named volume survives rm" "TEST: volume after rm: kept-in-volume"
	c "bind mount" "TEST: bind mount: from-the-host"
	c "-d + logs" "TEST: logs: line-one line-two"
	c "restart policy after kill -9" "TEST: after kill -9: restarts 1 running"
	c "-p 8080:80 started" "TEST: web started: exit 0"
	check "$name: the published port answered outside the VM" grep -q "hello from a minirun container on $ociarch" "$T/$name.fetched"
	c "down at shutdown: hello stopped cleanly" "minirun: stopped hello (exit code 0)"
	c "powered off" "minirun: init: powering off"
	check "$name: no nodev fallback, no kernel panic" sh -c "! grep -q -e 'no device cgroup' -e 'Kernel panic' '$T/$name.txt'"
	up=$(sed -n 's/^TEST: hello says: MINIRUN-MARKER uptime \([0-9.]*\).*/\1/p' "$T/$name.txt")
	rss=$(sed -n 's/^TEST: idle monitor VmRSS: \([0-9]*\) kB.*/\1/p' "$T/$name.txt" | head -1)
	echo "  RESULT $name: boot to first container ${up:-?} s (kernel uptime when hello ran), idle monitor VmRSS ${rss:-?} KiB"
}

target aarch64 arm64 arm64 qemu-system-aarch64 virt cortex-a53 arm64 v8
target armhf armhf armmp qemu-system-arm virt,highmem=off cortex-a15 arm v7
[ $BOOTS -gt 0 ] || skip "no target could boot (see above)"
finish
