#!/usr/bin/env python3
"""hostile.py: make a corpus of hostile image archives for minirun's load tests.

Usage:
  hostile.py [--compression gzip|zstd|none] [--no-populate] SENTINEL OUTDIR
  hostile.py --restore-sentinel SENTINEL OUTDIR
                               empty SENTINEL and fill it again with the secret of
                               OUTDIR (after a case changed it; take a new snapshot)
  hostile.py --list            print the cases (name, expect, match, description)

SENTINEL is a folder the test made under /tmp (or $TMPDIR), e.g.
/tmp/minirun-test.XXXX/sentinel: every hostile path aims at it, so nothing real
is ever at risk. Absolute targets are SENTINEL itself; relative escapes are
40 times "../" followed by SENTINEL without its leading "/" (which reaches
SENTINEL from any folder less than 40 levels deep). Unless --no-populate, the
SENTINEL is filled with:
  canary          a file holding the secret (mode 0644)
  dir/            a folder (mode 0755) holding dir/inner (the secret too)
all with mtime 1700000000. The secret, a random string, is written to
OUTDIR/secret: it must never appear in the store (a read escape).

OUTDIR receives, for each case of an entry in a layer ("layer" cases):
  <case>.oci.tar      oci-archive (layers compressed as --compression, default gzip)
  <case>.docker.tar   docker-archive (manifest.json + <config>.json + <diffid>.tar,
                      manifest.json last), uncompressed layers
and for each case of the archive itself ("archive" cases) one <case>.tar. Every
digest and diff_id is correct unless the case is about a wrong one, so the
hostility is only what the case says. The image name is hostile-<case>:latest.
OUTDIR/cases.tsv lists one line per file, tab-separated:
  FILE  CASE  EXPECT  MATCH  DESCRIPTION
EXPECT:
  reject   load must fail; stderr must contain MATCH (the entry or blob); the
           store must be unchanged
  either   load may fail (then stderr contains MATCH) or succeed with everything
           inside the image; in both cases nothing outside the store changed
           (compare SENTINEL with `treecmp.py --strict` against a snapshot taken
           before, and grep the store for the secret). When it succeeds, `image
           unpack` (the flattened tree) must be contained too: several cases are
           only dangerous when a layer is applied over an earlier one.
  accept   valid archives written in an unusual way: load must succeed
MATCH is a substring the error message must contain (the entry's name, or the
first 12 hex digits of the blob's digest); "a|b" means either; "-" means no
particular text (e.g. a truncated stream has no entry to name).
Run every load under `timeout`: a few cases (fifo-then-file, deep nesting)
hang or crash careless extractors. The archive cases can also be loaded as OCI
layout folders (`tar -xf CASE.tar -C DIR; minirun load --dir DIR`), where a
digest used as a path would reach the disk: the expectations are the same.
`hostile.py --list` prints every case with its expectation.

For reference, what other tools do with this corpus (bookworm): GNU tar 1.34
accepts sparse entries, applies a global pax path to the next entry, rejects
the unpadded last entry (umoci's own output) and silently accepts a header cut
short; umoci 0.4.7 contains every escape here, refuses the symlink named "."
("malicious tar entry") and accepts pax sparse files.
"""
import gzip
import hashlib
import io
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys

EPOCH = 1700000000
UP = '../' * 40

# ---------------------------------------------------------------- raw tar ----


def octal(n, width):
    """A NUL-terminated octal field, as GNU tar and Go write it."""
    s = ('%o' % n).encode()
    if len(s) > width - 1:
        raise ValueError('octal field too small')
    return s.rjust(width - 1, b'0') + b'\0'


def base256(n, width):
    """GNU base-256 numeric field (first byte 0x80, or 0xff for negative)."""
    if n < 0:
        b = (n + (1 << (8 * width))).to_bytes(width, 'big')
        return b'\xff' + b[1:]
    return b'\x80' + n.to_bytes(width - 1, 'big')


def header(name, typ=b'0', size=0, mode=0o644, uid=0, gid=0, mtime=EPOCH, linkname='',
           devmajor=0, devminor=0, gnu=False, size_field=None, bad_checksum=False,
           extra=None):
    """One 512-byte tar header. name/linkname: str or bytes, at most 100 bytes."""
    if isinstance(name, str):
        name = name.encode('utf-8', 'surrogateescape')
    if isinstance(linkname, str):
        linkname = linkname.encode('utf-8', 'surrogateescape')
    if len(name) > 100 or len(linkname) > 100:
        raise ValueError('name too long for a plain header: %r' % name)
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = octal(mode, 8)
    h[108:116] = octal(uid, 8)
    h[116:124] = octal(gid, 8)
    h[124:136] = size_field if size_field is not None else octal(size, 12)
    h[136:148] = octal(mtime, 12)
    h[156:157] = typ
    h[157:157 + len(linkname)] = linkname
    if gnu:
        h[257:265] = b'ustar  \0'
    else:
        h[257:265] = b'ustar\x0000'
    h[329:337] = octal(devmajor, 8)
    h[337:345] = octal(devminor, 8)
    if extra:
        for off, data in extra:
            h[off:off + len(data)] = data
    h[148:156] = b' ' * 8
    s = sum(h)
    if bad_checksum:
        s += 1
    h[148:156] = ('%06o' % s).encode() + b'\0 '
    return bytes(h)


def pad(data):
    return data + b'\0' * (-len(data) % 512)


def ustar_split(name):
    """(prefix, name) for the ustar prefix field, or None if it cannot hold name."""
    for i in range(len(name) - 1, 0, -1):
        if name[i:i + 1] == b'/' and i <= 155 and len(name) - i - 1 <= 100 and i < len(name) - 1:
            return name[:i], name[i + 1:]
    return None


def entry(name, data=b'', typ=b'0', linkname='', **kw):
    """Header (plus data, padded) of one entry. A name over 100 bytes goes into the
    ustar prefix field when it can, else into a pax header; a long link name into
    a pax header."""
    if isinstance(data, str):
        data = data.encode()
    if isinstance(name, str):
        name = name.encode('utf-8', 'surrogateescape')
    if isinstance(linkname, str):
        linkname = linkname.encode('utf-8', 'surrogateescape')
    pre = b''
    extra = []
    records = []
    if len(name) > 100:
        sp = ustar_split(name)
        if sp:
            extra = [(345, sp[0])]
            name = sp[1]
        else:
            records.append(('path', name))
            name = name[-100:]
    if len(linkname) > 100:
        records.append(('linkpath', linkname))
        linkname = linkname[:100]
    if records:
        pre = pax(records)
    has_data = typ in (b'0', b'7')
    return pre + header(name, typ=typ, size=len(data) if has_data else 0, linkname=linkname,
                        extra=extra or None, **kw) + (pad(data) if has_data else b'')


def f(name, data='x\n', **kw):
    return entry(name, data, b'0', **kw)


def d(name, mode=0o755, **kw):
    return entry(name, b'', b'5', mode=mode, **kw)


def sym(name, target, **kw):
    kw.setdefault('mode', 0o777)
    return entry(name, b'', b'2', linkname=target, **kw)


def hard(name, target, **kw):
    return entry(name, b'', b'1', linkname=target, **kw)


def pax_record(key, value):
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode('utf-8', 'surrogateescape')
    body = b' ' + key + b'=' + value + b'\n'
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n = len(str(n).encode()) + len(body)
    return str(n).encode() + body


def pax(records, name='PaxHeaders/x', raw=None, typ=b'x'):
    """A pax extended header ('x': for the next entry; 'g': global)."""
    data = raw if raw is not None else b''.join(pax_record(k, v) for k, v in records)
    return header(name, typ=typ, size=len(data)) + pad(data)


def gnu_long(typ, value):
    """GNU ././@LongLink entry: typ b'L' (long name) or b'K' (long link name)."""
    if isinstance(value, str):
        value = value.encode('utf-8', 'surrogateescape')
    data = value + b'\0'
    return header('././@LongLink', typ=typ, size=len(data), mode=0o644, mtime=0,
                  gnu=True) + pad(data)


EOF = b'\0' * 1024

# ------------------------------------------------------------ image forms ----


def sha(b):
    return hashlib.sha256(b).hexdigest()


def dumps(o):
    return json.dumps(o, separators=(',', ':')).encode()


def host_arch():
    m = platform.machine()
    return {'x86_64': 'amd64', 'aarch64': 'arm64', 'armv7l': 'arm', 'armv6l': 'arm',
            'i686': '386', 'mips': 'mips', 'mipsel': 'mipsle', 'riscv64': 'riscv64',
            'ppc64le': 'ppc64le', 's390x': 's390x'}.get(m, m)


def config_for(diffs):
    return dumps({'created': '2023-11-14T22:13:20Z', 'architecture': host_arch(),
                  'os': 'linux', 'config': {'Cmd': ['sh']},
                  'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + x for x in diffs]}})


def outer_tar(files):
    """An archive file: files is a list of (name, bytes or None for a folder, or
    ('symlink', target))."""
    out = io.BytesIO()
    for name, data in files:
        if data is None:
            out.write(d(name))
        elif isinstance(data, tuple):
            out.write(sym(name, data[1]))
        else:
            out.write(f(name, data))
    out.write(EOF)
    return out.getvalue()


def compress(data, how):
    if how == 'gzip':
        return gzip.compress(data, mtime=0), 'application/vnd.oci.image.layer.v1.tar+gzip'
    if how == 'zstd':
        z = subprocess.run(['zstd', '-q', '-c'], input=data, stdout=subprocess.PIPE,
                           check=True).stdout
        return z, 'application/vnd.oci.image.layer.v1.tar+zstd'
    return data, 'application/vnd.oci.image.layer.v1.tar'


class Oci:
    """An oci-archive being built; each step can be spoiled by a case."""

    def __init__(self, name, layers, how):
        self.name = name
        self.blobs = {}
        self.diffs = [sha(l) for l in layers]
        self.layers = []
        for l in layers:
            blob, mt = compress(l, how)
            self.blobs[sha(blob)] = blob
            self.layers.append({'mediaType': mt, 'digest': 'sha256:' + sha(blob),
                                'size': len(blob)})
        self.config = config_for(self.diffs)
        self.extra = []

    def manifest(self):
        return dumps({'schemaVersion': 2,
                      'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                      'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',
                                 'digest': 'sha256:' + sha(self.config),
                                 'size': len(self.config)},
                      'layers': self.layers})

    def index(self, man):
        return dumps({'schemaVersion': 2, 'manifests': [{
            'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'digest': 'sha256:' + sha(man), 'size': len(man),
            'annotations': {'org.opencontainers.image.ref.name': self.name + ':latest'}}]})

    def files(self, man=None, index=None):
        man = man if man is not None else self.manifest()
        blobs = dict(self.blobs)
        blobs[sha(self.config)] = self.config
        blobs[sha(man)] = man
        index = index if index is not None else self.index(man)
        fl = [('blobs/', None), ('blobs/sha256/', None)]
        fl += [('blobs/sha256/' + k, v) for k, v in sorted(blobs.items())]
        fl += [('index.json', index), ('oci-layout', b'{"imageLayoutVersion":"1.0.0"}')]
        return fl + self.extra


def docker_files(name, layers, config=None, manifest=None, layer_names=None):
    diffs = [sha(l) for l in layers]
    config = config if config is not None else config_for(diffs)
    names = layer_names or [x + '.tar' for x in diffs]
    fl = [(n, l) for n, l in zip(names, layers)]
    fl.append((sha(config) + '.json', config))
    if manifest is None:
        manifest = [{'Config': sha(config) + '.json', 'RepoTags': [name + ':latest'],
                     'Layers': names}]
    fl.append(('manifest.json', dumps(manifest)))
    return fl

# ------------------------------------------------------------------ cases ----


def sparse_old_gnu(name):
    """GNU old sparse entry (typeflag S): 1 MiB file, one 512-byte data chunk."""
    real = 1 << 20
    sp = bytearray(12 * 8 + 1 + 12)
    sp[0:12] = octal(0, 12)          # chunk offset
    sp[12:24] = octal(512, 12)       # chunk size
    sp[97:109] = octal(real, 12)     # real size (isextended at 96 stays 0)
    return header(name, typ=b'S', size=512, gnu=True, extra=[(386, bytes(sp))]) + \
        pad(b's' * 512)


def sparse_pax_1_0(name):
    """GNU pax sparse format 1.0: map in the data, real name in GNU.sparse.name."""
    sparse_map = pad(b'1\n0\n512\n')
    data = sparse_map + pad(b's' * 512)
    return pax([('GNU.sparse.major', '1'), ('GNU.sparse.minor', '0'),
                ('GNU.sparse.name', name), ('GNU.sparse.realsize', str(1 << 20))]) + \
        header('GNUSparseFile.0/' + name, size=len(data)) + data


def layer_cases(S):
    """(name, expect, match, description, [layer bytes...]) for entries in layers."""
    s = S.lstrip('/')
    cases = []

    def add(name, expect, match, desc, *layers):
        cases.append((name, expect, match, desc, [l + EOF for l in layers]))

    add('dotdot-file', 'either', 'escape-dotdot',
        'regular file 40x"../" + SENTINEL/escape-dotdot (name in the ustar prefix field '
        'when it fits, else pax path)',
        f(UP + s + '/escape-dotdot', 'pwned\n'))
    add('dotdot-short', 'either', 'escape-short',
        'regular file ../../escape-short in a plain ustar name (lands beside the layer '
        'folder if not contained)',
        f('../../escape-short', 'pwned\n'))
    add('dotdot-middle', 'either', 'escape-mid',
        'file "a/" + 40x"../" + SENTINEL/escape-mid (pax path), after a folder a/',
        d('a/') + pax([('path', 'a/' + UP + s + '/escape-mid')]) + f('escape-mid', 'pwned\n'))
    add('dotdot-dir', 'either', '..', 'folder entries "../" and ".." with mode 0777',
        d('../', mode=0o777) + d('..', mode=0o777) + f('after', 'ok\n'))
    add('abs-file', 'either', 'escape-abs',
        'absolute path SENTINEL/escape-abs (Docker strips the "/": it must land inside)',
        f(S + '/escape-abs', 'pwned\n'))
    add('abs-dir-chmod', 'either', 'dir',
        'absolute folder entry SENTINEL/dir/ with mode 0777, uid 1234 (chmod/chown outside)',
        d(S + '/dir/', mode=0o777, uid=1234))
    add('symlink-root-then-file', 'either', 'evil',
        'symlink evil -> / then file evil/<SENTINEL>/pwned',
        sym('evil', '/') + f('evil/' + s + '/pwned', 'pwned\n'))
    add('symlink-abs-then-file', 'either', 'evil',
        'symlink evil -> SENTINEL then file evil/pwned and folder evil/newdir/',
        sym('evil', S) + f('evil/pwned', 'pwned\n') + d('evil/newdir/'))
    add('symlink-rel-then-file', 'either', 'evil',
        'symlink evil -> 40x"../" + SENTINEL (pax linkpath) then file evil/pwned',
        sym('evil', UP + s) + f('evil/pwned', 'pwned\n'))
    add('symlink-then-file-same-name', 'either', 'link',
        'symlink link -> SENTINEL/canary then regular file link (must replace the '
        'symlink, not write through it)',
        sym('link', S + '/canary') + f('link', 'pwned\n'))
    add('symlink-then-dir-same-name', 'either', 'link',
        'symlink link -> SENTINEL/dir then folder link/ mode 0777 (chmod through it)',
        sym('link', S + '/dir') + d('link/', mode=0o777))
    add('symlink-then-hardlink-through', 'either', 'h',
        'symlink evil -> SENTINEL then hardlink h -> evil/canary',
        sym('evil', S) + hard('h', 'evil/canary'))
    add('symlink-xattr', 'either', 'link',
        'symlink link -> SENTINEL/canary with xattr user.pwned=1 (lsetxattr, not setxattr)',
        pax([('SCHILY.xattr.user.pwned', '1')]) + sym('link', S + '/canary'))
    add('symlink-mtime-owner', 'either', 'link',
        'symlink link -> SENTINEL/canary with mtime 1, uid/gid 1234, mode 0600 (lutimes, '
        'lchown; never utimes, chown, chmod)',
        sym('link', S + '/canary', mtime=1, uid=1234, gid=1234, mode=0o600))
    add('symlink-layer1-parent-layer2', 'either', 'evil',
        'layer 1: symlink evil -> SENTINEL; layer 2: folder evil/, file evil/pwned, '
        'folder evil/newdir/ (harmless per layer, dangerous when flattened)',
        sym('evil', S),
        d('evil/') + f('evil/pwned', 'pwned\n') + d('evil/newdir/'))
    add('symlink-layer1-rel-parent-layer2', 'either', 'evil',
        'layer 1: symlink evil -> 40x"../" + SENTINEL; layer 2: file evil/pwned (no folder '
        'entry)',
        sym('evil', UP + s),
        f('evil/pwned', 'pwned\n'))
    add('symlink-layer1-file-layer2', 'either', 'link',
        'layer 1: symlink link -> SENTINEL/canary; layer 2: regular file link',
        sym('link', S + '/canary'),
        f('link', 'pwned\n'))
    add('symlink-layer1-hardlink-layer2', 'either', 'h',
        'layer 1: symlink evil -> SENTINEL; layer 2: hardlink h -> evil/canary',
        sym('evil', S),
        hard('h', 'evil/canary'))
    add('whiteout-through-symlink', 'either', 'evil',
        'layer 1: symlink evil -> SENTINEL; layer 2: evil/.wh.canary (deletes through it '
        'when flattened)',
        sym('evil', S),
        f('evil/.wh.canary', ''))
    add('opaque-through-symlink', 'either', 'evil',
        'layer 1: symlink evil -> SENTINEL; layer 2: evil/.wh..wh..opq (empties SENTINEL '
        'when flattened)',
        sym('evil', S),
        f('evil/.wh..wh..opq', ''))
    add('whiteout-through-symlink-same-layer', 'either', 'evil',
        'one layer: symlink evil -> SENTINEL, then evil/.wh.canary and evil/.wh..wh..opq',
        sym('evil', S) + f('evil/.wh.canary', '') + f('evil/.wh..wh..opq', ''))
    add('hardlink-dotdot', 'either', 'h', 'hardlink h -> 40x"../" + SENTINEL/canary',
        hard('h', UP + s + '/canary'))
    add('hardlink-abs', 'either', 'h', 'hardlink h -> SENTINEL/canary (absolute)',
        hard('h', S + '/canary'))
    add('hardlink-abs-then-write', 'either', 'h',
        'hardlink h -> SENTINEL/canary, then regular file h (writes the canary if the '
        'link was made and the file opened without unlinking)',
        hard('h', S + '/canary') + f('h', 'pwned\n'))
    add('hardlink-abs-then-chmod', 'either', 'h',
        'hardlink h -> SENTINEL/canary, then folder entry h/ with mode 0777',
        hard('h', S + '/canary') + d('h/', mode=0o777))
    add('hardlink-gnu-longlink', 'either', 'h',
        'hardlink h with a GNU long link name (K) 40x"../" + SENTINEL/canary',
        gnu_long(b'K', UP + s + '/canary') + hard('h', 'x', gnu=True))
    add('hardlink-missing', 'reject', 'h', 'hardlink h -> nonexistent (target not in layer)',
        hard('h', 'nonexistent'))
    add('hardlink-to-dir', 'reject', 'h', 'hardlink h -> folder bin',
        d('bin/') + hard('h', 'bin'))
    add('hardlink-self', 'reject', 'h', 'hardlink h -> h', hard('h', 'h'))
    add('hardlink-to-symlink', 'either', 'h',
        'symlink s -> SENTINEL/canary, hardlink h -> s, then file h (the link is to the '
        'symlink itself; nothing may follow it)',
        sym('s', S + '/canary') + hard('h', 's') + f('h', 'pwned\n'))
    add('symlink-dot', 'either', '.',
        'symlink named "." -> SENTINEL, then file pwned-after-dot',
        sym('.', S) + f('pwned-after-dot', 'pwned\n'))
    add('symlink-dot-slash', 'either', 'entry .',
        'symlink named "./" -> SENTINEL, then file ./pwned-after-dot',
        sym('./', S) + f('./pwned-after-dot', 'pwned\n'))
    add('symlink-slash', 'either', '/',
        'symlink named "/" -> SENTINEL, then file /pwned-after-slash',
        sym('/', S) + f('/pwned-after-slash', 'pwned\n'))
    add('dot-slash-entries', 'accept', '-',
        'GNU tar style: ./ (0755), ./etc/, ./etc/file, ./bin/./x, etc//double; valid',
        d('./') + d('./etc/') + f('./etc/file', 'ok\n') + d('./bin/') + f('./bin/./x', 'x\n') +
        f('etc//double', 'ok\n'))
    add('dup-type-change', 'either', 'x',
        'x as file, then folder x/, then symlink x -> SENTINEL, then file x/pwned',
        f('x', 'file\n') + d('x/') + sym('x', S) + f('x/pwned', 'pwned\n'))
    add('dup-dir-to-file-to-symlink', 'either', 'dd',
        'folder dd/ with dd/child, then file dd, then symlink dd -> SENTINEL/dir, then '
        'file dd/inner',
        d('dd/') + f('dd/child', 'c\n') + f('dd', 'file\n') + sym('dd', S + '/dir') +
        f('dd/inner', 'pwned\n'))
    add('fifo-then-file', 'either', 'ff',
        'FIFO ff, then regular file ff (an extractor opening the FIFO for writing hangs)',
        entry('ff', typ=b'6') + f('ff', 'data\n'))
    add('whiteout-dotdot', 'either', '.wh...',
        'whiteout sub/.wh... (hides "..", the root)', d('sub/') + f('sub/.wh...', ''))
    add('whiteout-dot', 'either', '.wh..',
        'whiteout sub/.wh.. (hides ".", sub itself)', d('sub/') + f('sub/.wh..', ''))
    add('whiteout-empty', 'either', '.wh.', 'whiteout sub/.wh. (empty name)',
        d('sub/') + f('sub/.wh.', ''))
    add('whiteout-escape', 'either', '.wh.canary',
        'whiteout 40x"../" + SENTINEL/.wh.canary', f(UP + s + '/.wh.canary', ''))
    add('whiteout-abs', 'either', '.wh.canary', 'whiteout SENTINEL/.wh.canary (absolute)',
        f(S + '/.wh.canary', ''))
    add('whiteout-dotdot-name', 'either', '.wh.',
        'whiteout with a path after the name: sub/.wh.../../x', d('sub/') +
        f('sub/.wh.../../x', ''))
    add('opaque-escape', 'either', '.wh..wh..opq',
        'opaque marker 40x"../" + SENTINEL/.wh..wh..opq (empties SENTINEL if applied there)',
        f(UP + s + '/.wh..wh..opq', ''))
    add('device-nodes', 'either', 'dev',
        'char device dev/mem-like (1,1) and block device dev/sda-like (8,0), mode 0666',
        d('dev/') + entry('dev/mem-like', typ=b'3', mode=0o666, devmajor=1, devminor=1) +
        entry('dev/sda-like', typ=b'4', mode=0o666, devmajor=8, devminor=0))
    add('device-then-write', 'either', 'dev',
        'char device dev/full-like (1,7), then a regular file with the same name',
        d('dev/') + entry('dev/full-like', typ=b'3', mode=0o666, devmajor=1, devminor=7) +
        f('dev/full-like', 'data\n'))
    add('sparse-gnu', 'reject', 'sparse-file', 'GNU old sparse entry (type S) sparse-file',
        sparse_old_gnu('sparse-file'))
    add('sparse-pax', 'reject', 'pax-sparse-file',
        'GNU pax sparse 1.0 (GNU.sparse.* records) for pax-sparse-file',
        sparse_pax_1_0('pax-sparse-file'))
    add('pax-path-dotdot', 'either', 'pax-escape',
        'pax path 40x"../" + SENTINEL/pax-escape over a harmless ustar name',
        pax([('path', UP + s + '/pax-escape')]) + f('benign-pax', 'pwned\n'))
    add('pax-global-path', 'either', '-',
        'pax global header (g) with path= pointing outside, then a normal file',
        pax([('path', UP + s + '/global-escape')], typ=b'g', name='pax_global_header') +
        f('normal', 'ok\n'))
    add('pax-nul-in-path', 'either', 'nul',
        'pax path "nul" NUL "/../..(40x)/SENTINEL/nul-escape" (NUL byte inside)',
        pax([('path', b'nul\0/' + UP.encode() + s.encode() + b'/nul-escape')]) +
        f('nul', 'x\n'))
    add('pax-bad-record', 'reject', '-', 'pax header whose record length is wrong',
        pax(None, raw=b'99 path=x\n') + f('after-bad-pax', 'x\n'))
    add('pax-overlay-xattr', 'either', 'fake',
        'folder fake/ carrying trusted.overlay.opaque=y and trusted.overlay.redirect '
        '(storage xattrs must never come from an archive)',
        pax([('SCHILY.xattr.trusted.overlay.opaque', 'y'),
             ('SCHILY.xattr.trusted.overlay.redirect', '/' + s)]) + d('fake/') +
        f('fake/kept', 'k\n'))
    add('gnu-longname-escape', 'either', 'gnu-long-escape',
        'GNU long name (L) 40x"../" + SENTINEL/gnu-long-escape',
        gnu_long(b'L', UP + s + '/gnu-long-escape') + f('short', 'pwned\n', gnu=True))
    add('huge-size', 'reject', 'huge', 'file "huge" with base-256 size 2^62 and 512 bytes',
        header('huge', size_field=base256(1 << 62, 12)) + b'x' * 512)
    add('huge-size-octal', 'reject', 'huge8g',
        'file "huge8g" with octal size 8 GiB - 1, archive ends after 1 KiB of data',
        header('huge8g', size_field=octal(8 * 1024**3 - 1, 12)) + b'y' * 1024)
    add('negative-size', 'reject', 'negsize', 'file "negsize" with base-256 size -1',
        header('negsize', size_field=base256(-1, 12)))
    add('bad-checksum', 'reject', '-', 'second header with a wrong checksum (file badsum)',
        f('good', 'ok\n') + header('badsum', size=3, bad_checksum=True) + pad(b'no\n'))
    add('deep-path', 'either', '-',
        'a file 3000 folders deep (pax path of 6004 bytes, over PATH_MAX) with implicit '
        'parents, and one folder entry 1500 deep',
        pax([('path', 'a/' * 1500)]) + d('a/') +
        pax([('path', 'a/' * 3000 + 'leaf')]) + f('leaf', 'leaf\n'))
    add('long-symlink-target', 'either', 'longtarget',
        'symlink longtarget with a 5000-byte target (PATH_MAX is 4096)',
        sym('longtarget', 'x' * 5000))
    return cases


def raw_layer_cases():
    """Cases whose layer bytes are not a well-formed archive with end blocks."""
    body = f('first', 'ok\n') + f('truncated-file', 'z' * 2000)
    return [
        ('truncated-data', 'reject', '-',
         'archive cut in the middle of the data of truncated-file', [body[:2536]]),
        ('truncated-header', 'reject', '-',
         'archive cut 300 bytes into the second header', [body[:1024 + 300]]),
        ('no-eof-blocks', 'accept', '-',
         'valid entries, no end-of-archive blocks (as umoci insert writes)',
         [f('a', 'a\n') + f('b', 'b\n')]),
        ('unpadded-last', 'accept', '-',
         'last file data not padded to 512 bytes, no end blocks (as umoci insert writes)',
         [f('a', 'a\n') + header('b', size=2) + b'b\n']),
        ('garbage-after-eof', 'accept', '-',
         'junk after the end-of-archive blocks (a tar reader stops at the end blocks)',
         [f('a', 'a\n') + EOF + b'junk' * 300]),
    ]


def archive_cases(S, how):
    """(name, expect, match, description, files of the archive)."""
    s = S.lstrip('/')
    layer = f('file', 'content\n') + EOF
    out = []

    def add(name, expect, match, desc, files):
        out.append((name, expect, match, desc, files))

    def replace(files, name, data):
        return [(n, data if n == name else v) for n, v in files]

    def oci(layers=None, h=how):
        return Oci('hostile-x', layers or [layer], h)

    o = oci()
    dg = o.layers[0]['digest'][7:]
    blob = bytearray(o.blobs[dg])
    blob[len(blob) // 2] ^= 0x01
    add('layer-digest-mismatch', 'reject', dg[:12],
        'oci-archive whose layer blob was altered after the manifest was made (one bit)',
        replace(o.files(), 'blobs/sha256/' + dg, bytes(blob)))

    o = oci()
    dg = o.layers[0]['digest'][7:]
    o.config = dumps({'architecture': host_arch(), 'os': 'linux', 'config': {},
                      'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + '0' * 64]}})
    add('diffid-mismatch', 'reject', dg[:12] + '|' + sha(layer)[:12] + '|' + '0' * 12,
        'oci-archive, blob digests right, diff_id in the config wrong', o.files())

    o = oci()
    cd = sha(o.config)
    add('config-digest-mismatch', 'reject', cd[:12],
        'oci-archive whose config blob does not match its digest',
        replace(o.files(), 'blobs/sha256/' + cd, o.config.replace(b'"sh"', b'"rm"')))

    o = oci()
    man = o.manifest()
    add('manifest-digest-mismatch', 'reject', sha(man)[:12],
        'oci-archive whose manifest blob does not match the digest in index.json',
        replace(o.files(), 'blobs/sha256/' + sha(man),
                man.replace(b'"schemaVersion":2', b'"schemaVersion": 2')))

    o = oci()
    man = o.manifest()
    idx = json.loads(o.index(man))
    idx['manifests'][0]['digest'] = 'sha256:' + UP + s + '/canary'
    add('index-digest-path', 'reject', '-',
        'index.json digest "sha256:" + 40x"../" + SENTINEL/canary (a digest used as a path)',
        o.files(index=dumps(idx)))

    o = oci()
    o.layers[0]['digest'] = 'sha256:' + UP + s + '/canary'
    add('layer-digest-path', 'reject', '-',
        'manifest layer digest "sha256:" + 40x"../" + SENTINEL/canary', o.files())

    o = oci()
    o.layers[0]['digest'] = 'sha256:' + o.layers[0]['digest'][7:].upper()
    add('digest-uppercase', 'reject', '-', 'layer digest in upper-case hex', o.files())

    o = oci()
    dg = o.layers[0]['digest'][7:]
    o.layers[0]['digest'] = 'sha512:' + hashlib.sha512(o.blobs[dg]).hexdigest()
    add('digest-sha512', 'reject', 'sha512',
        'layer digest with the sha512 algorithm (unsupported: a clear error)', o.files())

    o = oci([layer, f('second', '2\n') + EOF])
    o.config = config_for(o.diffs[:1])
    add('layer-count-mismatch', 'reject', '-',
        'manifest with 2 layers, config with 1 diff_id', o.files())

    o = oci()
    o.layers[0]['mediaType'] = 'application/vnd.oci.image.layer.v1.tar+bzip2'
    add('mediatype-unknown', 'reject', 'bzip2',
        'layer media type ...tar+bzip2 (unsupported)', o.files())

    o = oci(h='zstd')
    o.layers[0]['mediaType'] = 'application/vnd.oci.image.layer.v1.tar+gzip'
    dg = o.layers[0]['digest'][7:]
    # containerd detects the compression by its magic bytes, and skopeo 1.9
    # writes mislabelled layers itself: the digest is what is verified.
    add('mediatype-lies', 'either', dg[:12] + '|gzip',
        'layer labelled tar+gzip holding zstd data (digests right)', o.files())

    o = oci(h='none')
    g = gzip.compress(layer, mtime=0)[:-20]
    o.blobs = {sha(g): g}
    o.layers[0].update(digest='sha256:' + sha(g), size=len(g),
                       mediaType='application/vnd.oci.image.layer.v1.tar+gzip')
    add('gzip-truncated', 'reject', sha(g)[:12] + '|gzip',
        'gzip layer stream cut short (digest of the cut stream: only gzip notices)',
        o.files())

    o = oci()
    o.layers[0]['size'] += 1
    add('size-mismatch', 'reject', '-',
        'manifest layer size one byte larger than the blob', o.files())

    o = oci()
    o.extra = [(UP + s + '/outer-escape', b'pwned\n'), (S + '/outer-abs', b'pwned\n'),
               ('blobs/sha256/../../' + UP + s + '/outer-blob', b'pwned\n')]
    add('outer-entry-escape', 'either', '-',
        'oci-archive with extra entries 40x"../" + SENTINEL/outer-escape, '
        'SENTINEL/outer-abs and blobs/sha256/../../...: never written anywhere', o.files())

    o = oci()
    dg = o.layers[0]['digest'][7:]
    add('outer-blob-symlink', 'reject', dg[:12],
        'oci-archive whose layer blob entry is a symlink to SENTINEL/canary',
        replace(o.files(), 'blobs/sha256/' + dg, ('symlink', S + '/canary')))

    o = oci()
    dg = o.layers[0]['digest'][7:]
    evil = oci([f('file', 'evil!!!\n') + EOF])
    add('outer-duplicate-blob', 'either', dg[:12],
        'oci-archive holding the layer blob twice, the second copy different: the image '
        'must end up with the content that matches the digest (file holds "content")',
        o.files() + [('blobs/sha256/' + dg, evil.blobs[evil.layers[0]['digest'][7:]])])

    o = oci()
    man = o.manifest()
    nested = man
    fl = o.files()
    for i in range(40):
        mt = 'application/vnd.oci.image.%s+json' % ('index.v1' if i else 'manifest.v1')
        nb = dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                    'manifests': [{'mediaType': mt, 'digest': 'sha256:' + sha(nested),
                                   'size': len(nested),
                                   'platform': {'architecture': host_arch(), 'os': 'linux'}}]})
        fl.insert(2, ('blobs/sha256/' + sha(nb), nb))
        nested = nb
    top = dumps({'schemaVersion': 2, 'manifests': [{
        'mediaType': 'application/vnd.oci.image.index.v1+json', 'digest': 'sha256:' + sha(nested),
        'size': len(nested),
        'annotations': {'org.opencontainers.image.ref.name': 'hostile-x:latest'}}]})
    add('index-nesting-deep', 'either', '-',
        'index.json -> 40 nested image indexes -> the manifest (a depth limit is fine)',
        replace(fl, 'index.json', top))

    o = oci()
    add('json-deep-nesting', 'reject', '-',
        'index.json made of 100000 nested arrays (must fail cleanly, no stack overflow)',
        o.files(index=b'[' * 100000 + b']' * 100000))

    # docker-archive cases
    cfg = config_for([sha(layer)])
    name = sha(layer) + '.tar'
    add('docker-diffid-mismatch', 'reject', sha(layer)[:12] + '|' + name,
        'docker-archive whose layer tar differs from the config diff_id',
        docker_files('hostile-x', [f('other', 'other\n') + EOF], config=cfg,
                     layer_names=[name]))
    add('docker-layer-path-escape', 'reject', '-',
        'manifest.json Layers entry 40x"../" + SENTINEL/canary',
        docker_files('hostile-x', [layer], manifest=[{
            'Config': sha(cfg) + '.json', 'RepoTags': ['hostile-x:latest'],
            'Layers': [UP + s + '/canary']}]))
    add('docker-config-path-abs', 'reject', '-',
        'manifest.json Config is the absolute path SENTINEL/canary',
        docker_files('hostile-x', [layer], manifest=[{
            'Config': S + '/canary', 'RepoTags': ['hostile-x:latest'], 'Layers': [name]}]))
    v1 = '0' * 64 + '/layer.tar'
    add('docker-layer-symlink-escape', 'reject', 'layer.tar',
        'docker-archive whose <id>/layer.tar is a symlink to 40x"../" + SENTINEL/canary '
        '(skopeo writes such symlinks, but to ../<diffid>.tar inside the archive)',
        replace(docker_files('hostile-x', [layer], layer_names=[v1]), v1,
                ('symlink', UP + s + '/canary')))
    # issue 16: a bad name loads the image untagged, with a warning naming it
    add('docker-repotag-invalid', 'accept', '-',
        'manifest.json RepoTags "../../evil:latest" and "UPPER:tag" (invalid names: '
        'loaded untagged)',
        docker_files('hostile-x', [layer], manifest=[{
            'Config': sha(cfg) + '.json', 'RepoTags': ['../../evil:latest', 'UPPER:tag'],
            'Layers': [name]}]))
    return out


def populate(S, secret=None):
    """Fill SENTINEL; with a secret given, first empty it (restore after a change)."""
    if secret:
        for n in os.listdir(S):
            p = os.path.join(S, n)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    else:
        secret = 'MINIRUN-SENTINEL-SECRET-' + secrets.token_hex(16)
    os.makedirs(os.path.join(S, 'dir'), exist_ok=True)
    for p in ('canary', 'dir/inner'):
        with open(os.path.join(S, p), 'w') as fh:
            fh.write(secret + '\n')
        os.chmod(os.path.join(S, p), 0o644)
        os.utime(os.path.join(S, p), (EPOCH, EPOCH))
    os.chmod(os.path.join(S, 'dir'), 0o755)
    os.utime(os.path.join(S, 'dir'), (EPOCH, EPOCH))
    os.utime(S, (EPOCH, EPOCH))
    return secret


def main(argv):
    how = 'gzip'
    do_populate = True
    listing = False
    restore = False
    args = []
    it = iter(argv)
    for a in it:
        if a == '--compression':
            how = next(it, '')
            if how not in ('gzip', 'zstd', 'none'):
                sys.exit('hostile: --compression gzip|zstd|none')
        elif a == '--no-populate':
            do_populate = False
        elif a == '--list':
            listing = True
        elif a == '--restore-sentinel':
            restore = True
        elif a in ('-h', '--help'):
            print(__doc__)
            return 0
        else:
            args.append(a)
    if listing:
        S = '/tmp/SENTINEL'
        for c in layer_cases(S) + raw_layer_cases() + archive_cases(S, 'none'):
            print('%s\t%s\t%s\t%s' % c[:4])
        return 0
    if len(args) != 2:
        sys.exit('usage: hostile.py [--compression gzip|zstd|none] [--no-populate] '
                 'SENTINEL OUTDIR (see --help)')
    S = os.path.realpath(args[0])
    out = args[1]
    tmps = {'/tmp'} | ({os.path.realpath(os.environ['TMPDIR'])} if os.environ.get('TMPDIR') else set())
    if not os.path.isdir(S) or not any(S.startswith(t.rstrip('/') + '/') for t in tmps):
        sys.exit('hostile: SENTINEL must be an existing folder under /tmp or $TMPDIR: ' + S)
    if len(UP + S) > 1000:
        sys.exit('hostile: SENTINEL path too long')
    if restore:
        with open(os.path.join(out, 'secret')) as fh:
            populate(S, fh.read().strip())
        return 0
    os.makedirs(out, exist_ok=True)
    if do_populate:
        secret = populate(S)
        with open(os.path.join(out, 'secret'), 'w') as fh:
            fh.write(secret + '\n')
    rows = []
    for name, expect, match, desc, layers in layer_cases(S) + raw_layer_cases():
        img = 'hostile-' + name
        fn = name + '.oci.tar'
        with open(os.path.join(out, fn), 'wb') as fh:
            fh.write(outer_tar(Oci(img, layers, how).files()))
        rows.append((fn, name, expect, match, desc))
        fn = name + '.docker.tar'
        with open(os.path.join(out, fn), 'wb') as fh:
            fh.write(outer_tar(docker_files(img, layers)))
        rows.append((fn, name, expect, match, desc))
    for name, expect, match, desc, files in archive_cases(S, how):
        fn = name + '.tar'
        files = [(n, v.replace(b'"hostile-x:', ('"hostile-%s:' % name).encode())
                  if n in ('index.json', 'manifest.json') else v) for n, v in files]
        with open(os.path.join(out, fn), 'wb') as fh:
            fh.write(outer_tar(files))
        rows.append((fn, name, expect, match, desc))
    with open(os.path.join(out, 'cases.tsv'), 'w') as fh:
        for r in rows:
            fh.write('\t'.join(x.replace('\t', ' ') for x in r) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
