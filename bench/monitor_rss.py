#!/usr/bin/python3
"""mascri-monitor's memory per container (issue 6: under 200 KiB RSS), without mascrid.

Starts N monitors per scenario the way mascrid does (tests/integration/test_monitor.py's
Env: setsid, stdio /dev/null, the sync pipe on fd 3), all from ONE sealed memfd copy of
mascri-monitor made here, as mascrid shares one copy among its monitors (so Pss shows the
sharing), busybox containers started with `mascri`; after --settle seconds (longer
than the monitor's idle release, MONITOR_IDLE_MS) prints per scenario the means of VmRSS,
RssAnon, RssShmem (status), Pss and Private (smaps_rollup), the largest VmRSS, and the
number of mappings (VMAs) of a monitor. Scenarios:
  silent   sleep: nothing ever happens
  tick     a line a second (the loop never goes idle)
  burst    100000 lines at once, then silent (measured after the idle release)
  partial  one byte a second without a newline (a line held in the buffer)
  tty      tick with --terminal (a pty instead of pipes)
Numbers only, never asserted.
Usage (root): bench/monitor-rss.sh [BUILD_DIR] [N] [--scenarios silent,tick] [--settle S]
"""
import argparse
import fcntl
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "silent": ("sleep 100000", False),
    "tick": ("while true; do echo tick; sleep 1; done", False),
    "burst": ("seq 1 100000; sleep 100000", False),
    "partial": ("while true; do printf x; sleep 1; done", False),
    "tty": ("while true; do echo tick; sleep 1; done", True),
}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--monitors", type=int, default=10, help="monitors per scenario")
    ap.add_argument("--build-dir", default=os.environ.get("MASCRI_BUILD_DIR", str(TOP / "build")))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--settle", type=float, default=6.0,
                    help="seconds between the last start and the figures")
    return ap.parse_args()


def sealed_copy(path):
    """A sealed memfd holding the binary, as mascrid makes (runtime/sealed-*.c)."""
    fd = os.memfd_create("mascri", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    data = Path(path).read_bytes()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK |
                fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    return fd


def vmas(pid):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_scenario(name, n, settle, exe):
    from test_monitor import Env
    script, terminal = SCENARIOS[name]

    class SealedEnv(Env):
        def create_argv(self, *extra):
            argv = super().create_argv(*extra)
            argv[0] = exe  # the shared sealed copy: no re-exec of a private one
            return argv

    tmp = Path(tempfile.mkdtemp(prefix=f"monrss-{name}-"))
    envs, pids = [], []
    try:
        for i in range(n):
            (tmp / str(i)).mkdir()
            e = SealedEnv(tmp / str(i))
            envs.append(e)
            e.bundle.sh(script)
            mpid, _ = e.create(*(["--terminal"] if terminal else []))
            pids.append(mpid)
            e.start()
        time.sleep(settle)
        from pod_startup_mem import usage
        figs = []
        for pid in pids:
            u = usage(pid)
            if u:
                u.update(anon=status_kb(pid, "RssAnon"), shmem=status_kb(pid, "RssShmem"),
                         vmas=vmas(pid))
                figs.append(u)
        return figs
    finally:
        for e in envs:
            e.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def report(name, figs):
    if not figs:
        print(f"{name:8s} no monitor alive")
        return
    m = {k: statistics.mean(f[k] for f in figs) for k in figs[0]}
    print(f"{name:8s} {len(figs):3d}  VmRSS {m['rss']:6.1f} (max {max(f['rss'] for f in figs):4d})"
          f"  Pss {m['pss']:6.1f}  Private {m['private']:6.1f}  RssAnon {m['anon']:6.1f}"
          f"  RssShmem {m['shmem']:6.1f}  VMAs {m['vmas']:5.1f}  (KiB, means)")


def main():
    args = parse_args()
    os.environ["MASCRI_BUILD_DIR"] = str(Path(args.build_dir).resolve())
    sys.path.insert(0, str(TOP / "tests" / "integration"))
    sys.path.insert(0, str(TOP / "bench"))
    from harness.paths import binary
    fd = sealed_copy(binary("mascri-monitor"))
    exe = f"/proc/{os.getpid()}/fd/{fd}"
    print(f"mascri-monitor from {args.build_dir}, one sealed copy, {args.monitors} per scenario,"
          f" figures {args.settle:g} s after the last start")
    for name in args.scenarios.split(","):
        report(name, run_scenario(name, args.monitors, args.settle, exe))


if __name__ == "__main__":
    main()
