#!/usr/bin/env python3
"""treecmp.py: compare two root filesystem trees entry by entry.

Usage:
  treecmp.py [options] A B       compare; A and B are folders or saved snapshots
  treecmp.py --save DIR FILE     write a snapshot of DIR into FILE (JSON lines)

Compared for every entry (never following symlinks, never opening devices or
FIFOs): path, type, permission bits including setuid/setgid/sticky, uid, gid,
size and sha256 of regular files, symlink target, device major/minor, and
xattrs except those that describe the storage rather than the image
(trusted.overlay.*, user.overlay.*, security.selinux; add more with
--exclude-xattr). Directory sizes are never compared.

Options:
  --mtime          also compare mtimes, in whole seconds (tar's precision)
  --mtime-ns       also compare mtimes to the nanosecond
  --mtime-skip-dirs  with --mtime: not for directories
  --hardlinks      also compare hard link grouping (which paths share an inode)
  --strict         --mtime-ns --hardlinks, plus ctime and link counts: for
                   checking that a folder outside a store was not touched at all
                   (compare a snapshot saved before with the folder after)
  --skip-root      do not compare the top folder itself
  --ignore PATH    ignore PATH and everything below it (relative, e.g. etc/hostname;
                   repeatable)
  --exclude-xattr PREFIX  ignore xattrs whose name starts with PREFIX (repeatable)
  --max-diffs N    print at most N differences (default 200; 0: no limit)
  -q, --quiet      print nothing, only the exit status

Output: one line per difference on stdout, e.g.
  etc/passwd: mode 0644 != 0600
  only in B: opt/extra (file)
and a summary on stderr. Exit status: 0 same, 1 different, 2 usage or I/O error.
"""
import hashlib
import json
import os
import stat
import sys

DEFAULT_XATTR_EXCLUDES = ('trusted.overlay.', 'user.overlay.', 'security.selinux')

TYPES = {stat.S_IFREG: 'file', stat.S_IFDIR: 'dir', stat.S_IFLNK: 'symlink',
         stat.S_IFCHR: 'char', stat.S_IFBLK: 'block', stat.S_IFIFO: 'fifo',
         stat.S_IFSOCK: 'socket'}


def die(msg):
    print('treecmp: ' + msg, file=sys.stderr)
    sys.exit(2)


def show(p):
    """A path (str, possibly with surrogate escapes) printable on one line."""
    b = p.encode('utf-8', 'surrogateescape')
    try:
        s = b.decode('utf-8')
        if s.isprintable():
            return s
    except UnicodeDecodeError:
        pass
    return repr(b)[2:-1]


def sha256_file(path):
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


def xattrs_of(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for n in names:
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False).hex()
        except OSError as e:
            out[n] = 'error:%d' % e.errno
    return out


def entry_of(full, rel):
    st = os.lstat(full)
    fmt = stat.S_IFMT(st.st_mode)
    e = {'path': rel, 'type': TYPES.get(fmt, 'unknown'), 'mode': stat.S_IMODE(st.st_mode),
         'uid': st.st_uid, 'gid': st.st_gid, 'mtime_ns': st.st_mtime_ns,
         'ctime_ns': st.st_ctime_ns, 'nlink': st.st_nlink,
         'inode': '%d:%d' % (st.st_dev, st.st_ino), 'xattrs': xattrs_of(full)}
    if fmt == stat.S_IFREG:
        e['size'] = st.st_size
        e['sha256'] = sha256_file(full)
    elif fmt == stat.S_IFLNK:
        e['target'] = os.fsdecode(os.readlink(os.fsencode(full)))
    elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
        e['rdev'] = '%d,%d' % (os.major(st.st_rdev), os.minor(st.st_rdev))
    return e


def walk(root):
    """Entries of the tree under root, keyed by relative path ('.' for root)."""
    if not os.path.isdir(root) or os.path.islink(root):
        die('%s: not a folder' % root)
    out = {'.': entry_of(root, '.')}
    stack = ['']
    while stack:
        rel = stack.pop()
        full = os.path.join(root, rel) if rel else root
        try:
            names = sorted(os.listdir(full))
        except OSError as e:
            die('%s: %s' % (full, e.strerror))
        for n in names:
            r = os.path.join(rel, n) if rel else n
            try:
                e = entry_of(os.path.join(root, r), r)
            except OSError as ex:
                die('%s: %s' % (os.path.join(root, r), ex.strerror))
            out[r] = e
            if e['type'] == 'dir':
                stack.append(r)
    return out


def load(arg):
    if os.path.isdir(arg):
        return walk(arg)
    out = {}
    try:
        with open(arg, encoding='utf-8', errors='surrogateescape') as f:
            for line in f:
                e = json.loads(line)
                out[e['path']] = e
    except (OSError, ValueError) as e:
        die('%s: cannot read snapshot: %s' % (arg, e))
    return out


def save(d, fname):
    tree = walk(d)
    tmp = fname + '.tmp'
    with open(tmp, 'w', encoding='utf-8', errors='surrogateescape') as f:
        for p in sorted(tree):
            f.write(json.dumps(tree[p], sort_keys=True) + '\n')
    os.rename(tmp, fname)


def groups(tree):
    """For each non-directory path sharing an inode: the sorted other paths."""
    by = {}
    for p, e in tree.items():
        if e['type'] != 'dir' and e.get('nlink', 1) > 1:
            by.setdefault(e['inode'], []).append(p)
    out = {}
    for ps in by.values():
        for p in ps:
            out[p] = sorted(q for q in ps if q != p)
    return out


def ignored(p, ignores):
    for i in ignores:
        if p == i or p.startswith(i + '/'):
            return True
    return False


def fmt_val(field, v):
    if v is None:
        return '(none)'
    if field == 'mode':
        return '%04o' % v
    if field == 'xattrs':
        return ','.join('%s=%s' % (k, v[k]) for k in sorted(v)) or '(none)'
    if field == 'hardlinks':
        return '[' + ' '.join(show(x) for x in v) + ']'
    if field == 'target':
        return show(v)
    return str(v)


def compare(a, b, opt):
    diffs = []
    ga = groups(a) if opt['hardlinks'] else {}
    gb = groups(b) if opt['hardlinks'] else {}
    excl = DEFAULT_XATTR_EXCLUDES + tuple(opt['xattr_excludes'])
    for p in sorted(set(a) | set(b)):
        if ignored(p, opt['ignores']) or (p == '.' and opt['skip_root']):
            continue
        ea, eb = a.get(p), b.get(p)
        if ea is None or eb is None:
            e = ea or eb
            # report a missing folder once, not every entry below it
            parent = os.path.dirname(p)
            while parent:
                pa, pb = a.get(parent), b.get(parent)
                if pa is None or pb is None or pa['type'] != pb['type']:
                    break
                parent = os.path.dirname(parent)
            else:
                diffs.append('only in %s: %s (%s)' % ('A' if ea else 'B', show(p), e['type']))
            continue
        fields = ['type']
        if ea['type'] == eb['type']:
            fields += ['mode', 'uid', 'gid']
            if ea['type'] == 'file':
                fields += ['size', 'sha256']
            elif ea['type'] == 'symlink':
                fields += ['target']
            elif ea['type'] in ('char', 'block'):
                fields += ['rdev']
        for f in fields:
            if ea.get(f) != eb.get(f):
                diffs.append('%s: %s %s != %s' % (show(p), f, fmt_val(f, ea.get(f)),
                                                  fmt_val(f, eb.get(f))))
        if ea['type'] != eb['type']:
            continue
        xa = {k: v for k, v in ea.get('xattrs', {}).items() if not k.startswith(excl)}
        xb = {k: v for k, v in eb.get('xattrs', {}).items() if not k.startswith(excl)}
        if xa != xb:
            diffs.append('%s: xattrs %s != %s' % (show(p), fmt_val('xattrs', xa),
                                                  fmt_val('xattrs', xb)))
        if opt['mtime'] and not (opt['mtime_skip_dirs'] and ea['type'] == 'dir'):
            ma, mb = ea['mtime_ns'], eb['mtime_ns']
            if opt['mtime'] == 's':
                ma, mb = ma // 10**9, mb // 10**9
            if ma != mb:
                diffs.append('%s: mtime %s != %s' % (show(p), ma, mb))
        if opt['strict']:
            for f in ('ctime_ns', 'nlink'):
                if ea.get(f) != eb.get(f):
                    diffs.append('%s: %s %s != %s' % (show(p), f, ea.get(f), eb.get(f)))
        if opt['hardlinks'] and ea['type'] != 'dir':
            la, lb = ga.get(p, []), gb.get(p, [])
            if la != lb:
                diffs.append('%s: hardlinks %s != %s' % (show(p), fmt_val('hardlinks', la),
                                                         fmt_val('hardlinks', lb)))
    return diffs


def main(argv):
    opt = {'mtime': None, 'mtime_skip_dirs': False, 'hardlinks': False, 'strict': False,
           'skip_root': False, 'ignores': [], 'xattr_excludes': [], 'max': 200,
           'quiet': False}
    args = []
    it = iter(argv)
    for a in it:
        if a == '--save':
            rest = list(it)
            if len(rest) != 2:
                die('usage: treecmp.py --save DIR FILE')
            save(rest[0], rest[1])
            return 0
        elif a == '--mtime':
            opt['mtime'] = opt['mtime'] or 's'
        elif a == '--mtime-ns':
            opt['mtime'] = 'ns'
        elif a == '--mtime-skip-dirs':
            opt['mtime_skip_dirs'] = True
        elif a == '--hardlinks':
            opt['hardlinks'] = True
        elif a == '--strict':
            opt.update(strict=True, hardlinks=True, mtime='ns')
        elif a == '--skip-root':
            opt['skip_root'] = True
        elif a == '--ignore':
            opt['ignores'].append(next(it, '').strip('/'))
        elif a == '--exclude-xattr':
            opt['xattr_excludes'].append(next(it, ''))
        elif a == '--max-diffs':
            opt['max'] = int(next(it, '200'))
        elif a in ('-q', '--quiet'):
            opt['quiet'] = True
        elif a in ('-h', '--help'):
            print(__doc__)
            return 0
        elif a.startswith('-') and a != '-':
            die('unknown option %s (see --help)' % a)
        else:
            args.append(a)
    if len(args) != 2:
        die('usage: treecmp.py [options] A B (see --help)')
    diffs = compare(load(args[0]), load(args[1]), opt)
    if not opt['quiet']:
        shown = diffs if opt['max'] == 0 else diffs[:opt['max']]
        for d in shown:
            print(d)
        if len(shown) < len(diffs):
            print('... %d more' % (len(diffs) - len(shown)))
        print('treecmp: %s: %s' % (' vs '.join(args),
                                   '%d differences' % len(diffs) if diffs else 'same'),
              file=sys.stderr)
    return 1 if diffs else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
