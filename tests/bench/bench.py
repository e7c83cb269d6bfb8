#!/usr/bin/python3
"""minirun benchmarks against its peers, in one run, on the same inputs.

Called by tests/bench/run.sh (which installs the peers and builds the images);
see tests/bench/README.md for what is measured and how. Writes the table to
OUT/bench.txt and a chart of the ratios to OUT/bench.svg, and prints the table.

Everything it starts runs under a temporary folder; on exit (also on Ctrl-C or
SIGTERM) it removes the containers it made, kills the processes it started that
are still alive (by pid), unmounts whatever is mounted under that folder and
removes it.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

KIB = 1024
MIB = 1024 * 1024

# ---- small helpers ------------------------------------------------------------


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def sh(cmd, check=True, **kw):
    """Run a command (list), return CompletedProcess with text output."""
    return subprocess.run(cmd, check=check, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw)


def first_line(cmd):
    try:
        r = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        for line in r.stdout.splitlines():
            if line.strip():
                return line.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "not installed"


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_bytes(n):
    if n is None:
        return "-"
    if n >= MIB:
        return "%.1f MiB" % (n / MIB)
    return "%.1f KiB" % (n / KIB)


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1:
        return "%.1f ms" % (s * 1000)
    return "%.2f s" % s


class Bench:
    def __init__(self, a):
        self.a = a
        self.m = a.minirun
        self.rows = []          # dicts: see row()
        self.notes = []         # method notes printed under the table
        self.started = []       # pids of long-lived processes we started
        self.tmp = tempfile.mkdtemp(prefix="minirun-bench.", dir=a.tmpdir)
        self.podman_base = ["podman", "--root", self.p("podman/root"), "--runroot",
                            self.p("podman/run"), "--tmpdir", self.p("podman/tmp"),
                            "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                            "--storage-driver", "overlay", "--log-level", "error"]
        self.podman_run = ["--network", "none", "--runtime", "runc",
                           "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]
        self.drop = self.can_drop_caches()
        self.cstore = self.p("ctr/store")
        self.crun_dir = self.p("ctr/run")
        self.info = {}
        with open(os.path.join(a.images, "info")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                self.info[k] = v
        self.unpacked = int(self.info.get("unpacked_bytes", "0"))

    def p(self, *parts):
        return os.path.join(self.tmp, *parts)

    def row(self, group, what, mval, peer, pval, unit, goal=None, goal_ok=None,
            na=None, chart=True, reference=False):
        """One line of the table. Values are lower-is-better (bytes, seconds).
        peer None: an absolute goal (pval is the goal value). goal_ok: a
        function of the ratio saying whether the issue's goal is met; without
        it the row says ahead/behind only."""
        r = {"group": group, "what": what, "m": mval, "peer": peer, "p": pval,
             "unit": unit, "goal": goal, "na": na, "chart": chart}
        if na is None and mval is not None and pval:
            r["ratio"] = mval / pval
            if reference:
                r["status"] = "(reference)"
            elif goal_ok is not None:
                r["status"] = "goal met" if goal_ok(r["ratio"]) else "BEHIND goal"
            else:
                r["status"] = "ahead" if r["ratio"] < 1 else "BEHIND"
        else:
            r["ratio"] = None
            r["status"] = "not measured" if na else "-"
        self.rows.append(r)

    def can_drop_caches(self):
        try:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            return True
        except OSError:
            return False

    def cold(self):
        os.sync()
        if self.drop:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")

    # ---- cleanup ------------------------------------------------------------

    def unmount_under(self, top):
        """Unmount everything mounted at or below top, deepest first."""
        for _ in range(3):
            mps = []
            with open("/proc/self/mountinfo") as f:
                for line in f:
                    mp = line.split()[4].encode().decode("unicode_escape")
                    if mp == top or mp.startswith(top + "/"):
                        mps.append(mp)
            if not mps:
                return
            for mp in sorted(mps, key=len, reverse=True):
                subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)

    def kill_ours(self):
        """Kill processes still alive that we started, or whose command line
        names our temporary folder (monitors, conmon): by pid, one by one."""
        pids = set(self.started)
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if self.tmp.encode() in f.read():
                        pids.add(int(d))
            except OSError:
                pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cleanup(self):
        if getattr(self, "cleaned", False):
            return
        self.cleaned = True
        if os.path.isdir(self.p("podman/root")):
            subprocess.run(self.podman_base + ["rm", "-a", "-f", "-t", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.path.isdir(self.p("ctr")):
            ids = subprocess.run([self.m, "--root", self.p("ctr/store"), "--run-dir",
                                  self.p("ctr/run"), "ps", "-a", "-q"], text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.split()
            if ids:
                subprocess.run([self.m, "--root", self.p("ctr/store"), "--run-dir",
                                self.p("ctr/run"), "rm", "-f"] + ids,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for rt in ("runc", "crun"):
            for cid in getattr(self, "oci_ids", []):
                subprocess.run([rt, "delete", "-f", cid], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        self.stop_registry()
        self.kill_ours()
        time.sleep(0.2)
        self.unmount_under(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- measuring ----------------------------------------------------------

    def timed(self, cmd, prepare=None, after=None, cold=True, env=None):
        """Run cmd once: wall time until the command exits and until its data
        is on disk (a sync after it), and peak RSS (GNU time, the largest
        process of the tree), in seconds and bytes."""
        if prepare:
            prepare()
        if cold:
            self.cold()
        tf = self.p("time.out")
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf] + cmd, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        t1 = time.perf_counter()
        os.sync()
        t2 = time.perf_counter()
        if r.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd[:4]), r.returncode,
                                                    (r.stderr or r.stdout).strip()[-400:]))
        with open(tf) as f:
            rss = int(f.read().split()[-1]) * KIB
        if after:
            after()
        return {"wall": t1 - t0, "durable": t2 - t0, "rss": rss}

    def repeat(self, name, n, cmd, **kw):
        return self.summary(name, [self.timed(cmd, **kw) for _ in range(n)])

    def summary(self, name, runs):
        n = len(runs)
        res = {k: median([x[k] for x in runs]) for k in ("wall", "durable", "rss")}
        res["n"] = n
        res["all"] = [round(x["durable"], 3) for x in runs]
        log("%-28s %s (durable, median of %d; runs %s), peak RSS %s" % (
            name, fmt_time(res["durable"]), n, res["all"], fmt_bytes(res["rss"])))
        return res

    def hyperfine(self, name, cmd, runs, prefix=None):
        """Median wall time of cmd (a list, no shell) over runs, after 3
        warm-up runs. prefix: a command that hyperfine itself runs under
        (e.g. unshare for crun)."""
        js = self.p("hf-%s.json" % re.sub(r"\W", "_", name))
        hf = ["hyperfine", "-N", "--style", "none", "--warmup", "3", "--runs", str(runs),
              "--export-json", js, " ".join(cmd)]
        if prefix:
            hf = prefix + hf
        r = subprocess.run(hf, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("hyperfine %s: %s" % (name, (r.stderr + r.stdout).strip()[-400:]))
        with open(js) as f:
            res = json.load(f)["results"][0]
        log("%-28s median %s (%d runs, min %s, max %s)" % (
            name, fmt_time(res["median"]), runs, fmt_time(res["min"]), fmt_time(res["max"])))
        return res["median"]

    # ---- 1. sizes -----------------------------------------------------------

    def stripped_size(self, path):
        out = self.p("strip.tmp")
        r = subprocess.run(["strip", "-o", out, path], stderr=subprocess.DEVNULL)
        size = os.path.getsize(out if r.returncode == 0 else path)
        if os.path.exists(out):
            os.unlink(out)
        return size

    def dpkg_closure(self, pkg):
        """Installed-Size (bytes) of pkg and of every package its Depends and
        Pre-Depends pull in, recursively, leaving out the base system (what
        debootstrap --variant=minbase installs: Essential and Priority
        required packages, apt, and their own dependencies), choosing the
        first installed alternative of each 'a | b' group. Returns (bytes,
        names)."""
        if not hasattr(self, "_dpkg"):
            arch = sh(["dpkg", "--print-architecture"]).stdout.strip()
            fmt = ("${Package}\t${Architecture}\t${db:Status-Abbrev}\t${Installed-Size}\t"
                   "${Priority}\t${Essential}\t${Pre-Depends}, ${Depends}\t${Provides}\n")
            db, prov = {}, {}
            for line in sh(["dpkg-query", "-W", "-f", fmt]).stdout.splitlines():
                f = line.split("\t")
                if len(f) < 8 or not f[2].startswith("ii") or f[1] not in (arch, "all"):
                    continue
                db[f[0]] = {"size": int(f[3] or 0) * KIB, "seed": f[4] == "required"
                            or f[5] == "yes" or f[0] == "apt", "deps": f[6]}
                for p in f[7].split(","):
                    p = re.sub(r"\(.*?\)", "", p).strip().split(":")[0]
                    if p:
                        prov.setdefault(p, []).append(f[0])
            self._dpkg, self._prov = db, prov
            self._base = self.closure([n for n in db if db[n]["seed"]])
        db, base = self._dpkg, self._base
        seen = self.closure([pkg])
        counted = sorted(n for n in seen if n == pkg or n not in base)
        return sum(db[n]["size"] for n in counted), counted

    def closure(self, roots):
        db, prov = self._dpkg, self._prov

        def resolve(name):
            if name in db:
                return name
            for p in prov.get(name, []):
                if p in db:
                    return p
            return None

        seen, todo = set(), list(roots)
        while todo:
            n = todo.pop()
            if n in seen or n not in db:
                continue
            seen.add(n)
            for group in db[n]["deps"].split(","):
                for alt in group.split("|"):
                    alt = re.sub(r"\(.*?\)|\[.*?\]", "", alt).strip().split(":")[0]
                    r = resolve(alt) if alt else None
                    if r:
                        todo.append(r)
                        break
        return seen

    def bench_sizes(self):
        log("sizes")
        budgets = {}
        try:
            with open(os.path.join(self.a.repo, "Makefile")) as f:
                for m in re.finditer(r"^BUDGET_(\w+)\s*:=\s*(\d+)", f.read(), re.M):
                    budgets[m.group(1)] = int(m.group(2)) * KIB
        except OSError:
            pass
        presets = {}
        for p in ("full", "router", "initramfs"):
            path = os.path.join(self.a.repo, "build/native", p, "minirun")
            if os.path.exists(path):
                presets[p] = self.stripped_size(path)
        mine = self.stripped_size(self.m)
        peers = {}
        for name, files in (("crun", ["crun"]), ("runc", ["runc"]),
                            ("podman+conmon", ["podman", "conmon"])):
            paths = [shutil.which(f) for f in files]
            if all(paths):
                peers[name] = sum(self.stripped_size(x) for x in paths)
        self.sizes = {"presets": presets, "bench": mine, "peers": peers}
        for p in ("full", "router", "initramfs"):
            if p not in presets:
                self.row("size", "binary %s preset (stripped)" % p, None, None, None, "B",
                         na="build/native/%s/minirun not built (make presets)" % p)
                continue
            if p in budgets:
                self.row("size", "binary %s preset vs budget" % p, presets[p], None,
                         budgets[p], "B", goal="budget %d KiB" % (budgets[p] // KIB),
                         goal_ok=lambda r: r <= 1)
        ref = presets.get("full")
        ref_name = "full preset"
        if ref is None:
            ref, ref_name = mine, "benchmarked binary"
        for name, size in peers.items():
            self.row("size", "binary, %s vs %s" % (ref_name, name), ref, name, size, "B")
        for p in ("router", "initramfs"):
            if p in presets and "crun" in peers:
                self.row("size", "binary, %s preset vs crun" % p, presets[p], "crun",
                         peers["crun"], "B")
        self.closures = {}
        for name, pkg in (("crun", "crun"), ("runc", "runc"), ("podman", "podman")):
            size, names = self.dpkg_closure(pkg)
            if size:
                self.closures[name] = (size, names)
                self.row("size", "installed, %s vs %s + deps" % (ref_name, name), ref,
                         "%s (%d pkg%s)" % (name, len(names), "s"[:len(names) > 1]),
                         size, "B")
        self.notes.append(
            "Sizes: minirun presets as built by `make presets` (already stripped); peers' "
            "binaries from Debian, stripped again with `strip -o` to be sure. 'installed' = "
            "dpkg Installed-Size of the package plus its Depends/Pre-Depends closure (first "
            "installed alternative of each a|b group), without what a minimal Debian "
            "(debootstrap --variant=minbase) already has: Essential and Priority required "
            "packages, apt, and their dependencies; Recommends not counted. minirun "
            "needs nothing besides its one static file.")
        for name, (size, names) in self.closures.items():
            self.notes.append("  %s closure (%s): %s" % (name, fmt_bytes(size), " ".join(names)))

    # ---- 2. load --------------------------------------------------------------

    def layers(self, layout):
        def blob(dg):
            return os.path.join(layout, "blobs", *dg.split(":"))
        with open(os.path.join(layout, "index.json")) as f:
            desc = json.load(f)["manifests"][0]
        with open(blob(desc["digest"])) as f:
            man = json.load(f)
        return [blob(x["digest"]) for x in man["layers"]]

    def mr(self, store, *args):
        return [self.m, "--root", store, "--run-dir", store + ".run"] + list(args)

    def podman(self, *args):
        return self.podman_base + list(args)

    def fresh(self, *paths):
        def f():
            for p in paths:
                self.unmount_under(p)
                shutil.rmtree(p, ignore_errors=True)
            for p in paths:
                os.makedirs(os.path.dirname(p), exist_ok=True)
        return f

    def round_robin(self, cases, n, what=None):
        """Times each (key, command, prepare) case n times, round-robin: run i
        of every case before run i+1 of any, so that a slow spell of a shared
        machine falls on all of them alike. A case that fails is not run
        again. Returns {key: summary, or {"error": ...}}."""
        runs, res = {key: [] for key, _, _ in cases}, {}
        for i in range(n):
            for key, cmd, prep in cases:
                if key in res:
                    continue
                try:
                    runs[key].append(self.timed(cmd, prepare=prep))
                except (RuntimeError, OSError) as e:
                    res[key] = {"error": str(e)}
                    log("%s failed: %s" % (key, e))
            if what:
                log("%s round %d of %d done" % (what, i + 1, n))
        for key, _, _ in cases:
            if key not in res:
                res[key] = self.summary(key, runs[key])
        return res

    def bench_load(self):
        n = self.a.load_runs
        img = self.a.images
        gz, zs = os.path.join(img, "pg-gzip.tar"), os.path.join(img, "pg-zstd.tar")
        store = self.p("load/store")
        pdir = self.p("podman")
        out = self.p("load/out")
        log("load of %s unpacked (%s layers), %d runs each, caches %s" % (
            fmt_bytes(self.unpacked), self.info.get("gzip_layers"), n,
            "dropped before each run" if self.drop else "NOT dropped (no permission)"))
        fresh_store = self.fresh(store, store + ".run")
        fresh_podman = self.fresh(pdir)

        def pipeline(tool, layout):
            script = 'set -e; mkdir -p "$0"; for l; do %s -dc "$l" | tar -xf - -C "$0"; done' % tool
            return ["sh", "-c", script, out] + self.layers(os.path.join(img, layout))

        cases = [
            ("minirun load gzip", self.mr(store, "load", "-q", "-i", gz), fresh_store),
            ("minirun load zstd", self.mr(store, "load", "-q", "-i", zs), fresh_store),
            ("podman load gzip", self.podman("load", "-q", "-i", gz), fresh_podman),
            ("podman load zstd", self.podman("load", "-q", "-i", zs), fresh_podman),
            ("umoci unpack gzip", ["umoci", "unpack", "--image",
                                   os.path.join(img, "oci") + ":pg", out], self.fresh(out)),
            ("gzip -dc | tar -x", pipeline("gzip", "oci"), self.fresh(out)),
            ("zstd -dc | tar -x", pipeline("zstd", "oci-zstd"), self.fresh(out)),
        ]
        res = self.round_robin(cases, n, "load")
        self.fresh(store, store + ".run", out, pdir)()
        self.load = res

        def val(key, field):
            r = res.get(key, {})
            return r.get(field)

        def err(key):
            return res.get(key, {}).get("error")

        for comp in ("gzip", "zstd"):
            mk = "minirun load " + comp
            peers = [("%s -dc | tar -x" % comp, lambda r: r <= 1 / 0.9,
                      "throughput >= 0.9x"),
                     ("podman load " + comp, lambda r: r < 1, "faster")]
            if comp == "gzip":
                peers.append(("umoci unpack gzip", lambda r: r < 1, "faster"))
            for pk, ok, goal in peers:
                na = err(mk) or err(pk)
                self.row("load", "load %s time vs %s" % (comp, pk.replace(" " + comp, "")),
                         val(mk, "durable"), pk.replace(" gzip", "").replace(" zstd", ""),
                         val(pk, "durable"), "s", goal=goal, goal_ok=ok, na=na)
            limit = 4 * MIB if comp == "gzip" else 16 * MIB
            self.row("load", "load %s peak RSS vs goal" % comp, val(mk, "rss"), None, limit,
                     "B", goal="under %d MiB" % (limit // MIB), goal_ok=lambda r: r < 1,
                     na=err(mk))
            for pk in (["podman load " + comp] + (["umoci unpack gzip"] if comp == "gzip" else [])
                       + ["%s -dc | tar -x" % comp]):
                self.row("load", "load %s peak RSS vs %s" % (comp, pk.replace(" " + comp, "")),
                         val(mk, "rss"), pk.replace(" gzip", "").replace(" zstd", ""),
                         val(pk, "rss"), "B", na=err(mk) or err(pk), chart=False)
        self.notes.append(
            "Load: bench/pg = debootstrap minbase + %s (%s unpacked by `du -sb`, %s gzip / "
            "%s zstd compressed, %s layers); medians of %d runs, taken round-robin (run i of "
            "every tool before run i+1 of any); page cache %s; "
            "time = until the command exits AND a following sync returns (minirun syncfs-es "
            "its store before publishing), so every row pays for getting its data to disk, "
            "whether it syncs itself or not. Peak RSS: GNU time %%M (largest process of the tree). "
            "minirun and podman read the oci-archive; umoci and the pipelines read the same "
            "blobs from the OCI layout folder (umoci cannot read an archive, nor zstd)." % (
                self.info.get("packages"), fmt_bytes(self.unpacked),
                fmt_bytes(int(self.info.get("gzip_bytes", 0))),
                fmt_bytes(int(self.info.get("zstd_bytes", 0))), self.info.get("gzip_layers"),
                n, "dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every run"
                if self.drop else "NOT dropped (no permission): warm-cache medians"))
        lines = ["  load runs (durable s, wall s without the sync, peak RSS):"]
        for k, r in res.items():
            if "error" in r:
                lines.append("    %-22s FAILED: %s" % (k, r["error"]))
            else:
                lines.append("    %-22s %s  wall %.2f s  %s  (%.0f MB/s)" % (
                    k, r["all"], r["wall"], fmt_bytes(r["rss"]),
                    self.unpacked / r["durable"] / 1e6))
        self.notes.extend(lines)

    # ---- stores for the CLI and container rows ----------------------------------

    def setup_stores(self):
        """A minirun store and a podman store, each holding bench/busybox and
        bench/pg, for the CLI rows and the container rows."""
        os.makedirs(self.crun_dir, exist_ok=True)
        img = self.a.images
        for f in ("busybox.tar", "pg-gzip.tar"):
            sh([self.m, "--root", self.cstore, "--run-dir", self.crun_dir, "load", "-q", "-i",
                os.path.join(img, f)])
            sh(self.podman("load", "-q", "-i", os.path.join(img, f)))

    def mc(self, *args):
        return [self.m, "--root", self.cstore, "--run-dir", self.crun_dir] + list(args)

    def has(self, *cmd):
        r = subprocess.run(self.mc(*cmd) + ["--help"], text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        return r.returncode == 0, r.stdout

    # ---- 4. CLI memory ------------------------------------------------------------

    def bench_cli(self, container=None, pcontainer=None):
        log("CLI memory")
        n = self.a.cli_runs
        cases = [("images", self.mc("images"), self.podman("images")),
                 ("image inspect", self.mc("image", "inspect", "bench/pg:latest"),
                  self.podman("image", "inspect", "bench/pg:latest"))]
        ps_ok = self.has("ps")[0]
        cases.append(("ps -a", self.mc("ps", "-a") if ps_ok else None, self.podman("ps", "-a")))
        cases.append(("inspect CONTAINER", self.mc("inspect", container) if container else None,
                      self.podman("inspect", pcontainer) if pcontainer else None))
        for what, mcmd, pcmd in cases:
            res = {}
            for who, cmd in (("minirun", mcmd), ("podman", pcmd)):
                if cmd is None:
                    continue
                try:
                    res[who] = self.repeat("%s %s" % (who, what), n, cmd, cold=False)
                except RuntimeError as e:
                    res[who] = {"error": str(e)}
            na = None
            if mcmd is None:
                na = ("ps not in this build" if what.startswith("ps")
                      else "needs a container: run not available in this build")
            na = na or res.get("minirun", {}).get("error") or res.get("podman", {}).get("error")
            g = lambda k, w: res.get(w, {}).get(k)
            self.row("cli", "`%s` peak RSS" % what, g("rss", "minirun"), "podman",
                     g("rss", "podman"), "B", na=na)
            self.row("cli", "`%s` time" % what, g("wall", "minirun"), "podman",
                     g("wall", "podman"), "s", na=na, chart=False)
        self.notes.append("CLI: medians of %d warm runs against a store holding bench/busybox "
                          "and bench/pg (and the idle container, when run works)." % n)

    # ---- 5. containers --------------------------------------------------------------

    def bench_containers(self):
        ok, helptext = self.has("run")
        if not ok:
            na = "run not available in this build"
            for what, peer in (("run --rm /bin/true latency vs crun", "crun"),
                               ("run --rm /bin/true latency vs runc", "runc"),
                               ("run --rm /bin/true latency vs podman", "podman"),
                               ("idle monitor RSS vs goal", None),
                               ("idle monitor RSS vs conmon", "conmon")):
                self.row("container", what, None, peer, None, "s", na=na)
            self.bench_peer_latency(None)
            return None, None
        n = self.a.runs
        log("containers (%d runs each)" % n)
        net = ["--network", "none"] if "--network" in helptext else []
        mcmd = self.mc("run", "--rm", *net, "bench/busybox:latest", "/bin/true")
        r = subprocess.run(mcmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        mlat, mna = None, None
        if r.returncode != 0:
            mna = "run failed: exit %d: %s" % (r.returncode, r.stderr.strip()[-300:])
        else:
            try:
                mlat = self.hyperfine("minirun run --rm", mcmd, n)
            except RuntimeError as e:
                mna = str(e)
        self.bench_peer_latency((mlat, mna))
        return self.bench_monitor(net)

    def bench_peer_latency(self, mine):
        """crun, runc, podman and the floor; rows only when mine is given."""
        n = self.a.runs
        bundle = self.p("bundle")
        sh(["umoci", "unpack", "--image", os.path.join(self.a.images, "busybox") + ":latest",
            bundle])
        os.unlink(os.path.join(bundle, "config.json"))
        sh(["runc", "spec", "--bundle", bundle])
        cfgp = os.path.join(bundle, "config.json")
        with open(cfgp) as f:
            spec = json.load(f)
        spec["process"]["terminal"] = False
        spec["process"]["args"] = ["/bin/true"]
        with open(cfgp, "w") as f:
            json.dump(spec, f)
        self.oci_ids = ["mrbench-crun-%d" % os.getpid(), "mrbench-runc-%d" % os.getpid()]
        lat = {}
        try:
            lat["crun"] = self.hyperfine(
                "crun run", ["crun", "run", "-b", bundle, self.oci_ids[0]], n,
                prefix=["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$@\"", "sh"])
        except RuntimeError as e:
            lat["crun"] = str(e)
        try:
            lat["runc"] = self.hyperfine("runc run", ["runc", "run", "-b", bundle,
                                                      self.oci_ids[1]], n)
        except RuntimeError as e:
            lat["runc"] = str(e)
        try:
            lat["podman"] = self.hyperfine(
                "podman run --rm", self.podman("run", "--rm", *self.podman_run,
                                               "bench/busybox:latest", "/bin/true"),
                max(5, n // 3))
        except RuntimeError as e:
            lat["podman"] = str(e)
        try:
            lat["floor"] = self.hyperfine(
                "floor (unshare+chroot)", ["unshare", "--mount", "--pid", "--uts", "--ipc",
                                           "--net", "--fork", "chroot",
                                           os.path.join(bundle, "rootfs"), "/bin/true"], n)
        except RuntimeError as e:
            lat["floor"] = str(e)
        self.latency = lat
        if mine is None:
            self.notes.append("Container peers measured for reference (minirun run not in "
                              "this build): " + ", ".join(
                                  "%s %s" % (k, fmt_time(v) if isinstance(v, float) else
                                             "failed: " + v) for k, v in lat.items()))
            return
        mlat, mna = mine
        for peer, ok, goal in (("crun", lambda r: r < 1, "faster"),
                               ("runc", None, None),
                               ("podman", lambda r: r <= 0.1, ">= 10x faster")):
            pv = lat.get(peer)
            na = mna or (None if isinstance(pv, float) else "%s failed: %s" % (peer, pv))
            self.row("container", "run --rm /bin/true latency vs %s" % peer, mlat, peer,
                     pv if isinstance(pv, float) else None, "s", goal=goal, goal_ok=ok, na=na)
        if isinstance(lat.get("floor"), float):
            self.row("container", "run --rm /bin/true latency vs floor", mlat,
                     "unshare+chroot", lat["floor"], "s", na=mna, chart=False,
                     goal="lower bound", reference=True)
        self.notes.append(
            "Containers: hyperfine -N medians (%d runs after 3 warm-up; podman %d runs), warm "
            "caches. crun runs under `unshare -m` with /sys/fs/cgroup/unified unmounted in "
            "that namespace only (it refuses this hybrid cgroup layout); crun and runc run "
            "`runc spec`'s bundle (pid, net, ipc, uts, mount namespaces; read-only rootfs) "
            "of the busybox image unpacked by umoci, minirun its overlay of the stored "
            "layer; podman: %s. floor = unshare of five namespaces + chroot + exec." % (
                self.a.runs, max(5, self.a.runs // 3), " ".join(self.podman_run)))

    def rss_of(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * KIB
        return None

    def ppid_of(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
        return None

    def bench_monitor(self, net):
        """An idle detached container (sleep): RSS of minirun's monitor (the
        parent of the container's init) against conmon's."""
        mname, pname = "mrbench-idle", "mrbench-idle"
        mrss = prss = None
        mna = pna = None
        try:
            sh(self.mc("run", "-d", "--name", mname, *net, "bench/busybox:latest",
                       "sleep", "3600"))
            time.sleep(1)
            data = json.loads(sh(self.mc("inspect", mname)).stdout)
            pid = int(data[0]["State"]["Pid"])
            mon = self.ppid_of(pid)
            self.started.append(mon)
            mrss = self.rss_of(mon)
        except (RuntimeError, OSError, ValueError, KeyError, IndexError,
                subprocess.CalledProcessError) as e:
            mna = "detached run/inspect failed: %s" % (getattr(e, "stderr", "") or e)
        try:
            cid = sh(self.podman("run", "-d", "--name", pname, *self.podman_run,
                                 "bench/busybox:latest", "sleep", "3600")).stdout.strip()
            time.sleep(1)
            cpid = int(sh(self.podman("inspect", "-f", "{{.State.ConmonPid}}", cid)).stdout)
            prss = self.rss_of(cpid)
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            pna = "podman run -d failed: %s" % (getattr(e, "stderr", "") or e)
        self.row("container", "idle monitor RSS vs goal", mrss, None, 300 * KIB, "B",
                 goal="under 300 KiB", goal_ok=lambda r: r < 1, na=mna)
        self.row("container", "idle monitor RSS vs conmon", mrss, "conmon", prss, "B",
                 na=mna or pna)
        self.notes.append("Monitor: VmRSS of the parent of the idle container's init "
                          "(minirun's monitor) and of conmon (podman's ConmonPid), 1 s after "
                          "`run -d ... sleep 3600`.")
        return (mname if mrss else None), (pname if prss else None)

    # ---- network: published port against the container's address --------------------

    def bench_port(self):
        """tests/bench/port.sh: 1 GiB through -p 127.0.0.1:HOSTPORT:PORT (minirun's
        splice proxy) against the same from the container's address."""
        what = "published port vs container address (1 GiB)"
        r = subprocess.run([os.path.join(self.a.repo, "tests/bench/port.sh"), self.m], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        m = re.search(r"^port: direct_s=(\S+) published_s=(\S+)", r.stdout, re.M)
        if r.returncode != 0 or not m:
            self.row("net", what, None, "direct", None, "s",
                     na="port.sh failed: %s" % (r.stderr.strip()[-300:] or r.returncode))
            return
        self.row("net", what, float(m.group(2)), "direct", float(m.group(1)), "s",
                 goal=">= 0.8 x direct", goal_ok=lambda ratio: ratio <= 1.25)
        self.notes.append("Port: tests/bench/port.sh, median of 3 transfers of 1 GiB on each path "
                          "(tcpzero in a busybox container sends, tcpzero on the host reads), "
                          "from 127.0.0.1:18080 published and from the container's bridge "
                          "address; time ratio <= 1.25 is throughput >= 0.8.")

    # ---- 3. pull --------------------------------------------------------------------

    def bench_pull(self):
        ok, _ = self.has("pull")
        if not ok:
            na = "pull not in this build"
            self.row("pull", "pull time vs skopeo copy + umoci unpack", None, "skopeo+umoci",
                     None, "s", na=na)
            self.row("pull", "pull peak RSS vs goal", None, None, 16 * MIB, "B",
                     goal="under 16 MiB", na=na)
            return
        n = self.a.load_runs
        try:
            reg = self.start_registry()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            na = "local registry failed: %s" % (getattr(e, "stderr", "") or e)
            self.row("pull", "pull time vs skopeo copy + umoci unpack", None, "skopeo+umoci",
                     None, "s", na=na)
            return
        ref = "%s/bench/pg:latest" % reg
        store, out, oci = self.p("pull/store"), self.p("pull/out"), self.p("pull/oci")
        pdir = self.p("podman")
        certs = self.p("registry/certs")
        cases = [
            ("minirun pull", self.mr(store, "pull", "-q", "--ca-file",
                                     os.path.join(certs, "ca.crt"), ref),
             self.fresh(store, store + ".run")),
            ("skopeo copy + umoci unpack",
             ["sh", "-c", 'skopeo copy -q --src-cert-dir "$1" "docker://$2" "oci:$3:pg" && '
              'umoci unpack --image "$3:pg" "$4" >/dev/null', "sh", certs, ref, oci, out],
             self.fresh(oci, out)),
            ("podman pull", self.podman("pull", "-q", "--cert-dir", certs, ref),
             self.fresh(pdir)),
        ]
        log("pull of bench/pg (gzip) from %s over TLS, %d runs each" % (reg, n))
        res = self.round_robin(cases, n)
        self.fresh(store, store + ".run", oci, out, pdir)()
        self.stop_registry()
        g = lambda k, f: res[k].get(f)
        e = lambda k: res[k].get("error")
        m = "minirun pull"
        self.row("pull", "pull time vs skopeo copy + umoci unpack", g(m, "durable"),
                 "skopeo+umoci", g("skopeo copy + umoci unpack", "durable"), "s",
                 goal="faster", goal_ok=lambda r: r < 1,
                 na=e(m) or e("skopeo copy + umoci unpack"))
        self.row("pull", "pull time vs podman pull", g(m, "durable"), "podman pull",
                 g("podman pull", "durable"), "s", na=e(m) or e("podman pull"))
        self.row("pull", "pull peak RSS vs goal", g(m, "rss"), None, 16 * MIB, "B",
                 goal="under 16 MiB", goal_ok=lambda r: r < 1, na=e(m))
        self.row("pull", "pull peak RSS vs skopeo copy + umoci", g(m, "rss"), "skopeo+umoci",
                 g("skopeo copy + umoci unpack", "rss"), "B",
                 na=e(m) or e("skopeo copy + umoci unpack"), chart=False)
        self.row("pull", "pull peak RSS vs podman pull", g(m, "rss"), "podman pull",
                 g("podman pull", "rss"), "B", na=e(m) or e("podman pull"), chart=False)
        self.notes.append(
            "Pull: bench/pg (gzip layers) pushed with skopeo to Debian's docker-registry on "
            "127.0.0.1 over TLS (a CA made by the bench; minirun --ca-file, skopeo "
            "--src-cert-dir, podman --cert-dir); medians of %d round-robin runs, caches "
            "dropped, time until exit plus a sync, into a new store/folder each run. "
            "skopeo+umoci = `skopeo copy docker://... oci:DIR` then `umoci unpack` (peak "
            "RSS: the larger of the two)." % n)
        lines = ["  pull runs (durable s, peak RSS):"]
        for k, r in res.items():
            lines.append("    %-26s %s" % (k, "FAILED: " + r["error"] if "error" in r else
                                          "%s  %s" % (r["all"], fmt_bytes(r["rss"]))))
        self.notes.extend(lines)

    def start_registry(self):
        """Debian's docker-registry on 127.0.0.1:<free port> with TLS from a
        CA made here, holding bench/pg. Returns host:port."""
        import socket
        d = self.p("registry")
        certs = os.path.join(d, "certs")
        os.makedirs(certs)
        ossl = lambda *a: sh(["openssl"] + list(a))
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", os.path.join(d, "ca.key"), "-out", os.path.join(certs, "ca.crt"),
             "-days", "2", "-subj", "/CN=minirun bench CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", os.path.join(d, "server.key"), "-out", os.path.join(d, "server.csr"),
             "-subj", "/CN=127.0.0.1")
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        ossl("x509", "-req", "-in", os.path.join(d, "server.csr"), "-CA",
             os.path.join(certs, "ca.crt"), "-CAkey", os.path.join(d, "ca.key"),
             "-CAcreateserial", "-out", os.path.join(d, "server.crt"), "-days", "2",
             "-extfile", ext)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        cfg = os.path.join(d, "config.yml")
        with open(cfg, "w") as f:
            f.write("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    "storage:\n  filesystem:\n    rootdirectory: %s\n"
                    "http:\n  addr: 127.0.0.1:%d\n  tls:\n    certificate: %s\n    key: %s\n" % (
                        os.path.join(d, "data"), port, os.path.join(d, "server.crt"),
                        os.path.join(d, "server.key")))
        self.registry_log = open(os.path.join(d, "log"), "w")
        self.registry = subprocess.Popen(["docker-registry", "serve", cfg],
                                         stdout=self.registry_log, stderr=subprocess.STDOUT)
        self.started.append(self.registry.pid)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if self.registry.poll() is not None:
                    raise RuntimeError("docker-registry exited: see its log")
                time.sleep(0.1)
        else:
            raise RuntimeError("docker-registry did not listen on port %d" % port)
        reg = "127.0.0.1:%d" % port
        sh(["skopeo", "copy", "-q", "--dest-cert-dir", certs,
            "oci:%s:pg" % os.path.join(self.a.images, "oci"), "docker://%s/bench/pg:latest" % reg])
        return reg

    def stop_registry(self):
        if getattr(self, "registry", None) and self.registry.poll() is None:
            self.registry.terminate()
            try:
                self.registry.wait(10)
            except subprocess.TimeoutExpired:
                self.registry.kill()
                self.registry.wait()

    # ---- output -----------------------------------------------------------------------

    def machine(self):
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
        fs = sh(["findmnt", "-n", "-o", "FSTYPE", "-T", self.tmp], check=False).stdout.strip()
        return ("%s, %d CPUs (nproc), %d MiB RAM, kernel %s, %s on %s" % (
            cpu, os.cpu_count(), mem, platform.release(), self.tmp.rsplit("/", 1)[0], fs))

    def versions(self):
        v = [("minirun", first_line([self.m, "version"]))]
        for name, cmd in (("crun", ["crun", "--version"]), ("runc", ["runc", "--version"]),
                          ("podman", ["podman", "--version"]),
                          ("conmon", ["conmon", "--version"]),
                          ("umoci", ["umoci", "--version"]),
                          ("skopeo", ["skopeo", "--version"]),
                          ("gzip", ["gzip", "--version"]), ("zstd", ["zstd", "--version"]),
                          ("tar", ["tar", "--version"]),
                          ("hyperfine", ["hyperfine", "--version"])):
            v.append((name, first_line(cmd)))
        return v

    def fmt_val(self, x, unit):
        if x is None:
            return "-"
        return fmt_bytes(x) if unit == "B" else fmt_time(x)

    def table(self, elapsed):
        lines = []
        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        lines.append("minirun benchmark, %s (`make bench`, took %d s)" % (now, elapsed))
        lines.append("machine: " + self.machine())
        lines.append("load average at start %s, at end %s; CPU steal during the run %s; "
                     "other work on the machine shows in the figures" % (
                         self.loadavg, self.read_loadavg(), self.steal()))
        lines.append("binary: %s" % self.m)
        for name, ver in self.versions():
            lines.append("  %-9s %s" % (name, ver))
        lines.append("")
        lines.append("ratio = minirun / peer (or / goal); every figure is lower-is-better, so "
                     "ratio < 1 means minirun is ahead.")
        lines.append("")
        hdr = "%-45s %11s  %-18s %11s %7s  %-20s %s" % (
            "row", "minirun", "peer", "peer/goal", "ratio", "goal", "status")
        lines.append(hdr)
        lines.append("-" * len(hdr))
        group = None
        for r in self.rows:
            if r["group"] != group:
                if group is not None:
                    lines.append("")
                group = r["group"]
            peer = r["peer"] if r["peer"] else "(goal)"
            if r["na"]:
                lines.append("%-45s %11s  %-18s %11s %7s  %-20s not measured: %s" % (
                    r["what"], self.fmt_val(r["m"], r["unit"]), peer[:18],
                    self.fmt_val(r["p"], r["unit"]), "-", r["goal"] or "", r["na"]))
                continue
            lines.append("%-45s %11s  %-18s %11s %7s  %-20s %s" % (
                r["what"], self.fmt_val(r["m"], r["unit"]), peer[:18],
                self.fmt_val(r["p"], r["unit"]),
                "%.3f" % r["ratio"] if r["ratio"] is not None else "-", r["goal"] or "",
                r["status"]))
        lines.append("")
        lines.append("How (details in tests/bench/README.md):")
        for n in self.notes:
            lines.append(n if n.startswith("  ") else "- " + n)
        return "\n".join(lines) + "\n"

    def svg(self):
        rows = [r for r in self.rows if r["chart"] and r["ratio"]]
        na_rows = [r for r in self.rows if r["na"]]
        import math
        W, left, right, top, bar, gap = 1180, 330, 330, 88, 16, 6
        lo, hi = -8, 3           # log2 axis: 1/256 .. 8
        plot_w = W - left - right

        def x(ratio):
            v = max(lo, min(hi, math.log2(ratio)))
            return left + (v - lo) / (hi - lo) * plot_w

        H = top + len(rows) * (bar + gap) + 60 + 14 * len(na_rows)
        esc = lambda s: (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="12">' % (W, H),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="20" font-size="15" font-weight="bold">minirun / peer '
             '(log scale; left of 1 = minirun smaller or faster)</text>',
             '<text x="10" y="38" fill="#555">%s</text>' % esc(self.machine()),
             '<text x="10" y="56" fill="#555">%s</text>' % esc(
                 "%s; %s" % (datetime.datetime.now().strftime("%Y-%m-%d"),
                             first_line([self.m, "version"])))]
        for e in range(lo, hi + 1):
            xx = x(2.0 ** e)
            label = ("1/%d" % (2 ** -e)) if e < 0 else "%d" % (2 ** e)
            o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>' % (
                xx, top - 8, xx, H - 50 - 14 * len(na_rows),
                "#000" if e == 0 else "#ddd"))
            o.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>' % (
                xx, top - 12, label))
        y = top
        for r in rows:
            x0, x1 = x(1), x(r["ratio"])
            color = {"goal met": "#2a9d3a", "ahead": "#2a9d3a"}.get(r["status"], "#d03030")
            o.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (
                left - 8, y + bar - 4, esc(r["what"])))
            o.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (
                min(x0, x1), y, max(1.0, abs(x1 - x0)), bar, color))
            o.append('<text x="%d" y="%d">%.3f  %s / %s  %s</text>' % (
                W - right + 8, y + bar - 4, r["ratio"], self.fmt_val(r["m"], r["unit"]),
                esc("%s %s" % (r["peer"] or "goal", self.fmt_val(r["p"], r["unit"]))),
                esc(r["status"])))
            y += bar + gap
        y += 24
        for r in na_rows:
            o.append('<text x="10" y="%d" fill="#777">not measured: %s (%s)</text>' % (
                y, esc(r["what"]), esc(r["na"][:90])))
            y += 14
        o.append('<text x="10" y="%d" fill="#555">green: ahead of the peer or goal met; '
                 'red: behind. Figures in docs/bench.txt.</text>' % (H - 12))
        o.append("</svg>")
        return "\n".join(o) + "\n"

    def read_loadavg(self):
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])

    def cpu_times(self):
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]

    def steal(self):
        a, b = self.cpu0, self.cpu_times()
        d = [y - x for x, y in zip(a, b)]
        return "%.1f%%" % (100.0 * d[7] / sum(d)) if len(d) > 7 and sum(d) else "?"

    def run(self):
        t0 = time.time()
        self.loadavg = self.read_loadavg()
        self.cpu0 = self.cpu_times()
        only = set(self.a.only.split(",")) if self.a.only else None
        want = lambda s: only is None or s in only
        if want("size"):
            self.bench_sizes()
        if want("load"):
            self.bench_load()
        if want("pull"):
            self.bench_pull()
        ctr = pctr = None
        if want("cli") or want("container"):
            self.setup_stores()
            if want("container"):
                ctr, pctr = self.bench_containers()
            if want("cli"):
                self.bench_cli(ctr, pctr)
        if want("net"):
            self.bench_port()
        text = self.table(int(time.time() - t0))
        os.makedirs(self.a.out, exist_ok=True)
        with open(os.path.join(self.a.out, "bench.txt"), "w") as f:
            f.write(text)
        with open(os.path.join(self.a.out, "bench.svg"), "w") as f:
            f.write(self.svg())
        print(text)
        log("wrote %s/bench.txt and bench.svg" % self.a.out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minirun", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tmpdir", default="/var/tmp")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--load-runs", type=int, default=3)
    ap.add_argument("--cli-runs", type=int, default=5)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    a.minirun = os.path.abspath(a.minirun)
    b = Bench(a)

    def stop(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        b.run()
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        sys.exit(130)
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
