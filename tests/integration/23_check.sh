#!/bin/sh
# `minirun check [--repair]`: a store damaged in each way check detects (made
# here, one copy of a good store per damage) is reported with one line and
# exit 1; --repair removes what is incomplete or unreferenced and says so,
# never a volume's data nor what a container uses; a good store checks clean
# (exit 0) and fast; a killed prune's collection is finished by the next
# command; a store made before completion marks is accepted and marked.
. "$(dirname "$0")/lib.sh"
fixtures
command -v python3 >/dev/null || skip "python3 missing"

base=$T/base
MINIRUN_ROOT=$base mr load -q -i "$FIX/busybox-oci.tar" >/dev/null &&
MINIRUN_ROOT=$base mr load -q -i "$FIX/layers-docker.tar" >/dev/null &&
MINIRUN_ROOT=$base mr load -q -i "$FIX/multi-oci.tar" >/dev/null || { bad "load fixtures"; finish; }
MINIRUN_ROOT=$base mr create --name c1 busybox:latest true >/dev/null || bad "create c1"
MINIRUN_ROOT=$base mr volume create v1 >/dev/null || bad "volume create"
echo keep >"$base/volumes/v1/_data/data.txt"

check "a good store checks clean (exit 0)" env MINIRUN_ROOT=$base "$MINIRUN" check
MINIRUN_ROOT=$base mr check >"$T/out" 2>&1
grep -q "3 images, 7 layers, 6 blobs, 1 containers" "$T/out" && ok "summary counts what is there" ||
	bad "summary: $(cat "$T/out")"
ms=$(sed -n 's/.*(\([0-9]*\) ms)$/\1/p' "$T/out")
[ -n "$ms" ] && [ "$ms" -lt 500 ] && ok "check of 3 images in ${ms} ms (< 500)" || bad "check took ${ms:-?} ms"

# A layer of busybox (used by c1) and one of the layers image (used by none).
bb_layer=$(python3 -c 'import json,sys; db=json.load(open(sys.argv[1]+"/images.json"))
t=db["tags"]["busybox:latest"]; print([r for r in db["images"] if r["id"]==t][0]["layers"][0])' "$base")
ly_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/images.json"))["tags"]["layers:latest"])' "$base")
ly_layer=$(python3 -c 'import json,sys; db=json.load(open(sys.argv[1]+"/images.json"))
print([r for r in db["images"] if r["id"]==sys.argv[2]][0]["layers"][-1])' "$base" "$ly_id")
ly_man=$(python3 -c 'import json,sys; db=json.load(open(sys.argv[1]+"/images.json"))
print([r for r in db["images"] if r["id"]==sys.argv[2]][0]["manifest"][7:])' "$base" "$ly_id")
cid=$(ls "$base/containers" | grep -v '^\.')

n=0
# damage "what" "expected line (grep -E)" "shell code run in the store" [repairable: 1|0]
damage() {
	n=$((n + 1)); s=$T/d$n
	cp -a "$base" "$s"
	(cd "$s" && eval "$3") || { bad "$1: could not damage the store"; return; }
	MINIRUN_ROOT=$s mr check >"$T/out" 2>&1; rc=$?
	if [ $rc = 1 ] && grep -Eq "$2" "$T/out"; then ok "$1: detected (exit 1)"
	else bad "$1: rc=$rc, expected /$2/ in: $(cat "$T/out")"; fi
	lines=$(grep -vc ' problems' "$T/out")
	[ "$lines" -ge 1 ] || bad "$1: no problem line"
	MINIRUN_ROOT=$s mr check --repair >"$T/rep" 2>&1
	if [ "$4" = 1 ]; then
		grep -q '^removed \|^rewrote' "$T/rep" && ok "$1: --repair says what it did" ||
			bad "$1: --repair: $(cat "$T/rep")"
		MINIRUN_ROOT=$s mr check >"$T/out" 2>&1 && ok "$1: clean after --repair" ||
			bad "$1: after --repair: $(cat "$T/out")"
	else
		MINIRUN_ROOT=$s mr check >"$T/out" 2>&1 && bad "$1: not repairable, yet clean after --repair" ||
			ok "$1: left for a person to decide (still reported)"
	fi
	[ "$(cat "$s/volumes/v1/_data/data.txt" 2>/dev/null)" = keep ] || bad "$1: volume data touched"
	[ -d "$s/layers/$bb_layer" ] || [ "$1" = "missing layer" ] || bad "$1: a layer c1 uses was removed"
	[ -d "$s/containers/$cid" ] || bad "$1: container c1 removed"
}

damage "tag to nothing" "^tag ghost:latest: names image" \
	"python3 -c 'import json; d=json.load(open(\"images.json\")); d[\"tags\"][\"ghost:latest\"]=\"sha256:\"+\"1\"*64; json.dump(d,open(\"images.json\",\"w\"))'" 1
damage "missing config blob" "^image sha256:$(echo "$ly_id" | cut -c8-19).*config is missing" \
	"rm blobs/sha256/$(echo "$ly_id" | cut -c8-)" 1
damage "corrupt manifest blob" "manifest does not match its digest" \
	"echo x >>blobs/sha256/$ly_man" 1
damage "layer without completion mark" "layer sha256:$(echo "$ly_layer" | cut -c1-12) is missing or incomplete" \
	"rm marks/$ly_layer" 1
damage "missing layer" "container .*\(c1\): layer sha256:$(echo "$bb_layer" | cut -c1-12) is missing" \
	"rm -rf layers/$bb_layer marks/$bb_layer" 0
damage "unreferenced layer" "^layer sha256:abababababab: no image or container uses it" \
	"cp -a layers/$ly_layer layers/$(printf 'ab%.0s' $(seq 32)) && printf 'sha256:%s 1\n' $(printf 'ab%.0s' $(seq 32)) >marks/$(printf 'ab%.0s' $(seq 32))" 1
damage "mark without layer" "a mark without its layer" \
	"echo x >marks/$(printf 'cd%.0s' $(seq 32))" 1
damage "unreferenced blob" "^blob sha256:e3b0c44298fc: no image uses it" \
	": >blobs/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" 1
damage "temporary file" "layers/.tmp.999999999.x: temporary file left behind" \
	"mkdir layers/.tmp.999999999.x" 1
damage "container with a lost image" "container .*\(c1\): image sha256:000000000000 is not in the store" \
	"sed -i 's/\"Image\":\"sha256:[0-9a-f]*\"/\"Image\":\"sha256:$(printf '0%.0s' $(seq 64))\"/' containers/$cid/config.json" 0
damage "damaged container record" "^container $(echo "$cid" | cut -c1-12): " \
	": >containers/$cid/config.json" 0
s=$T/names; cp -a "$base" "$s"; ln -s "$(printf 'e%.0s' $(seq 64))" "$s/containers/.names/ghost"
MINIRUN_ROOT=$s mr check >"$T/out" 2>&1 && grep -q "note: container name ghost: links to no container" "$T/out" &&
	ok "a stale name link (rm killed after the record went) is a note, not a problem" ||
	bad "stale name link: $(cat "$T/out")"
MINIRUN_ROOT=$s mr check --repair >"$T/out" 2>&1 && [ ! -L "$s/containers/.names/ghost" ] &&
	grep -q "^removed container name ghost" "$T/out" && ok "--repair removes a stale name link" ||
	bad "stale name link --repair: $(cat "$T/out")"
damage "volume without _data" "volume v2: no _data folder" \
	"mkdir volumes/v2" 0
damage "damaged volume metadata" "volume v1: damaged meta.json" \
	"echo '{broken' >volumes/v1/meta.json" 1
damage "damaged images.json" "^images.json: " \
	"echo '{\"images\": [' >images.json" 0
damage "damaged network file" "network networks/x.json: damaged" \
	"mkdir -p networks && echo '[' >networks/x.json" 0

# A killed prune: images.json already written, the collection not done.
s=$T/gc; cp -a "$base" "$s"
MINIRUN_ROOT=$s mr rmi layers:latest >/dev/null || bad "rmi layers"
cp -a "$base/layers/$ly_layer" "$s/layers/" && cp "$base/marks/$ly_layer" "$s/marks/" &&
cp "$base/blobs/sha256/$ly_man" "$s/blobs/sha256/" && echo gc >"$s/gc.intent"
MINIRUN_ROOT=$s mr images >/dev/null
[ ! -e "$s/layers/$ly_layer" ] && [ ! -e "$s/marks/$ly_layer" ] && [ ! -e "$s/blobs/sha256/$ly_man" ] && [ ! -e "$s/gc.intent" ] &&
	ok "a collection cut short is finished by the next command" ||
	bad "collection not finished: $(ls "$s/layers" | head -3) $(ls "$s/gc.intent" 2>&1)"
check "and the store checks clean" env MINIRUN_ROOT=$s "$MINIRUN" check

# Found by the power-cut test: rmi of one of two tags removed both (and the
# image) because the "this tag only" decision used a count that dropped.
s=$T/tags; cp -a "$base" "$s"
MINIRUN_ROOT=$s mr tag busybox:latest foo:1 && MINIRUN_ROOT=$s mr rmi foo:1 >/dev/null &&
	MINIRUN_ROOT=$s mr images | grep -q '^busybox ' && ok "rmi of one of two tags keeps the other" ||
	bad "rmi foo:1 took busybox:latest with it"

# A store from before completion marks: accepted, noted, marked by --repair.
s=$T/old; cp -a "$base" "$s"; rm -rf "$s/marks"
MINIRUN_ROOT=$s mr check >"$T/out" 2>&1 && grep -q "stored before completion marks" "$T/out" &&
	ok "an old store checks clean, with a note" || bad "old store: $(cat "$T/out")"
MINIRUN_ROOT=$s mr run --rm busybox:latest true >/dev/null 2>&1 && ok "an old store's images run" ||
	bad "old store run"
MINIRUN_ROOT=$s mr check --repair >"$T/out" 2>&1
[ -e "$s/marks/$bb_layer" ] && MINIRUN_ROOT=$s "$MINIRUN" check >/dev/null && ok "--repair marks an old store's layers" ||
	bad "old store --repair: $(cat "$T/out")"
finish
