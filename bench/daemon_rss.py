#!/usr/bin/python3
"""mascrid's own memory and PullImage latency (issue: daemon under 10 MB RSS with 50 pods).

Starts the harness registry (busybox pushed under N fresh names), then for each build
directory given: a mascrid (--network none) on a temporary root, and prints
  - VmRSS / Pss / Private (smaps_rollup) of the idle daemon,
  - the same after a fresh pull and after N more pulls (pulls run in a mascri-image child
    since the pull-child change, so the daemon should stay where it was),
  - the same with --pods pods running,
  - PullImage latency: fresh small pulls (busybox, a new repository each time, layer
    already present after the first) and pulls of an image already present (medians).
Usage (root): bench/daemon_rss.py [--pods 50] [--runs 10] BUILD_DIR [BUILD_DIR...]
A BUILD_DIR may be any directory holding mascrid, mascri-image, mascri-monitor and
mascri-pause (or a src/ subdirectory with them). Never asserted in tests."""
import argparse
import os
import statistics
import sys
import time

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "bench"))


def bin_dir(d):
    d = os.path.abspath(d)
    return os.path.join(d, "src") if os.path.exists(os.path.join(d, "src", "mascrid")) else d


def fmt(u):
    return f"VmRSS {u['rss'] / 1024:6.1f} MB  Pss {u['pss'] / 1024:6.1f} MB  " \
           f"Private {u['private'] / 1024:6.1f} MB"


def settle_usage(pid):
    from pod_startup_mem import usage
    time.sleep(1.0)
    return usage(pid)


def pull_ms(cri, ref):
    pb = cri.pb
    t = time.monotonic()
    cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=300)
    return (time.monotonic() - t) * 1000


def bench_one(build, refs, args):
    import harness.paths as paths
    paths.BIN_DIR = type(paths.BIN_DIR)(bin_dir(build))
    from harness.daemon import Daemon
    from pods_lib import pod_config
    d = Daemon(network="none")
    d.args += ["--log-level", "info"]
    try:
        d.start()
        cri, pb, pid = d.client, d.client.pb, d.proc.pid
        print(f"== {build}")
        print(f"  idle               {fmt(settle_usage(pid))}")
        fresh = [pull_ms(cri, r) for r in refs]
        print(f"  after {len(refs):2d} pulls      {fmt(settle_usage(pid))}")
        present = [pull_ms(cri, refs[0]) for _ in range(args.runs)]
        print(f"  pull, fresh small  median {statistics.median(fresh[1:] or fresh):7.1f} ms "
              f"(first, new layer: {fresh[0]:.1f} ms)")
        print(f"  pull, present      median {statistics.median(present):7.1f} ms")
        for i in range(args.pods):
            cfg = pod_config(pb, name=f"rss-{i}", uid=f"rss-uid-{i}")
            cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=60)
        if args.pods:
            print(f"  with {args.pods} pods       {fmt(settle_usage(pid))}")
    finally:
        d.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("builds", nargs="+")
    args = ap.parse_args()
    from harness.images import build_image, busybox_layer, push_image
    from harness.registry import Registry
    reg = Registry().start()
    try:
        img = build_image([busybox_layer()], {"Cmd": ["/bin/sh"]})
        for n, build in enumerate(args.builds):
            refs = [push_image(reg, f"bench/rss{n}-{i}", "latest", img) for i in range(args.runs)]
            bench_one(build, refs, args)
    finally:
        reg.stop()


if __name__ == "__main__":
    main()
