#!/usr/bin/env python3
"""Run the same scenarios against Docker and minirun and compare them.

Called by tests/integration/80_docker_compare.sh with both engines on PATH
(`docker`, talking to a private dockerd, and `minirun`). A scenario is a
shell script in tests/docker-compare/scenarios that calls the engine as $X;
its combined output and exit code are normalised (IDs, times, sizes,
addresses, the engine's own name) and compared. Before each scenario both
engines are reset: no container, no unused volume or network, only
busybox:latest.

Scenario file format:
    ## NAME
    #known: REASON        expected to differ (listed in README's "Known
                          differences from Docker"); reported, not a failure
    #needs: bridge        skipped where Docker has no bridge network
    #re: PATTERN => REPL  an extra normalisation (Python regex)
    shell lines using $X ...

Prints one line per scenario, the differences, and
"N scenarios, M identical, K known differences"; exit 1 on any difference
not marked as known.
"""
import argparse
import difflib
import os
import re
import subprocess
import sys

ENGINES = ("docker", "minirun")

COMMON = [
    (r"Error response from daemon: ", "Error: "),
    (r"\b(docker|minirun)\b", "ENGINE"),
    (r"sha256:[0-9a-f]{64}", "sha256:<ID>"),
    (r"\b[0-9a-f]{64}\b", "<ID>"),
    (r"\b[0-9a-f]{12}\b", "<ID12>"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "<TIME>"),
    (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+", "<TIME>"),
    (r"(Less than a second|About a minute|About an hour|an? \w+|\d+ (second|minute|hour|day|week|month|year)s?)"
     r"(?= ago)", "<DUR>"),
    (r"(?<=Up )(Less than a second|About a minute|About an hour|\d+ (second|minute|hour|day|week|month|year)s?)",
     "<DUR>"),
    (r"\b\d+(\.\d+)?\s?(B|kB|KB|MB|GB|KiB|MiB|GiB)\b", "<SIZE>"),
    (r"\b(10|172|192)\.\d+\.\d+\.\d+\b", "<IP>"),
    (r"\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b", "<MAC>"),
]


def parse(path):
    scenarios, cur = [], None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("## "):
                cur = {"name": line[3:].strip(), "known": None, "needs": [], "re": [], "body": []}
                scenarios.append(cur)
            elif cur is None or (not line.strip() and not cur["body"]):
                continue
            elif line.startswith("#known:"):
                cur["known"] = line[7:].strip()
            elif line.startswith("#needs:"):
                cur["needs"] += line[7:].split()
            elif line.startswith("#re:"):
                pat, _, repl = line[4:].strip().partition(" => ")
                cur["re"].append((pat, repl))
            else:
                cur["body"].append(line)
    return scenarios


def sh(engine, cmd):
    return subprocess.run([engine] + cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, timeout=120).stdout


def reset(engine, fixtures):
    ids = sh(engine, ["ps", "-aq", "--no-trunc"]).split()
    if ids:
        sh(engine, ["rm", "-f", "-v"] + ids)
    sh(engine, ["volume", "prune", "-f"])
    sh(engine, ["network", "prune", "-f"])
    tags = []
    for line in sh(engine, ["images", "--no-trunc"]).splitlines()[1:]:
        f = line.split()
        if len(f) >= 3:
            tags.append(f[2] if f[0] == "<none>" else f[0] + ":" + f[1])
    extra = [t for t in tags if t != "busybox:latest"]
    if extra:
        sh(engine, ["rmi", "-f"] + extra)
    if "busybox:latest" not in tags:
        sh(engine, ["load", "-q", "-i", os.path.join(fixtures, "busybox-docker.tar")])


def run(engine, sc, work, fixtures):
    d = os.path.join(work, sc["name"], engine)
    os.makedirs(d, exist_ok=True)
    env = dict(os.environ, X=engine, FIX=fixtures)
    try:
        p = subprocess.run(["sh", "-c", "\n".join(sc["body"])], cwd=d, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out, rc = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.output or b"").decode("utf-8", "replace") + "\n[timed out]", -1
    return out + "[exit %d]\n" % rc


def normalise(text, extra):
    lines = []
    for line in text.splitlines():
        for pat, repl in extra + COMMON:
            line = re.sub(pat, repl, line)
        # tables: column widths follow the normalised cells' lengths
        line = re.sub(r"(?<=\S) {2,}(?=\S)", "   ", line).rstrip()
        lines.append(line)
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--bridge", default="none")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    same = known = unexpected = skipped = 0
    total = 0
    for sc in parse(a.scenarios):
        if a.only and not re.search(a.only, sc["name"]):
            continue
        if "bridge" in sc["needs"] and a.bridge == "none":
            print("  skip  %s (Docker has no bridge network here)" % sc["name"])
            skipped += 1
            continue
        total += 1
        res = {}
        for e in ENGINES:
            # both reset: the other engine's containers would hold ports
            for x in ENGINES:
                reset(x, a.fixtures)
            res[e] = normalise(run(e, sc, a.work, a.fixtures), sc["re"])
        if res["docker"] == res["minirun"]:
            same += 1
            print("  same  %s%s" % (sc["name"], "  (listed as known, now identical)" if sc["known"] else ""))
            continue
        diff = "\n".join(difflib.unified_diff(res["docker"], res["minirun"], "docker", "minirun",
                                              lineterm="", n=2))
        if sc["known"]:
            known += 1
            print("  known %s: %s" % (sc["name"], sc["known"]))
            print("\n".join("        " + l for l in diff.splitlines()[2:]))
        else:
            unexpected += 1
            print("  DIFF  %s" % sc["name"])
            print("\n".join("        " + l for l in diff.splitlines()))
    for e in ENGINES:
        reset(e, a.fixtures)
    print("%d scenarios, %d identical, %d known differences%s%s" % (
        total, same, known,
        ", %d UNEXPECTED differences" % unexpected if unexpected else "",
        ", %d skipped" % skipped if skipped else ""))
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
