#!/usr/bin/env python3
"""Check that the map of the code agrees with src/ (make check-parts).

The parts in src/ are the truth. This fails, naming each disagreement, when:
- minirun.c is not what scripts/amalgamate.py makes of them (its table of
  contents included);
- README.md's table under "## Layout of the code" does not list exactly the
  parts, in order, each as `src/NN_area.c`;
- a unit test file is not named tests/unit_<part>.c after an existing part,
  or tests/unit.c does not include every one of them.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems = []

parts = sorted(n[:-2] for n in os.listdir(os.path.join(ROOT, 'src'))
               if re.match(r'^\d\d[a-z]?_[a-z0-9_]+\.c$', n))

made = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'amalgamate.py'), '-'],
                      capture_output=True, text=True)
if made.returncode != 0:
    problems.append('amalgamate: ' + made.stderr.strip())
else:
    with open(os.path.join(ROOT, 'minirun.c'), encoding='utf-8') as f:
        if f.read() != made.stdout:
            problems.append('minirun.c differs from what src/ makes (run make amalgamate)')

with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
    readme = f.read()
m = re.search(r'^## Layout of the code\n(.*?)(?=^## |\Z)', readme, re.S | re.M)
if not m:
    problems.append('README.md: no "## Layout of the code" section')
else:
    listed = re.findall(r'^\| `src/(\d\d[a-z]?_[a-z0-9_]+)\.c` \|', m.group(1), re.M)
    if listed != parts:
        missing = [p for p in parts if p not in listed]
        extra = [p for p in listed if p not in parts]
        problems.append('README.md layout table lists %s; src/ has %s%s%s' % (
            len(listed), len(parts),
            ('; missing: ' + ', '.join(missing)) if missing else '',
            ('; not in src/: ' + ', '.join(extra)) if extra else '') +
            ('' if missing or extra else ' (order differs)'))

tests = sorted(n for n in os.listdir(os.path.join(ROOT, 'tests'))
               if n.startswith('unit_') and n.endswith('.c'))
with open(os.path.join(ROOT, 'tests', 'unit.c'), encoding='utf-8') as f:
    unit_c = f.read()
for t in tests:
    stem = t[len('unit_'):-2]
    if stem not in parts:
        problems.append('tests/%s: no part src/%s.c (unit tests are named after their part)' % (t, stem))
    if '#include "%s"' % t not in unit_c:
        problems.append('tests/unit.c does not include %s' % t)

for p in problems:
    print('check-parts: ' + p, file=sys.stderr)
if problems:
    sys.exit(1)
print('check-parts: %d parts; minirun.c, the README layout table and %d unit test files agree'
      % (len(parts), len(tests)))
