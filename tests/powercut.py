#!/usr/bin/env python3
"""Power cuts under emulation: a qemu VM whose virtio disk (ext4) holds a
minirun store runs random store-changing work; the host SIGKILLs qemu at a
random moment (the guest's page cache is lost, as in a power cut), boots it
again on the same disk and checks that `minirun check` is clean without
--repair, that every operation the guest acknowledged is there, and that work
goes on. Used by tests/integration/72_powercut.sh (10 cuts in `make test`) and
`make powercut` (200).

The guest (/init, a busybox script) prints on the console:
  PC FACT ...      what the store holds after boot (check, images, containers,
                   volume files), before any new work
  PC READY         verification done, work starts
  PC BEGIN OP OBJ  a command starts (OBJ: what it may change)
  PC ACK KIND ...  the command returned success: its effect must survive
  PC FAIL ...      a command failed (work did not go on)
The host keeps the model of what must be there from the ACKs it saw, drops
what an operation cut short may have changed (OBJ of the BEGIN without ACK),
and compares the model with the FACTs of the next boot.

Disk: a raw image, `cache=none` (O_DIRECT on the host): what qemu wrote is on
the host's disk, what the guest kernel kept in its page cache is lost with
the process. The host page cache could not keep anything the guest had not
already handed to its virtual disk anyway (SIGKILL of qemu is not a host
crash); cache=none also keeps the image out of the host's page cache, so the
run costs no host memory.
"""
import argparse, hashlib, io, json, os, random, select, shutil, signal, subprocess, sys, tarfile, time

GUEST_INIT = r'''#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
# pivot_root (container starts) refuses the initramfs' rootfs: go on from a
# bind mount of it moved over / (what `minirun init` does for itself)
if [ "$1" != stage2 ]; then
	mkdir -p /r && mount --bind / /r && cd /r && mount --move . / && exec chroot . /init stage2
	echo "PC FATAL could not leave the rootfs"
fi
printf '#!/bin/sh\nexec /sbin/minirun "$@"\n' >/bin/mr && chmod 755 /bin/mr
mkdir -p /proc /sys /run /tmp
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk overlay \
	failover net_failover virtio_net; do
	insmod /lib/$m.ko 2>&1 | sed "s/^/PC INSMOD $m /"
done
n=0; while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
mkdir -p /disk
mount -t ext4 /dev/vda /disk || { echo "PC FATAL mount"; ls /dev; dmesg | tail -20; poweroff -f; }
export MINIRUN_ROOT=/disk/minirun MINIRUN_RUNDIR=/run/minirun
mkdir -p /disk/conf
mode=$(sed -n 's/.*pcmode=\([a-z]*\).*/\1/p' /proc/cmdline)
# the host's registry through qemu's user networking (10.0.2.2 is the host)
reg=$(sed -n 's/.*pcreg=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$reg" ] && ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && route add default gw 10.0.2.2
echo "PC BOOT $mode"
t0=$(cut -d' ' -f1 /proc/uptime)
mr check >/tmp/check 2>&1; rc=$?
echo "PC FACT check $rc"
sed 's/^/PC FACT checkline /' /tmp/check
t1=$(cut -d' ' -f1 /proc/uptime)
echo "PC FACT checktime $t0 $t1"
mr images 2>/dev/null | awk 'NR > 1 { print "PC FACT img " $1 ":" $2 }'
mr ps -a --format '{{.Names}}' 2>/dev/null | sed 's/^/PC FACT ctr /'
for v in $(mr volume ls -q 2>/dev/null); do
	[ -f "$MINIRUN_ROOT/volumes/$v/_data/f" ] && echo "PC FACT vol $v f $(cat "$MINIRUN_ROOT/volumes/$v/_data/f")"
done
for t in $(mr images 2>/dev/null | awk 'NR > 1 { print $1 ":" $2 }'); do
	if mr run --rm --network none "$t" true >/tmp/run 2>&1; then echo "PC FACT runs $t"
	else echo "PC FACT runfail $t $(tail -1 /tmp/run)"; fi
done
echo "PC READY"
rnd() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 )); }
hex() { od -An -N4 -tx4 /dev/urandom | tr -d ' '; }
op() { # op NAME OBJ ACK cmd...
	name=$1 obj=$2 ack=$3; shift 3
	echo "PC BEGIN $name $obj"
	if "$@" >/tmp/op 2>&1; then echo "PC ACK $ack"
	else echo "PC FAIL $name $obj rc=$? $(tail -1 /tmp/op)"; fi
}
volwrite() { # volwrite V X: written to f.new, fsynced (sync), renamed, fsynced
	mr run --rm --network none -v "$1:/v" busybox:latest \
		sh -c "echo $2 >/v/f.new && sync && mv /v/f.new /v/f && sync"
}
if [ "$mode" = final ]; then
	op load img:final-load:1 "img final-load:1" sh -c 'mr load -q -i /images/busybox.tar && mr tag busybox:latest final-load:1'
	op run ctr:final-run "ctr final-run" mr run -d --name final-run --network none busybox:latest sleep 1000
	op rm ctr:final-run "ctrgone final-run" mr rm -f final-run
	mr check | sed 's/^/PC FACT finalcheck /'
	echo "PC DONE"
	poweroff -f
fi
op load img:busybox:latest "img busybox:latest" mr load -q -i /images/busybox.tar
while :; do
	id=$(hex)
	case $(rnd 14) in
	0|1)	if mr images | grep -q '^big '; then
			op rmi img:big:latest "gone big:latest" mr rmi big:latest
		else
			op load img:big:latest "img big:latest" mr load -q -i /images/big.tar
		fi ;;
	2)	op load img:bb-$id:1 "img bb-$id:1" sh -c "mr load -q -i /images/busybox.tar && mr tag busybox:latest bb-$id:1" ;;
	12|13)	p=10.0.2.2:$reg/library/pbox
		if [ -z "$reg" ]; then :
		elif mr images | grep -q "^$p "; then
			op rmi img:$p:latest "gone $p:latest" mr rmi $p:latest
		else
			op pull img:$p:latest "img $p:latest" mr pull -q --insecure-registry 10.0.2.2:$reg $p:latest
		fi ;;
	3)	t=$(mr images | awk '$1 ~ /^bb-/ { print $1 ":" $2 }' | head -1)
		[ -n "$t" ] && op rmi img:$t "gone $t" mr rmi "$t" ;;
	4|5)	op run ctr:c-$id "ctr c-$id" mr run -d --name c-$id --network none busybox:latest sleep 100000 ;;
	6)	c=$(mr ps -a --format '{{.Names}}' | grep '^c-' | head -1)
		[ -n "$c" ] && op rm ctr:$c "ctrgone $c" mr rm -f "$c" ;;
	7)	op volcreate vol:v-$id "volume v-$id" mr volume create v-$id
		op volwrite vol:v-$id "vol v-$id f $id" volwrite v-$id $id ;;
	8)	v=$(mr volume ls -q | grep '^v-' | head -$(( $(rnd 3) + 1 )) | tail -1)
		[ -n "$v" ] && op volwrite vol:$v "vol $v f $id" volwrite $v $id ;;
	9)	op imageprune none imgprune mr image prune -f ;;
	10)	op systemprune ctr:* sysprune mr system prune -f ;;
	11)	v=$(( $(rnd 2) + 1 ))
		printf 'image = app:v%s\narchive = /images/app-v%s.tar\ncommand = sleep 100000\nnetwork = none\n' $v $v >/disk/conf/app.conf.new
		sync; mv /disk/conf/app.conf.new /disk/conf/app.conf; sync
		op up ctr:app "up app:v$v" mr up /disk/conf ;;
	esac
	[ $(mr ps -a -q | wc -l) -gt 6 ] && op rm ctr:* sysprune sh -c 'mr ps -a -q | tail -3 | xargs mr rm -f'
done
'''


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tar_bytes(entries):
    """entries: list of (name, bytes or None for a folder)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def make_image(base_tar, out, tag, extra):
    """A docker-archive: the base image's layers plus one layer of `extra`."""
    with tarfile.open(base_tar) as t:
        man = json.loads(t.extractfile("manifest.json").read())[0]
        cfg = json.loads(t.extractfile(man["Config"]).read())
        layers = [(name, t.extractfile(name).read()) for name in man["Layers"]]
    layer = tar_bytes(extra)
    cfg["rootfs"]["diff_ids"].append("sha256:" + sha(layer))
    cfg.setdefault("history", []).append({"created_by": "powercut " + tag})
    cfgb = json.dumps(cfg).encode()
    names = [n for n, _ in layers] + [sha(layer) + ".tar"]
    entries = [(n, d) for n, d in layers] + [(sha(layer) + ".tar", layer),
               (sha(cfgb) + ".json", cfgb)]
    entries.append(("manifest.json", json.dumps([{"Config": sha(cfgb) + ".json", "RepoTags": [tag],
                                                  "Layers": names}]).encode()))
    with open(out, "wb") as f:
        f.write(tar_bytes(entries))


def build_initramfs(a, work):
    r = os.path.join(work, "initrd")
    for d in ("bin", "sbin", "dev", "lib", "images"):
        os.makedirs(os.path.join(r, d), exist_ok=True)
    shutil.copy(a.minirun, os.path.join(r, "sbin/minirun"))
    shutil.copy(a.busybox, os.path.join(r, "bin/busybox"))
    shutil.copy(a.busybox_image, os.path.join(r, "images/busybox.tar"))
    rng = random.Random(1)
    big = rng.randbytes(1 << 20) * a.big_mb
    make_image(a.busybox_image, os.path.join(r, "images/big.tar"), "big:latest",
               [("big/", None), ("big/data", big)])
    for v in (1, 2):
        make_image(a.busybox_image, os.path.join(r, "images/app-v%d.tar" % v), "app:v%d" % v,
                   [("app/", None), ("app/version", b"%d\n" % v)])
    for m in ("virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
              "virtio_pci", "virtio_blk", "overlay", "failover", "net_failover", "virtio_net"):
        found = [os.path.join(dp, f) for dp, _, fs in os.walk(a.modules) for f in fs
                 if f in (m + ".ko", m + ".ko.xz")]
        if found:
            data = open(found[0], "rb").read()
            if found[0].endswith(".xz"):
                import lzma
                data = lzma.decompress(data)
            open(os.path.join(r, "lib", m + ".ko"), "wb").write(data)
    with open(os.path.join(r, "init"), "w") as f:
        f.write(GUEST_INIT)
    os.chmod(os.path.join(r, "init"), 0o755)
    subprocess.check_call(["mknod", "-m", "600", os.path.join(r, "dev/console"), "c", "5", "1"])
    out = os.path.join(work, "initrd.cpio")
    subprocess.check_call("cd '%s' && find . | cpio -o -H newc --quiet > '%s'" % (r, out), shell=True)
    return out


class Model:
    """What must be in the store, from the acknowledgements seen."""

    def __init__(self):
        self.img = {}      # tag -> True (must exist) / False (must not)
        self.ctr = {}      # name -> True / False
        self.vol = {}      # volume -> content of f (None: volume exists, no f yet)

    def forget(self, obj):
        kind, _, name = obj.partition(":")
        table = {"img": self.img, "ctr": self.ctr, "vol": self.vol}.get(kind)
        if table is None:
            return
        if name == "*":
            table.clear()
        else:
            table.pop(name, None)

    def ack(self, words):
        k = words[0]
        if k == "img":
            self.img[words[1]] = True
        elif k == "gone":
            self.img[words[1]] = False
        elif k == "ctr":
            self.ctr[words[1]] = True
        elif k == "ctrgone":
            self.ctr[words[1]] = False
        elif k == "volume":
            self.vol.setdefault(words[1], None)
        elif k == "vol":
            self.vol[words[1]] = words[3]
        elif k == "sysprune":
            self.ctr = {n: v for n, v in self.ctr.items() if v is False}
        elif k == "up":
            self.img[words[1]] = True
            self.ctr["app"] = True

    def verify(self, facts):
        """Acknowledged operations lost, as text lines."""
        imgs = {f[1] for f in facts if f[0] == "img"}
        runs = {f[1] for f in facts if f[0] == "runs"}
        ctrs = {f[1] for f in facts if f[0] == "ctr"}
        vols = {f[1]: f[3] for f in facts if f[0] == "vol"}
        lost = []
        for t, want in self.img.items():
            if want and t not in imgs:
                lost.append("image %s acknowledged, missing" % t)
            elif want and t not in runs:
                lost.append("image %s does not run" % t)
            elif not want and t in imgs:
                lost.append("image %s removed (acknowledged), back" % t)
        for c, want in self.ctr.items():
            if want and c not in ctrs:
                lost.append("container %s acknowledged, missing" % c)
            elif not want and c in ctrs:
                lost.append("container %s removed (acknowledged), back" % c)
        for v, content in self.vol.items():
            if content is not None and vols.get(v) != content:
                lost.append("volume %s: f should hold %s, holds %s" % (v, content, vols.get(v)))
        return lost


def run_vm(a, initrd, disk, mode, on_line, deadline_fn):
    """Boot; on_line(words) for every PC line; deadline_fn() -> seconds after
    READY at which to SIGKILL (None: run to the end). Returns (killed, lines)."""
    accel = ["-accel", "kvm"] if a.kvm else ["-accel", "tcg"]
    cmd = ["qemu-system-x86_64"] + accel + [
        "-m", "768", "-smp", "1", "-nographic", "-no-reboot", "-kernel", a.kernel, "-initrd", initrd,
        "-append", "console=ttyS0 panic=-1 quiet pcmode=%s%s" % (
            mode, " pcreg=%s" % a.registry_port if a.registry_port else ""),
        "-drive", "file=%s,format=raw,if=virtio,cache=%s" % (disk, a.cache)]
    if a.registry_port:
        cmd += ["-netdev", "user,id=n0,restrict=off", "-device", "virtio-net-pci,netdev=n0"]
    else:
        cmd += ["-nic", "none"]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    buf, kill_at, killed, start = b"", None, False, time.time()
    log = open(a.log, "ab")

    def feed(data):
        nonlocal buf, kill_at
        buf += data
        log.write(data)
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            s = line.decode("utf-8", "replace").strip("\r ")
            i = s.find("PC ")
            if i < 0:
                continue
            words = s[i + 3:].split()
            if words and words[0] == "READY" and kill_at is None:
                d = deadline_fn()
                kill_at = time.time() + d if d is not None else None
            on_line(words)

    while True:
        timeout = 0.05
        if kill_at is not None and time.time() >= kill_at:
            p.send_signal(signal.SIGKILL)   # the power cut
            killed = True
            rest = p.stdout.read()          # what the guest had already sent
            feed(rest)
            break
        if time.time() - start > a.boot_timeout:
            p.kill()
            p.stdout.read()
            raise RuntimeError("VM did not finish in %d s" % a.boot_timeout)
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if r:
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            feed(data)
    p.wait()
    log.close()
    return killed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minirun", required=True)
    ap.add_argument("--busybox", required=True)
    ap.add_argument("--busybox-image", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--modules", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cuts", type=int, default=10)
    ap.add_argument("--max-seconds", type=int, default=600)
    ap.add_argument("--big-mb", type=int, default=48)
    ap.add_argument("--cache", default="none")
    ap.add_argument("--kvm", action="store_true")
    ap.add_argument("--boot-timeout", type=int, default=180)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--registry-port", default=None,
                    help="a registry on the host's 127.0.0.1:PORT with library/pbox:latest")
    ap.add_argument("--log", default=None)
    a = ap.parse_args()
    a.log = a.log or os.path.join(a.work, "console.log")
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    initrd = build_initramfs(a, a.work)
    if a.registry_port:
        # what the guest pulls: busybox plus 4 MiB of its own (so a pull
        # downloads and extracts a layer), pushed with skopeo over plain HTTP
        pull_tar = os.path.join(a.work, "pbox.tar")
        make_image(a.busybox_image, pull_tar, "pbox:latest",
                   [("pull/", None), ("pull/data", rng.randbytes(4 << 20))])
        subprocess.check_call(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                               "docker-archive:" + pull_tar,
                               "docker://127.0.0.1:%s/library/pbox:latest" % a.registry_port])
    disk = os.path.join(a.work, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 30)
    subprocess.check_call(["mkfs.ext4", "-q", "-F", disk])
    model = Model()
    st = {"facts": [], "inflight": None, "fails": [], "acks": 0, "hits": {}, "checks": [],
          "check_ms": [], "boots": 0, "inconsistent": 0, "lost": [], "acked": {}}

    def on_line(w):
        if w[0] == "READY":
            # the store as the boot found it, against what was acknowledged
            # before the cut (new work starts now)
            if st["boots"] > 0:
                bad_store, lost = judge(st["boots"])
                st["inconsistent"] += bad_store
                st["lost"] += ["boot %d: %s" % (st["boots"], l) for l in lost]
            st["boots"] += 1
        elif w[0] == "FACT":
            st["facts"].append(w[1:])
        elif w[0] == "BEGIN":
            st["inflight"] = (w[1], w[2] if len(w) > 2 else "none")
        elif w[0] == "ACK":
            model.ack(w[1:])
            st["acks"] += 1
            if st["inflight"]:
                st["acked"][st["inflight"][0]] = st["acked"].get(st["inflight"][0], 0) + 1
            st["inflight"] = None
        elif w[0] == "FAIL":
            st["fails"].append(" ".join(w[1:]))
            if st["inflight"]:
                model.forget(st["inflight"][1])
            st["inflight"] = None

    def judge(cut):
        facts = st["facts"]
        chk = [f for f in facts if f[0] == "check"]
        bad_store = not chk or chk[0][1] != "0"
        if bad_store:
            st["checks"].append("boot %d: check rc=%s: %s" % (cut, chk[0][1] if chk else "?",
                                "; ".join(" ".join(f[1:]) for f in facts if f[0] == "checkline")))
        for f in facts:
            if f[0] == "checktime":
                st["check_ms"].append(1000 * (float(f[2]) - float(f[1])))
        lost = model.verify(facts)
        return bad_store, lost

    t_start = time.time()
    cuts = 0
    times = []
    print("powercut: seed %d, %d cuts, cache=%s, %s, %s" % (seed, a.cuts, a.cache,
          "kvm" if a.kvm else "tcg", "pull from the host's registry" if a.registry_port
          else "no registry (no pull)"), flush=True)
    while cuts < a.cuts:
        if time.time() - t_start > a.max_seconds:
            print("powercut: time bound (%d s) reached after %d cuts" % (a.max_seconds, cuts))
            break
        t0 = time.time()
        st["facts"], st["inflight"] = [], None
        killed = run_vm(a, initrd, disk, "work", on_line, lambda: rng.uniform(0.2, 8.0))
        if not killed:
            print("powercut: the VM ended by itself (see %s)" % a.log)
            break
        op = st["inflight"][0] if st["inflight"] else "between commands"
        st["hits"][op] = st["hits"].get(op, 0) + 1
        if st["inflight"]:
            model.forget(st["inflight"][1])
        cuts += 1
        times.append(time.time() - t0)
        print("  cut %d: during %s (%.1f s)" % (cuts, op, times[-1]), flush=True)
    # the last boot: verify, then new work must succeed
    st["facts"], st["inflight"] = [], None
    fails_before = len(st["fails"])
    run_vm(a, initrd, disk, "final", on_line, lambda: None)
    inconsistent, lost_all = st["inconsistent"], st["lost"]
    final_ok = any(f[0] == "finalcheck" and " 0 problems" in " ".join(f) for f in st["facts"]) and \
        len(st["fails"]) == fails_before and model.ctr.get("final-run") is False
    print("powercut: %d cuts, %d inconsistent stores, %d acknowledged operations lost, "
          "%d acknowledged operations in all, %d commands failed" %
          (cuts, inconsistent, len(lost_all), st["acks"], len(st["fails"])))
    print("powercut: acknowledged per operation: " +
          ", ".join("%s %d" % kv for kv in sorted(st["acked"].items())))
    print("powercut: hits per operation: " + ", ".join("%s %d" % kv for kv in sorted(st["hits"].items())))
    if times:
        print("powercut: time per cut: mean %.1f s, max %.1f s; check at boot: mean %.0f ms, max %.0f ms"
              % (sum(times) / len(times), max(times),
                 sum(st["check_ms"]) / max(1, len(st["check_ms"])), max(st["check_ms"] or [0])))
    print("powercut: after the last cut, new load, run, rm: %s" % ("ok" if final_ok else "FAILED"))
    for l in st["checks"] + lost_all + ["command failed: " + f for f in st["fails"]]:
        print("  " + l)
    sys.exit(0 if cuts and not inconsistent and not lost_all and final_ok and not st["fails"] else 1)


if __name__ == "__main__":
    main()
