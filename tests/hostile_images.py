#!/usr/bin/env python3
"""Hostile images for tests/integration/23_hostile_run.sh (issue 16).

Usage: hostile_images.py BUSYBOX_DOCKER_TAR OUTDIR

Each image is the busybox fixture's layer plus one small layer, written as a
docker-archive OUTDIR/NAME.tar tagged NAME:latest:
  selfexe-script  /entry.sh starts with "#!/proc/self/exe init" (entrypoint)
  selfexe-elf     /selfelf, an ELF whose interpreter is /proc/self/exe
                  (entrypoint ["/selfelf", "init"]); only on x86_64 and aarch64
  health-exe      selfexe-script's entrypoint, and a HEALTHCHECK that opens
                  /proc/1/exe, lists its own fds and writes to its stdout without end
  deep-layer      a layer holding a tree 2000 folders deep (pax long names)
and archives with bad references (loaded untagged, with a warning):
  badref-docker.tar  manifest.json RepoTags ["../../../x:latest", "Upper:latest"]
  badref-oci.tar     OCI index ref-name annotation "../../../../tmp/x:latest"
  bigconfig-docker.tar, bigconfig-oci.tar  a config of 1.1 MB (over the limit)
"""
import io
import json
import os
import platform
import struct
import sys
import tarfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402  (the archive helpers)

EPOCH = 1700000000


def layer(entries):
    """entries: (name, bytes or None for a folder, mode)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w', format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = EPOCH
            ti.mode = mode
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def elf_with_interp(interp):
    """A minimal ELF executable whose PT_INTERP is `interp` (never runs its own code)."""
    machine = {'x86_64': 62, 'aarch64': 183}.get(platform.machine())
    if machine is None:
        return None
    base = 0x10000000  # away from a non-PIE interpreter at 0x400000
    interp = interp.encode() + b'\0'
    ehsize, phsize = 64, 56
    interp_off = ehsize + 2 * phsize
    code_off = interp_off + len(interp)
    code = b'\0' * 16
    size = code_off + len(code)
    eh = b'\x7fELF' + bytes([2, 1, 1, 0]) + b'\0' * 8
    eh += struct.pack('<HHIQQQIHHHHHH', 2, machine, 1, base + code_off, ehsize, 0, 0,
                      ehsize, phsize, 2, 64, 0, 0)
    ph_interp = struct.pack('<IIQQQQQQ', 3, 4, interp_off, base + interp_off,
                            base + interp_off, len(interp), len(interp), 1)
    ph_load = struct.pack('<IIQQQQQQ', 1, 5, 0, base, base, size, size, 0x1000)
    return eh + ph_interp + ph_load + interp + code


def image(busybox_tar, name, extra_layer, config_update):
    with tarfile.open(busybox_tar) as t:
        man = json.load(t.extractfile('manifest.json'))[0]
        base = t.extractfile(man['Layers'][0]).read()
        cfg = json.load(t.extractfile(man['Config']))
    layers = [base, extra_layer]
    cfg['rootfs']['diff_ids'] = ['sha256:' + hostile.sha(x) for x in layers]
    cfg.setdefault('config', {}).update(config_update)
    return hostile.outer_tar(hostile.docker_files(name, layers, config=hostile.dumps(cfg)))


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    bb, out = argv
    os.makedirs(out, exist_ok=True)

    def write(fn, data):
        with open(os.path.join(out, fn), 'wb') as fh:
            fh.write(data)

    write('selfexe-script.tar', image(bb, 'selfexe-script', layer([
        ('entry.sh', b'#!/proc/self/exe init\n', 0o755)]),
        {'Entrypoint': ['/entry.sh'], 'Cmd': None}))
    elf = elf_with_interp('/proc/self/exe')
    if elf:
        write('selfexe-elf.tar', image(bb, 'selfexe-elf', layer([('selfelf', elf, 0o755)]),
                                       {'Entrypoint': ['/selfelf', 'init'], 'Cmd': None}))
    write('health-exe.tar', image(bb, 'health-exe', layer([
        ('entry.sh', b'#!/proc/self/exe init\n', 0o755)]), {
        'Entrypoint': ['/entry.sh'], 'Cmd': None,
        'Healthcheck': {'Test': ['CMD-SHELL', 'readlink /proc/1/exe; ls -l /proc/self/fd/; '
                                 'exec 7</proc/1/exe && echo OPENED; yes x | head -c 3000000; true'],
                        'Interval': 500000000, 'Timeout': 3000000000, 'Retries': 1}}))
    depth = 2000  # the path (4,000 bytes) stays under what extraction takes (PATH_MAX)
    ents = []
    p = 'deep'
    for _ in range(depth):
        ents.append((p, None, 0o755))
        p += '/d'
    ents.append((p, b'bottom\n', 0o644))
    write('deep-layer.tar', image(bb, 'deep-layer', layer(ents), {}))
    # bad references: the image must load untagged, with a warning naming them
    one = layer([('x', b'x\n', 0o644)])
    cfg = hostile.config_for([hostile.sha(one)])
    write('badref-docker.tar', hostile.outer_tar(hostile.docker_files('unused', [one], config=cfg,
        manifest=[{'Config': hostile.sha(cfg) + '.json', 'Layers': [hostile.sha(one) + '.tar'],
                   'RepoTags': ['../../../x:latest', 'Upper:latest']}])))
    oci = hostile.Oci('../../../../tmp/x', [layer([('y', b'y\n', 0o644)])], 'none')
    write('badref-oci.tar', hostile.outer_tar(oci.files()))
    # a config over the 1 MiB limit: "too large", not "digest mismatch"
    big = hostile.dumps({'architecture': hostile.host_arch(), 'os': 'linux',
                         'config': {'Labels': {'pad': 'x' * (1100 * 1024)}},
                         'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + hostile.sha(one)]}})
    write('bigconfig-docker.tar', hostile.outer_tar(hostile.docker_files('bigconfig', [one],
                                                                         config=big)))
    oci = hostile.Oci('bigconfig', [one], 'none')
    oci.config = big
    write('bigconfig-oci.tar', hostile.outer_tar(oci.files()))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
