#!/bin/sh
# SIGKILL during `load` at many moments: the store is always either as before
# or complete (every recorded image has its blobs and layers), temporaries are
# cleaned at the next start, and a second load succeeds and is correct.
. "$(dirname "$0")/lib.sh"
fixtures
command -v python3 >/dev/null || skip "python3 missing"
TREECMP="python3 $REPO/tests/treecmp.py"
consistent() {
	python3 - "$1" <<'PY'
import json, os, sys
root = sys.argv[1]
p = os.path.join(root, "images.json")
if not os.path.exists(p):
    sys.exit(0)
db = json.load(open(p))
for r in db["images"]:
    for l in r["layers"]:
        assert os.path.isdir(os.path.join(root, "layers", l)), "missing layer " + l
    for d in (r["id"], r["manifest"]):
        assert os.path.isfile(os.path.join(root, "blobs/sha256", d[7:])), "missing blob " + d
for name, id in db["tags"].items():
    assert any(r["id"] == id for r in db["images"]), "tag to nothing: " + name
PY
}
# The six-layer docker-archive (manifest.json last), fed through a pipe at
# about 4 MB/s so that the kills spread over reading, extracting and the
# commit; the last moments land after the input ended.
src=$FIX/layers-docker-old.tar
slowcat() {
	python3 -c 'import sys, time
r, w = sys.stdin.buffer, sys.stdout.buffer
while True:
    b = r.read(16384)
    if not b: break
    w.write(b); w.flush(); time.sleep(0.004)' <"$1" 2>/dev/null
}
kills=0
for ms in 5 20 40 60 80 100 120 140 160 180 200 220 240 260 280 300 320 340 360 380 400 420 440 470 500; do
	st=$T/k$ms
	slowcat "$src" | MINIRUN_ROOT=$st "$MINIRUN" load -q >/dev/null 2>&1 &
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	pid=$(pgrep -f -n "^$MINIRUN load -q\$" || true)
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait
	if consistent "$st" 2>"$T/err"; then :; else bad "after kill at ${ms}ms: $(cat "$T/err")"; continue; fi
	MINIRUN_ROOT=$st "$MINIRUN" images >/dev/null 2>&1 || bad "images after kill at ${ms}ms"
	left=$(ls -A "$st/tmp" 2>/dev/null | wc -l)
	[ "$left" = 0 ] || bad "after kill at ${ms}ms: $left temporaries left after the next start"
	MINIRUN_ROOT=$st "$MINIRUN" load -q -i "$src" >/dev/null 2>"$T/err" || { bad "reload after kill at ${ms}ms: $(cat "$T/err")"; continue; }
	MINIRUN_ROOT=$st "$MINIRUN" image unpack layers:latest "$st.u" >/dev/null 2>&1
	if $TREECMP -q --skip-root "$FIX/ref-layers/rootfs" "$st.u"; then :; else bad "tree after kill at ${ms}ms + reload"; fi
	rm -rf "$st.u"
done
ok "store consistent and reload correct after $kills kills (of 25 moments)"
[ $kills -ge 20 ] && ok "at least 20 kills landed during the load" || bad "only $kills kills landed (load too quick?)"
finish
