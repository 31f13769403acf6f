#!/usr/bin/python3
"""Pod startup bench (PARTIAL): mascri RunPodSandbox latency and daemon RSS.

Run as root: MASCRI_BUILD_DIR=build /usr/bin/python3 bench/pod_startup.py [N]
Not yet done: CreateContainer/StartContainer timing (needs image pull from the
harness registry) and the containerd 1.6 + runc comparison.
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
from harness.daemon import Daemon  # noqa: E402


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    d = Daemon(network="builtin")
    d.start()
    try:
        from harness.cri_client import CRIClient
        c = CRIClient(str(d.socket))
        pb = c.pb
        rss0 = rss_kib(d.proc.pid)
        times, ids = [], []
        for i in range(n):
            cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(
                name=f"bench-{i}", namespace="bench", uid=f"uid-{i}", attempt=0))
            t0 = time.perf_counter()
            r = c.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg))
            times.append((time.perf_counter() - t0) * 1000)
            ids.append(r.pod_sandbox_id)
        rssn = rss_kib(d.proc.pid)
        print(f"mascri RunPodSandbox over {n} pods: p50 {statistics.median(times):.1f} ms, "
              f"p99 {pct(times, 99):.1f} ms (target total p50<=30 p99<=60)")
        print(f"mascrid RSS: 0 pods {rss0} KiB, {n} pods {rssn} KiB (target < 10240 KiB)")
        for pid in ids:
            c.runtime.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
            c.runtime.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
