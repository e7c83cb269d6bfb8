#!/bin/sh
# tests/fixtures.sh: build the image fixtures of the integration tests, once.
#
# Usage:  FIX=$(tests/fixtures.sh)     (prints the fixture folder on stdout)
#
# Fixtures are made from Debian packages with real producers (umoci, skopeo,
# GNU tar), never with minirun. They are built into
#   ${MINIRUN_TEST_CACHE:-/var/cache/minirun-tests}/fixtures-<hash>/
# where <hash> covers this script and the versions of the packages used, so a
# changed recipe or tool gives a new folder; a run with the folder present only
# prints it. Built in a temporary folder renamed into place under a lock: a
# killed build never leaves a half cache (leftovers are removed by the next build).
# Old fixtures-* folders are not pruned.
#
# Images (all layer files, links, modes and mtimes are fixed: mtime 1700000000):
#   busybox:latest  one layer (umoci repack): /bin/busybox from busybox-static and
#       symlinks (sh ls cat echo true false sleep id env wc head ...), /etc/passwd,
#       /etc/group (root, nobody), /etc/shadow 0640 root:42, /tmp 1777, /root 0700,
#       /usr/bin/suid-prog 4755, /usr/bin/sgid-prog 2755, /usr/bin/cap-prog with
#       security.capability (cap_net_raw+ep), /etc/xattr-file with user.test=1,
#       hard link /etc/hard-b -> /etc/hard-a, FIFO /dev/fifo, char device /dev/null
#       (1,3), /home/nobody-file 65534:65534, /home/biguid-file 3000000:3000000,
#       /etc/mode0000 (mode 0), a 150-character file name and symlink target
#       (pax path/linkpath), a UTF-8 name /etc/ünïcode, empty /data, /var/empty.
#       Config: Cmd ["sh"], Env PATH=..., WorkingDir /, Label
#       org.example.fixture=busybox, ExposedPorts 80/tcp, Volumes /data,
#       architecture amd64, os linux.
#   layers:latest  six layers:
#       L1  the busybox layer (same blob and diff_id as busybox:latest)
#       L2  umoci repack: /etc/removed-file, /opt/dir/{a,b}, /opt/keep, /opt/changed
#           (0644 "old"), /opt/file-to-symlink, /opt/dir-to-file/x, /opt/gone-dir/{y,sub/z},
#           /opt/ins-opaque/{old1,old2}, /opt/ins-gone, /opt/repack-gone, /opt/repack-mode
#       L3  hand-made with GNU tar (--format=gnu, entries in this order, no entry
#           for etc/): etc/.wh.removed-file, opt/, opt/dir/, opt/dir/c,
#           opt/dir/.wh..wh..opq, opt/dir/d, opt/changed (0600 "new content"),
#           opt/file-to-symlink -> keep, opt/dir-to-file (file), opt/.wh.gone-dir.
#           The opaque marker comes after c: c and d both survive, a and b do not.
#           etc/ has no entry here: a per-layer (overlay) unpacker creates it
#           implicitly, and the merged view then shows that folder's attributes.
#       L4  umoci insert --opaque: opt/ins-opaque/.wh..wh..opq BEFORE its own
#           directory entry, then new1; umoci writes this layer with no end-of-archive
#           blocks and the last file's data NOT padded to 512 bytes.
#       L5  umoci insert --whiteout /opt/ins-gone: one header, no end blocks.
#       L6  umoci repack: whiteout .wh.repack-gone, chmod 0700 of opt/repack-mode.
#   multi:latest  an OCI image index (nested: index.json -> index blob), in order:
#       windows/amd64 (trap: must not be picked on linux), linux/arm/v6, linux/arm/v7,
#       linux/arm64/v8, linux/amd64, and an attestation manifest unknown/unknown
#       (buildx style, in-toto layer). Each platform image = the busybox layer
#       (an x86-64 binary everywhere: the arm images are for selection tests only)
#       + a layer with /arch holding e.g. "linux/arm/v7".
#
# Files in the folder (the names are a contract):
#   oci/                      OCI layout by umoci, busybox, ref name "latest" (gzip layer)
#   busybox-oci.tar           oci-archive (skopeo), ref name busybox:latest, gzip layer (umoci's)
#   busybox-gzip-oci.tar      oci-archive, layer recompressed to gzip by skopeo (Go pgzip)
#   busybox-zstd-oci.tar      oci-archive, layer ...layer.v1.tar+zstd (skopeo)
#   busybox-plain-oci.tar     oci-archive, uncompressed layer ...layer.v1.tar (hand-made)
#   busybox-v2s2-oci.tar      oci-archive holding a Docker schema 2 manifest (Docker
#                             media types: ...docker.image.rootfs.diff.tar.gzip)
#   busybox-docker.tar        docker-archive by skopeo: <diffid>.tar, <config>.json,
#                             <v1id>/layer.tar as a SYMLINK to ../<diffid>.tar, VERSION,
#                             json, manifest.json, repositories; RepoTags is
#                             "docker.io/library/busybox:latest" (skopeo's full form)
#   busybox-docker-old.tar    `docker save` of Docker <= 24: <v1id>/{VERSION,json,layer.tar},
#                             <config>.json, manifest.json, repositories, in the
#                             lexical order Docker's archiver walks (manifest.json
#                             after every layer, only repositories after it; the
#                             <config>.json falls before or between the layer folders
#                             as its digest sorts); RepoTags "busybox:latest"
#   busybox-docker-new.tar    `docker save` of Docker >= 25: OCI layout (blobs/sha256/,
#                             uncompressed layers, index.json with ref name "latest"
#                             and io.containerd.image.name) plus manifest.json,
#                             repositories
#   busybox-docker.tar.gz     busybox-docker.tar gzip-compressed whole
#   busybox-oci.tar.zst       busybox-oci.tar zstd-compressed whole
#   busybox-mislabeled-oci.tar  a skopeo 1.9 bug kept as a fixture: uncompressed layer
#                             labelled ...tar+gzip (--dest-oci-accept-uncompressed-layers);
#                             not in fixtures.list
#   layers-oci/  layers-oci.tar  layers-zstd-oci.tar  layers-docker.tar  layers-docker-old.tar
#   multi-oci/   multi-oci.tar   (ref name "latest" resp. "multi:latest"; skopeo --all)
#   multi-v6-oci.tar          multi-v6:latest: an index of linux/arm/v6 and linux/amd64
#                             only (arm/v8 and arm/v7 hosts fall back to v6)
#   In layers-docker*.tar the L4 layer file is 1541 bytes: umoci's unpadded layer kept.
#   ref-busybox/rootfs  ref-layers/rootfs  ref-multi-{amd64,arm64,armv7,armv6}/rootfs
#                             `umoci unpack` of each image (as root), bundles kept whole
#   fixtures.list             one line per loadable fixture, tab-separated:
#                             FILE KIND NAME REF PLATFORM
#                             KIND: oci-dir, oci-archive, docker-archive (compressed
#                             whole or not: see FILE's suffix); NAME: the name stored in
#                             the archive (ref name or RepoTags); REF: the ref-* folder
#                             whose rootfs equals it; PLATFORM: os/arch[/variant] to
#                             request (multi) or "-"
#
# Needs (Debian): umoci skopeo busybox-static tar gzip zstd jq python3 attr
# libcap2-bin util-linux (flock) coreutils findutils. Runs as root (devices, owners).
set -eu

self=$(readlink -f "$0")
cache=${MINIRUN_TEST_CACHE:-/var/cache/minirun-tests}
epoch=1700000000
created=2023-11-14T22:13:20Z
pkgs="umoci skopeo busybox-static tar gzip zstd jq attr libcap2-bin"

# shellcheck disable=SC2086 # $pkgs is a list of words
hash=$({ cat "$self"; dpkg-query -W -f '${Package} ${Version}\n' $pkgs 2>&1; } |
	sha256sum | cut -c1-16)
out=$cache/fixtures-$hash
if [ -f "$out/fixtures.list" ]; then
	echo "$out"
	exit 0
fi

log() { echo "fixtures: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (device nodes, owners)"
for t in umoci skopeo tar gzip zstd jq python3 setfattr setcap flock mknod; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (apt-get install $pkgs)"
done
[ -x /bin/busybox ] || die "/bin/busybox not found (apt-get install busybox-static)"
mkdir -p "$cache"

exec 9>"$cache/.lock"
flock 9
# Another build may have finished while we waited for the lock.
if [ -f "$out/fixtures.list" ]; then
	echo "$out"
	exit 0
fi
# Under the lock every temporary folder is a leftover of a killed build.
rm -rf "$cache"/.tmp-fixtures-*
tmp=$cache/.tmp-fixtures-$hash-$$
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
mkdir "$tmp"
work=$tmp/.work
mkdir "$work"
start=$(date +%s)
log "building into $out"

# All content mtimes fixed so that the layers are reproducible and mtimes comparable.
fixtimes() { find "$1" -exec touch -h -d "@$epoch" {} +; }
skc() { skopeo copy -q "$@" >&2; }
hist() { echo "--history.created=$created"; }

make_busybox_root() {
	r=$1
	mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/dev" "$r/root" "$r/home" "$r/data" \
		"$r/usr/bin" "$r/var/empty" "$r/opt/long"
	cp /bin/busybox "$r/bin/busybox"
	for a in sh ls cat echo true false sleep id env wc head tail grep sed mkdir rm \
		touch stat readlink ln cp mv chmod chown ps kill uname hostname date pwd \
		test printf find sort tee mount umount dd hexdump md5sum sha256sum; do
		ln -s busybox "$r/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
		>"$r/etc/passwd"
	printf 'root:x:0:\nshadow:x:42:\nnogroup:x:65534:\n' >"$r/etc/group"
	printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
	chown 0:42 "$r/etc/shadow"
	chmod 0640 "$r/etc/shadow"
	chmod 1777 "$r/tmp"
	chmod 0700 "$r/root"
	printf '#!/bin/sh\necho suid\n' >"$r/usr/bin/suid-prog"
	chmod 4755 "$r/usr/bin/suid-prog"
	printf 'sgid\n' >"$r/usr/bin/sgid-prog"
	chmod 2755 "$r/usr/bin/sgid-prog"
	printf 'cap\n' >"$r/usr/bin/cap-prog"
	chmod 0755 "$r/usr/bin/cap-prog"
	setcap cap_net_raw+ep "$r/usr/bin/cap-prog"
	printf 'xattr\n' >"$r/etc/xattr-file"
	setfattr -n user.test -v 1 "$r/etc/xattr-file"
	printf 'hard\n' >"$r/etc/hard-a"
	ln "$r/etc/hard-a" "$r/etc/hard-b"
	mkfifo -m 0644 "$r/dev/fifo"
	mknod -m 0666 "$r/dev/null" c 1 3
	printf 'nobody\n' >"$r/home/nobody-file"
	chown 65534:65534 "$r/home/nobody-file"
	printf 'big uid\n' >"$r/home/biguid-file"
	chown 3000000:3000000 "$r/home/biguid-file"
	: >"$r/etc/mode0000"
	chmod 0000 "$r/etc/mode0000"
	printf 'unicode\n' >"$r/etc/ünïcode"
	long=$(printf '%0150d' 0 | tr 0 n)
	printf 'long\n' >"$r/opt/long/$long"
	ln -s "../long/$long" "$r/opt/long/longlink"
	head -c 512 /dev/zero >"$r/etc/exactly-512"
	: >"$r/etc/empty"
}

# --- python helper: archive forms skopeo does not write, and the multi index ---
cat >"$work/helper.py" <<'EOF'
import gzip, hashlib, io, json, os, shutil, sys, tarfile

EPOCH = 1700000000

def sha(b):
    return hashlib.sha256(b).hexdigest()

def blob(layout, digest):
    with open(os.path.join(layout, 'blobs', 'sha256', digest.split(':', 1)[1]), 'rb') as f:
        return f.read()

def put(layout, data):
    d = sha(data)
    p = os.path.join(layout, 'blobs', 'sha256', d)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f:
        f.write(data)
    return 'sha256:' + d

def dumps(obj):
    return json.dumps(obj, separators=(',', ':')).encode()

def manifest_of(layout, ref):
    idx = json.load(open(os.path.join(layout, 'index.json')))
    for m in idx['manifests']:
        if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == ref:
            return json.loads(blob(layout, m['digest']))
    sys.exit('helper: ref %s not in %s' % (ref, layout))

def uncompressed_layers(layout, man):
    out = []
    for l in man['layers']:
        data = blob(layout, l['digest'])
        if l['mediaType'].endswith('gzip'):
            data = gzip.decompress(data)
        out.append(data)
    return out

def tar_add(t, name, data=None, mode=0o644, isdir=False, mtime=EPOCH):
    ti = tarfile.TarInfo(name)
    ti.mtime = mtime
    ti.mode = mode
    ti.uname = ti.gname = ''
    if isdir:
        ti.type = tarfile.DIRTYPE
        t.addfile(ti)
    else:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))

def docker_old(layout, ref, repotag, dest):
    """docker save of Docker <= 24: <v1id>/{VERSION,json,layer.tar}, <config>.json,
    manifest.json, repositories, in the lexical order of Docker's archiver walk."""
    man = manifest_of(layout, ref)
    cfgb = blob(layout, man['config']['digest'])
    cfg = json.loads(cfgb)
    layers = uncompressed_layers(layout, man)
    files = {}
    parent, chain, v1ids = '', '', []
    for i, data in enumerate(layers):
        diff = 'sha256:' + sha(data)
        chain = diff if not chain else 'sha256:' + sha((chain + ' ' + diff).encode())
        v1 = {'created': cfg.get('created', '1970-01-01T00:00:00Z'),
              'container_config': {'Cmd': None}, 'os': cfg.get('os', 'linux')}
        if i == len(layers) - 1:
            v1.update({k: cfg[k] for k in ('architecture', 'config') if k in cfg})
        v1id = sha(dumps({'v1': v1, 'chain': chain, 'parent': parent}))
        v1['id'] = v1id
        if parent:
            v1['parent'] = parent
        files[v1id + '/'] = None
        files[v1id + '/VERSION'] = b'1.0'
        files[v1id + '/json'] = dumps(v1)
        files[v1id + '/layer.tar'] = data
        v1ids.append(v1id)
        parent = v1id
    cfgname = man['config']['digest'].split(':')[1] + '.json'
    files[cfgname] = cfgb
    repo, tag = repotag.rsplit(':', 1)
    files['manifest.json'] = dumps([{'Config': cfgname, 'RepoTags': [repotag],
                                     'Layers': [v + '/layer.tar' for v in v1ids]}])
    files['repositories'] = dumps({repo: {tag: v1ids[-1]}}) + b'\n'
    with tarfile.open(dest, 'w', format=tarfile.USTAR_FORMAT) as t:
        for name in sorted(files):
            mt = 0 if name in ('manifest.json', 'repositories') else EPOCH
            if files[name] is None:
                tar_add(t, name, isdir=True, mode=0o755, mtime=mt)
            else:
                tar_add(t, name, files[name], mtime=mt)

def oci_plain(layout, ref, dest, docker_form=None):
    """An archive whose layers are uncompressed ...layer.v1.tar blobs: an oci-archive,
    or with docker_form=REPOTAG the docker save of Docker >= 25."""
    man = manifest_of(layout, ref)
    cfgb = blob(layout, man['config']['digest'])
    layers = uncompressed_layers(layout, man)
    blobs = {}
    descs = []
    for data in layers:
        d = sha(data)
        blobs[d] = data
        descs.append({'mediaType': 'application/vnd.oci.image.layer.v1.tar',
                      'digest': 'sha256:' + d, 'size': len(data)})
    blobs[sha(cfgb)] = cfgb
    newman = dumps({'schemaVersion': 2,
                    'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                    'config': man['config'], 'layers': descs})
    blobs[sha(newman)] = newman
    ann = {'org.opencontainers.image.ref.name': 'busybox:latest'}
    if docker_form:
        ann = {'io.containerd.image.name': 'docker.io/library/' + docker_form,
               'org.opencontainers.image.ref.name': docker_form.rsplit(':', 1)[1]}
    index = dumps({'schemaVersion': 2,
                   'mediaType': 'application/vnd.oci.image.index.v1+json',
                   'manifests': [{'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                                  'digest': 'sha256:' + sha(newman), 'size': len(newman),
                                  'annotations': ann}]})
    files = {'blobs/': None, 'blobs/sha256/': None}
    for d, data in blobs.items():
        files['blobs/sha256/' + d] = data
    files['index.json'] = index
    files['oci-layout'] = b'{"imageLayoutVersion":"1.0.0"}'
    if docker_form:
        repo, tag = docker_form.rsplit(':', 1)
        files['manifest.json'] = dumps([{
            'Config': 'blobs/sha256/' + sha(cfgb), 'RepoTags': [docker_form],
            'Layers': ['blobs/sha256/' + d['digest'][7:] for d in descs]}])
        files['repositories'] = dumps({repo: {tag: sha(cfgb)}}) + b'\n'
    with tarfile.open(dest, 'w', format=tarfile.USTAR_FORMAT) as t:
        for name in sorted(files):
            if files[name] is None:
                tar_add(t, name, isdir=True, mode=0o755)
            else:
                tar_add(t, name, files[name])

def attestation(dest, entries, amd):
    """Append a buildx-style attestation manifest (unknown/unknown) for amd."""
    stmt = dumps({'_type': 'https://in-toto.io/Statement/v0.1',
                  'predicateType': 'https://spdx.dev/Document', 'subject': [], 'predicate': {}})
    acfg = dumps({'architecture': 'unknown', 'os': 'unknown', 'config': {},
                  'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + sha(stmt)]}})
    aman = dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                  'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',
                             'digest': put(dest, acfg), 'size': len(acfg)},
                  'layers': [{'mediaType': 'application/vnd.in-toto+json',
                              'digest': put(dest, stmt), 'size': len(stmt),
                              'annotations': {'in-toto.io/predicate-type':
                                              'https://spdx.dev/Document'}}]})
    entries.append({'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                    'digest': put(dest, aman), 'size': len(aman),
                    'annotations': {'vnd.docker.reference.digest': amd['digest'],
                                    'vnd.docker.reference.type': 'attestation-manifest'},
                    'platform': {'architecture': 'unknown', 'os': 'unknown'}})


def multi(src, dest, refdir, only=None):
    """src: layout with refs windows-amd64 arm64 armv7 armv6 amd64. dest: layout whose
    index.json holds one nested image index (ref "latest"). refdir: a layout with one
    ref per linux platform, for umoci unpack. only: comma-separated refs to keep (then
    no attestation manifest)."""
    plats = [('windows-amd64', {'architecture': 'amd64', 'os': 'windows'}),
             ('armv6', {'architecture': 'arm', 'os': 'linux', 'variant': 'v6'}),
             ('armv7', {'architecture': 'arm', 'os': 'linux', 'variant': 'v7'}),
             ('arm64', {'architecture': 'arm64', 'os': 'linux', 'variant': 'v8'}),
             ('amd64', {'architecture': 'amd64', 'os': 'linux'})]
    if only:
        plats = [p for p in plats if p[0] in only.split(',')]
    entries, refs = [], []
    for ref, plat in plats:
        man = manifest_of(src, ref)
        cfg = json.loads(blob(src, man['config']['digest']))
        cfg.update(plat)
        if plat['os'] == 'windows':
            cfg['os.version'] = '10.0.17763.1'
        cfgb = dumps(cfg)
        man['config'] = {'mediaType': 'application/vnd.oci.image.config.v1+json',
                         'digest': put(dest, cfgb), 'size': len(cfgb)}
        for l in man['layers']:
            put(dest, blob(src, l['digest']))
        manb = dumps(man)
        desc = {'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                'digest': put(dest, manb), 'size': len(manb), 'platform': plat}
        entries.append(desc)
        if plat['os'] == 'linux':
            refs.append(dict(desc, annotations={'org.opencontainers.image.ref.name': ref}))
    if not only:
        attestation(dest, entries, entries[-1])
    idxb = dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                  'manifests': entries})
    top = {'schemaVersion': 2, 'manifests': [{
        'mediaType': 'application/vnd.oci.image.index.v1+json', 'digest': put(dest, idxb),
        'size': len(idxb), 'annotations': {'org.opencontainers.image.ref.name': 'latest'}}]}
    with open(os.path.join(dest, 'index.json'), 'wb') as f:
        f.write(dumps(top))
    with open(os.path.join(dest, 'oci-layout'), 'wb') as f:
        f.write(b'{"imageLayoutVersion":"1.0.0"}')
    shutil.copytree(dest, refdir)
    with open(os.path.join(refdir, 'index.json'), 'wb') as f:
        f.write(dumps({'schemaVersion': 2, 'manifests': refs}))

cmd = sys.argv[1]
if cmd == 'docker-old':
    docker_old(*sys.argv[2:6])
elif cmd == 'oci-plain':
    oci_plain(*sys.argv[2:5])
elif cmd == 'docker-new':
    oci_plain(sys.argv[2], sys.argv[3], sys.argv[5], docker_form=sys.argv[4])
elif cmd == 'multi':
    multi(*sys.argv[2:6])
else:
    sys.exit('helper: unknown command ' + cmd)
EOF
helper() { python3 "$work/helper.py" "$@"; }

# --- busybox:latest ---
cd "$tmp"
umoci init --layout oci
umoci new --image oci:latest
umoci unpack --image oci:latest "$work/bb"
make_busybox_root "$work/bb/rootfs"
fixtimes "$work/bb/rootfs"
umoci repack "$(hist)" --history.created_by='busybox-static rootfs' --image oci:latest "$work/bb"
umoci config --image oci:latest --created="$created" "$(hist)" \
	--config.cmd sh --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	--config.workingdir / --config.label org.example.fixture=busybox \
	--config.exposedports 80/tcp --config.volume /data \
	--architecture amd64 --os linux
umoci gc --layout oci
umoci unpack --image oci:latest ref-busybox

skc oci:oci:latest oci-archive:busybox-oci.tar:busybox:latest
skc oci:oci:latest docker-archive:busybox-docker.tar:busybox:latest
skc --dest-compress-format gzip docker-archive:busybox-docker.tar \
	oci-archive:busybox-gzip-oci.tar:busybox:latest
skc --dest-compress-format zstd oci:oci:latest oci-archive:busybox-zstd-oci.tar:busybox:latest
skc -f v2s2 oci:oci:latest oci-archive:busybox-v2s2-oci.tar:busybox:latest
skc --dest-oci-accept-uncompressed-layers docker-archive:busybox-docker.tar \
	oci-archive:busybox-mislabeled-oci.tar:busybox:latest
helper docker-old oci latest busybox:latest busybox-docker-old.tar
helper oci-plain oci latest busybox-plain-oci.tar
helper docker-new oci latest busybox:latest busybox-docker-new.tar
gzip -n -c busybox-docker.tar >busybox-docker.tar.gz
zstd -q -c busybox-oci.tar >busybox-oci.tar.zst

# --- layers:latest ---
cp -a oci layers-oci
umoci config --image layers-oci:latest "$(hist)" --config.label org.example.fixture=layers
# L2: additions by umoci repack
umoci unpack --image layers-oci:latest "$work/l2"
r=$work/l2/rootfs
mkdir -p "$r/opt/dir" "$r/opt/dir-to-file" "$r/opt/gone-dir/sub" "$r/opt/ins-opaque"
echo removed >"$r/etc/removed-file"
echo a >"$r/opt/dir/a"
echo b >"$r/opt/dir/b"
echo keep >"$r/opt/keep"
echo old >"$r/opt/changed"
echo file >"$r/opt/file-to-symlink"
echo x >"$r/opt/dir-to-file/x"
echo y >"$r/opt/gone-dir/y"
echo z >"$r/opt/gone-dir/sub/z"
echo old1 >"$r/opt/ins-opaque/old1"
echo old2 >"$r/opt/ins-opaque/old2"
echo gone >"$r/opt/ins-gone"
echo gone >"$r/opt/repack-gone"
echo mode >"$r/opt/repack-mode"
fixtimes "$r/opt"
touch -h -d "@$epoch" "$r/etc/removed-file" "$r/etc" "$r"
umoci repack "$(hist)" --image layers-oci:latest "$work/l2"
# L3: whiteouts, opaque directory and type changes, hand-made with GNU tar
s=$work/l3
mkdir -p "$s/etc" "$s/opt/dir"
: >"$s/etc/.wh.removed-file"
: >"$s/opt/dir/.wh..wh..opq"
: >"$s/opt/.wh.gone-dir"
echo c >"$s/opt/dir/c"
echo d >"$s/opt/dir/d"
echo 'new content' >"$s/opt/changed"
chmod 0600 "$s/opt/changed"
ln -s keep "$s/opt/file-to-symlink"
echo 'was a directory' >"$s/opt/dir-to-file"
fixtimes "$s"
printf '%s\n' etc/.wh.removed-file opt/ opt/dir/ opt/dir/c opt/dir/.wh..wh..opq opt/dir/d \
	opt/changed opt/file-to-symlink opt/dir-to-file opt/.wh.gone-dir >"$work/l3.list"
tar -C "$s" --format=gnu --no-recursion --numeric-owner --owner=0 --group=0 \
	-cf "$work/l3.tar" -T "$work/l3.list"
umoci raw add-layer "$(hist)" --image layers-oci:latest "$work/l3.tar"
# L4, L5: umoci insert (opaque, whiteout): no end-of-archive blocks
mkdir "$work/l4"
echo new1 >"$work/l4/new1"
fixtimes "$work/l4"
umoci insert "$(hist)" --image layers-oci:latest --opaque "$work/l4" /opt/ins-opaque
umoci insert "$(hist)" --image layers-oci:latest --whiteout /opt/ins-gone
# L6: umoci repack of a deletion and a mode change
umoci unpack --image layers-oci:latest "$work/l6"
rm "$work/l6/rootfs/opt/repack-gone"
chmod 0700 "$work/l6/rootfs/opt/repack-mode"
touch -h -d "@$epoch" "$work/l6/rootfs/opt"
umoci repack "$(hist)" --image layers-oci:latest "$work/l6"
umoci gc --layout layers-oci
umoci unpack --image layers-oci:latest ref-layers
skc oci:layers-oci:latest oci-archive:layers-oci.tar:layers:latest
skc --dest-compress-format zstd oci:layers-oci:latest oci-archive:layers-zstd-oci.tar:layers:latest
skc oci:layers-oci:latest docker-archive:layers-docker.tar:layers:latest
helper docker-old layers-oci latest layers:latest layers-docker-old.tar

# --- multi:latest ---
m=$work/multi-src
cp -a oci "$m"
for p in windows-amd64:windows/amd64 armv6:linux/arm/v6 armv7:linux/arm/v7 \
	arm64:linux/arm64/v8 amd64:linux/amd64; do
	ref=${p%%:*}
	mkdir -p "$work/arch-$ref"
	echo "${p#*:}" >"$work/arch-$ref/arch"
	fixtimes "$work/arch-$ref"
	tar -C "$work/arch-$ref" --numeric-owner --owner=0 --group=0 -cf "$work/arch-$ref.tar" arch
	umoci raw add-layer "$(hist)" --image "$m:latest" --tag "$ref" "$work/arch-$ref.tar"
done
mkdir multi-oci
helper multi "$m" multi-oci "$work/multi-refs"
for ref in amd64 arm64 armv7 armv6; do
	umoci unpack --image "$work/multi-refs:$ref" "ref-multi-$ref"
done
skc --all oci:multi-oci:latest oci-archive:multi-oci.tar:multi:latest
mkdir "$work/multi-v6"
helper multi "$m" "$work/multi-v6" "$work/multi-v6-refs" armv6,amd64
skc --all "oci:$work/multi-v6:latest" oci-archive:multi-v6-oci.tar:multi-v6:latest

# --- the list, checks, and the atomic rename ---
{
	printf 'oci\toci-dir\tlatest\tref-busybox\t-\n'
	for f in busybox-oci.tar busybox-gzip-oci.tar busybox-zstd-oci.tar busybox-plain-oci.tar \
		busybox-v2s2-oci.tar busybox-oci.tar.zst; do
		printf '%s\toci-archive\tbusybox:latest\tref-busybox\t-\n' "$f"
	done
	printf 'busybox-docker.tar\tdocker-archive\tdocker.io/library/busybox:latest\tref-busybox\t-\n'
	printf 'busybox-docker.tar.gz\tdocker-archive\tdocker.io/library/busybox:latest\tref-busybox\t-\n'
	printf 'busybox-docker-old.tar\tdocker-archive\tbusybox:latest\tref-busybox\t-\n'
	printf 'busybox-docker-new.tar\tdocker-archive\tbusybox:latest\tref-busybox\t-\n'
	printf 'layers-oci\toci-dir\tlatest\tref-layers\t-\n'
	printf 'layers-oci.tar\toci-archive\tlayers:latest\tref-layers\t-\n'
	printf 'layers-zstd-oci.tar\toci-archive\tlayers:latest\tref-layers\t-\n'
	printf 'layers-docker.tar\tdocker-archive\tdocker.io/library/layers:latest\tref-layers\t-\n'
	printf 'layers-docker-old.tar\tdocker-archive\tlayers:latest\tref-layers\t-\n'
	for p in amd64:linux/amd64 arm64:linux/arm64 armv7:linux/arm/v7 armv6:linux/arm/v6 \
		armv7:linux/arm/v8; do
		printf 'multi-oci\toci-dir\tlatest\tref-multi-%s\t%s\n' "${p%%:*}" "${p#*:}"
		printf 'multi-oci.tar\toci-archive\tmulti:latest\tref-multi-%s\t%s\n' "${p%%:*}" "${p#*:}"
	done
	for p in amd64:linux/amd64 armv6:linux/arm/v6 armv6:linux/arm/v7 armv6:linux/arm/v8; do
		printf 'multi-v6-oci.tar\toci-archive\tmulti-v6:latest\tref-multi-%s\t%s\n' \
			"${p%%:*}" "${p#*:}"
	done
} >"$tmp/fixtures.list.tmp"

# Sanity checks: the fixtures are what they claim to be.
check() { "$@" || die "check failed: $*"; }
idx() { tar -xOf "$1" index.json; }
blobof() { tar -xOf "$1" "blobs/sha256/$(echo "$2" | cut -d: -f2)"; }
firstman() { blobof "$1" "$(idx "$1" | jq -r '.manifests[0].digest')"; }
check [ "$(firstman busybox-zstd-oci.tar | jq -r '.layers[0].mediaType')" = \
	application/vnd.oci.image.layer.v1.tar+zstd ]
check [ "$(firstman layers-zstd-oci.tar | jq -r '[.layers[].mediaType] | unique | .[]')" = \
	application/vnd.oci.image.layer.v1.tar+zstd ]
check [ "$(firstman busybox-gzip-oci.tar | jq -r '.layers[0].mediaType')" = \
	application/vnd.oci.image.layer.v1.tar+gzip ]
check [ "$(firstman busybox-plain-oci.tar | jq -r '.layers[0].mediaType')" = \
	application/vnd.oci.image.layer.v1.tar ]
check [ "$(firstman busybox-v2s2-oci.tar | jq -r '.layers[0].mediaType')" = \
	application/vnd.docker.image.rootfs.diff.tar.gzip ]
check [ "$(tar -tf busybox-docker-old.tar | tail -2 | head -1)" = manifest.json ]
check [ "$(tar -xOf busybox-docker-old.tar manifest.json | jq -r '.[0].Layers[0]' | cut -d/ -f2)" = layer.tar ]
check [ "$(tar -tf busybox-docker-new.tar | grep -c -e '^index.json$' -e '^manifest.json$' -e '^oci-layout$')" = 3 ]
check [ "$(jq -r '.manifests[0].mediaType' multi-oci/index.json)" = \
	application/vnd.oci.image.index.v1+json ]
check [ "$(blobof multi-oci.tar "$(idx multi-oci.tar | jq -r '.manifests[0].digest')" |
	jq '.manifests | length')" = 6 ]
check [ "$(cat ref-multi-armv7/rootfs/arch)" = linux/arm/v7 ]
check [ "$(blobof multi-v6-oci.tar "$(idx multi-v6-oci.tar | jq -r '.manifests[0].digest')" |
	jq -c '[.manifests[].platform.variant]')" = '["v6",null]' ]
check [ "$(tar -xOf busybox-docker.tar manifest.json | jq -r '.[0].RepoTags[0]')" = \
	docker.io/library/busybox:latest ]
check [ "$(tar -tvf busybox-docker.tar | grep -c '/layer.tar -> ')" = 1 ]
check [ ! -e ref-layers/rootfs/etc/removed-file ]
check [ -f ref-layers/rootfs/opt/dir/c ]
check [ -f ref-layers/rootfs/opt/dir/d ]
check [ ! -e ref-layers/rootfs/opt/dir/a ]
check [ -L ref-layers/rootfs/opt/file-to-symlink ]
check [ -f ref-layers/rootfs/opt/dir-to-file ]
check [ ! -e ref-layers/rootfs/opt/gone-dir ]
check [ -f ref-layers/rootfs/opt/ins-opaque/new1 ]
check [ ! -e ref-layers/rootfs/opt/ins-opaque/old1 ]
check [ ! -e ref-layers/rootfs/opt/ins-gone ]
check [ ! -e ref-layers/rootfs/opt/repack-gone ]
check [ "$(stat -c %a ref-layers/rootfs/opt/repack-mode)" = 700 ]
check [ "$(stat -c %a ref-busybox/rootfs/usr/bin/suid-prog)" = 4755 ]
check [ "$(stat -c %a ref-busybox/rootfs/tmp)" = 1777 ]
check [ "$(stat -c %h ref-busybox/rootfs/etc/hard-a)" = 2 ]
check [ "$(stat -c %t,%T ref-busybox/rootfs/dev/null)" = 1,3 ]
check [ "$(getfattr --only-values -n user.test ref-busybox/rootfs/etc/xattr-file)" = 1 ]
check getfattr -n security.capability ref-busybox/rootfs/usr/bin/cap-prog >/dev/null 2>&1

rm -rf "$work"
mv fixtures.list.tmp fixtures.list
sync -f "$tmp" 2>/dev/null || true
cd /
mv -T "$tmp" "$out"
trap - EXIT
log "built in $(($(date +%s) - start)) s"
echo "$out"
