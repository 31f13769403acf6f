#!/usr/bin/python3
"""Bench helper: starts the test harness registry, builds a multi-layer image from files of
Debian packages installed on this machine (python3, perl, vim runtime, locales data...) or,
with MASCRI_BENCH_ROOTFS=DIR, from a debootstrap'd root filesystem (layers: usr, var, etc,
the rest), pushes it, prints "REF UNPACKED_BYTES LAYERS" and keeps the registry up until
stdin closes."""
import io
import os
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness.images import build_image, busybox_layer, push_image  # noqa: E402
from harness.registry import Registry  # noqa: E402

DIRS = ["/usr/lib/python3", "/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl",
        "/usr/share/i18n", "/usr/share/zoneinfo", "/usr/share/vim", "/usr/share/perl5"]


def tar_of(base, paths):
    """A tar of the given absolute paths (recursively), names relative to base."""
    buf = io.BytesIO()
    size = 0
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(full):
            nonlocal size
            ti = t.gettarinfo(full, arcname=os.path.relpath(full, base))
            if ti is None:
                return
            ti.uname = ti.gname = ""
            if ti.isreg():
                size += ti.size
                with open(full, "rb") as f:
                    t.addfile(ti, f)
            else:
                t.addfile(ti)

        for p in paths:
            add(p)
            if os.path.isdir(p) and not os.path.islink(p):
                for root, dirs, files in os.walk(p):
                    dirs.sort()
                    for name in sorted(dirs) + sorted(files):
                        add(os.path.join(root, name))
    return buf.getvalue(), size


def main():
    reg = Registry().start()
    rootfs = os.environ.get("MASCRI_BENCH_ROOTFS")
    layers, total = [], 0
    if rootfs:
        tops = sorted(os.listdir(rootfs))
        groups = [["usr"], ["var"], ["etc"], [t for t in tops if t not in ("usr", "var", "etc")]]
        for g in groups:
            tar, size = tar_of(rootfs, [os.path.join(rootfs, t) for t in g
                                        if os.path.lexists(os.path.join(rootfs, t))])
            layers.append(tar)
            total += size
    else:
        layers, total = [busybox_layer()], len(busybox_layer())
        for d in DIRS:
            if os.path.isdir(d):
                tar, size = tar_of("/", [d])
                layers.append(tar)
                total += size
    img = build_image([(t, "gzip") for t in layers])
    push_image(reg, "bench/image", "v1", img)
    print(f"{reg.host}/bench/image:v1", total, len(layers), flush=True)
    sys.stdin.read()
    reg.stop()


if __name__ == "__main__":
    main()
