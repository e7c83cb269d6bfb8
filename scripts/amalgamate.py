#!/usr/bin/env python3
"""Write minirun.c from the parts in src/ (mongoose's and SQLite's practice).

Usage: scripts/amalgamate.py [OUT]   (default: minirun.c; "-" for stdout)

The parts are src/NN_area.c, concatenated in the order of NN (which is their
dependency order: a part calls only parts above it). A part inserted between
two numbers takes a letter: src/20b_oci.c comes after 20_boot.c, before 21_cli.c. Each part's first comment
starts with "==== [NN] AREA: what it holds ====": the table of contents at the
top of minirun.c is made from those lines. Every part is framed by begin/end
banners and starts with `#line 1 "src/NN_area.c"`, so compiler errors and
debuggers point at the part a person edits. The output depends on nothing but
the parts (no dates, no paths), so it is reproducible byte for byte and CI can
check that the committed minirun.c is what the parts make.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PART_RE = re.compile(r'^(\d\d[a-z]?)_([a-z0-9_]+)\.c$')
TITLE_RE = re.compile(r'/\* ==== \[(\d\d[a-z]?)\] ([A-Z0-9_]+): (.*?) ====')


def parts():
    names = sorted(n for n in os.listdir(os.path.join(ROOT, 'src')) if PART_RE.match(n))
    out = []
    for name in names:
        with open(os.path.join(ROOT, 'src', name), encoding='utf-8') as f:
            text = f.read()
        m = TITLE_RE.search(text)
        if not m or m.group(1) != name.split('_')[0]:
            sys.exit('amalgamate: src/%s: its first comment must start with '
                     '"/* ==== [%s] AREA: what it holds ===="' % (name, name.split('_')[0]))
        if not text.endswith('\n'):
            text += '\n'
        out.append((name, m.group(1), m.group(2), m.group(3), text))
    if not out:
        sys.exit('amalgamate: no parts in src/')
    return out


def render(ps):
    toc = ''.join(' *   %-5s %-10s %s  (src/%s)\n' % ('[%s]' % nn, area, what, name)
                  for name, nn, area, what, _ in ps)
    head = ('/*\n'
            ' * minirun.c - a daemonless container runtime for embedded Linux, in one file.\n'
            ' *\n'
            ' * GENERATED FILE: made by `make amalgamate` (scripts/amalgamate.py) from the\n'
            ' * parts in src/. Do not edit it: edit the part named in its banner, then\n'
            ' * run `make amalgamate`. It is committed because it is what embedded users\n'
            ' * take: this file and minirun.h build minirun in any build system.\n'
            ' *\n'
            ' * Build: see the Makefile (static, musl, -Os, section GC). Public API and feature\n'
            ' * flags: minirun.h. Tests: tests/unit.c includes this file with MINIRUN_NO_MAIN.\n'
            ' *\n'
            ' * Table of contents (parts in dependency order; search for "BEGIN src/"):\n'
            + toc +
            ' */\n')
    body = []
    for name, _, _, _, text in ps:
        body.append('/* ======================== BEGIN src/%s ======================== */\n'
                    '#line 1 "src/%s"\n%s'
                    '/* ======================== END src/%s ======================== */\n'
                    % (name, name, text, name))
    return head + '\n'.join(body)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'minirun.c')
    text = render(parts())
    if out == '-':
        sys.stdout.write(text)
        return
    try:
        with open(out, encoding='utf-8') as f:
            if f.read() == text:
                return   # unchanged: keep its time, so make rebuilds nothing
    except FileNotFoundError:
        pass
    tmp = out + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, out)


if __name__ == '__main__':
    main()
