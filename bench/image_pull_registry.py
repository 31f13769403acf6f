#!/usr/bin/python3
"""Bench helper: starts the test harness registry, builds a multi-layer image from files of
Debian packages installed on this machine (python3, perl, vim runtime, locales data...),
pushes it, prints "REF UNPACKED_BYTES" and keeps the registry up until stdin closes."""
import gzip
import io
import os
import sys
import tarfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness.images import build_image, busybox_layer  # noqa: E402
from harness.registry import Registry  # noqa: E402

DIRS = ["/usr/lib/python3", "/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl",
        "/usr/share/i18n", "/usr/share/zoneinfo", "/usr/share/vim", "/usr/share/perl5"]


def tar_of(path):
    buf = io.BytesIO()
    size = 0
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(root, name)
                ti = t.gettarinfo(full, arcname=full.lstrip("/"))
                if ti is None:
                    continue
                ti.uname = ti.gname = ""
                if ti.isreg():
                    size += ti.size
                    with open(full, "rb") as f:
                        t.addfile(ti, f)
                else:
                    t.addfile(ti)
    return buf.getvalue(), size


def main():
    reg = Registry().start()
    layers, total = [busybox_layer()], len(busybox_layer())
    for d in DIRS:
        if os.path.isdir(d):
            tar, size = tar_of(d)
            layers.append(tar)
            total += size
    img = build_image([(t, "gzip") for t in layers])
    ref = f"{reg.host}/bench/debian-files:v1"
    from harness.images import push_image
    push_image(reg, "bench/debian-files", "v1", img)
    print(ref, total, len(layers), flush=True)
    sys.stdin.read()
    reg.stop()


if __name__ == "__main__":
    main()
