"""Streaming bench (issue 13): `exec echo hi` round trip through mascrid (Exec RPC, then the
SPDY/3.1 session to the end of the error stream) p50/p99 over N runs, and mascrid's RSS with
50 idle exec streams open (a `sleep` each, stdin/stdout/stderr streams up). mascri only: the
containerd side of the issue's comparison is not written yet. Numbers only, never asserted.
Usage (root): MASCRI_BUILD_DIR=build /usr/bin/python3 bench/stream_exec.py [N]"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/integration"))
from ctr_lib import pod_with_container, pull  # noqa: E402
from harness import spdy  # noqa: E402
from harness.daemon import Daemon  # noqa: E402
from harness.images import push_test_images  # noqa: E402
from harness.registry import Registry  # noqa: E402


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    reg = Registry().start()
    d = None
    try:
        imgs = push_test_images(reg)
        d = Daemon(network="none").start()
        cri = d.client
        pb = cri.pb
        pull(cri, imgs["busybox"])
        _, cid, _ = pod_with_container(cri, imgs["busybox"], command=["sleep", "36000"])

        def once():
            url = cri.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=["echo", "hi"],
                                                  stdout=True, stderr=True), timeout=10).url
            res = spdy.remote_command(url)
            assert res["stdout"] == b"hi\n", res
        for _ in range(10):
            once()
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            once()
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        print(f"exec echo hi round trip over {n} runs: p50 {statistics.median(lat):.2f} ms, "
              f"p99 {lat[int(n * 0.99) - 1]:.2f} ms")
        time.sleep(1)
        before = rss_kb(d.proc.pid)
        conns = []
        for _ in range(50):
            url = cri.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=["sleep", "600"],
                                                  stdin=True, stdout=True, stderr=True),
                                   timeout=10).url
            c = spdy.spdy_connect(url, spdy.EXEC_PROTOCOLS)
            for t in ("error", "stdin", "stdout", "stderr"):
                c.create_stream({"streamType": t})
            conns.append(c)
        time.sleep(2)
        after = rss_kb(d.proc.pid)
        print(f"mascrid RSS: {before} kB idle, {after} kB with 50 idle exec streams "
              f"(+{after - before} kB, {(after - before) / 50:.1f} kB per stream)")
        for c in conns:
            c.close()
    finally:
        if d:
            d.cleanup()
        reg.stop()


if __name__ == "__main__":
    main()
