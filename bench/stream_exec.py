#!/usr/bin/python3
"""Streaming bench (issue 13): mascrid vs Debian's containerd 1.6 + runc, same clients.

For each runtime (each on a private socket, state, bridge and cgroup parent, through
bench/pod_startup_runtimes.py), one pod with one busybox container, then:
  - `exec echo hi` round trip: the Exec RPC, then the SPDY/3.1 session (harness/spdy.py, a
    Python client) to the end of the error stream; p50/p99 (nearest rank) over N runs after
    10 warm-up runs;
  - port-forward throughput: `crictl port-forward POD 0:9000` (kubectl's Go port-forward
    client) and one TCP connection through it reading SIZE bytes that the container's
    `nc` sends from /dev/zero; MB/s (1 MB = 10^6 bytes) from the first byte to the last;
  - daemon RSS (VmRSS) before and with 50 idle exec streams open (`sleep 600` each, stdin,
    stdout, stderr streams up, nothing flowing). containerd: its own process only (its
    streaming server is in it; the shim's share is not counted, nor mascri-monitor's).
Numbers are reported, never asserted.

Run as root: /usr/bin/python3 bench/stream_exec.py [-n 200] [--size-mb 1024]
                 [--runtimes containerd,mascri] [--crictl PATH]
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests/integration"))
sys.path.insert(0, str(TOP / "bench"))

SERVER = ("while :; do nc -l -p 9000 -e head -c {size} /dev/zero; done")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--size-mb", type=int, default=1024, help="MiB through port-forward")
    ap.add_argument("--streams", type=int, default=50)
    ap.add_argument("--runtimes", default="containerd,mascri")
    ap.add_argument("--build-dir", default=os.environ.get("MASCRI_BUILD_DIR", str(TOP / "build")))
    ap.add_argument("--crictl", default=os.environ.get("CRICTL",
                                                       "/work/shared/tools/critest/crictl"))
    return ap.parse_args()


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_pod(rt, image, size):
    from pod_startup import pod_config
    pb = rt.client.pb
    pc = pod_config(pb, rt, 0)
    pod = rt.client.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc),
                                          timeout=120).pod_sandbox_id
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="server", attempt=0),
                             image=pb.ImageSpec(image=image),
                             command=["sh", "-c", SERVER.format(size=size)],
                             log_path="server/0.log", linux=pb.LinuxContainerConfig())
    cid = rt.client.runtime.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod, config=cfg, sandbox_config=pc), timeout=120).container_id
    rt.client.runtime.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=120)
    return pod, cid


def exec_latency(rt, cid, n):
    from harness import spdy
    pb = rt.client.pb

    def once():
        url = rt.client.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=["echo", "hi"],
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
    return statistics.median(lat), lat[max(0, -(-n * 99 // 100) - 1)]


def portforward_mbps(rt, pod, crictl, size):
    """MB/s of one connection through `crictl port-forward` (its Go client)."""
    pf = subprocess.Popen([crictl, "--runtime-endpoint", f"unix://{rt.client_socket}",
                           "port-forward", pod, "0:9000"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            line = pf.stdout.readline()
            if "Forwarding from 127.0.0.1:" in line:
                port = int(line.split("127.0.0.1:")[1].split()[0])
        assert port, "crictl port-forward did not start"
        buf = bytearray(1 << 20)
        for attempt in range(50):  # the container's nc may not listen yet
            s = socket.create_connection(("127.0.0.1", port))
            got = s.recv_into(buf)
            if got:
                break
            s.close()
            time.sleep(0.2)
        t0 = time.perf_counter()
        total = got
        while True:
            got = s.recv_into(buf)
            if not got:
                break
            total += got
        took = time.perf_counter() - t0
        s.close()
        assert total == size, f"{total} of {size} bytes"
        return total / took / 1e6
    finally:
        pf.terminate()
        pf.wait(10)


def idle_streams_rss(rt, cid, k):
    from harness import spdy
    pb = rt.client.pb
    time.sleep(1)
    before = rss_kb(rt.pid)
    conns = []
    for _ in range(k):
        url = rt.client.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=["sleep", "600"],
                                                    stdin=True, stdout=True, stderr=True),
                                     timeout=10).url
        c = spdy.spdy_connect(url, spdy.EXEC_PROTOCOLS)
        for t in ("error", "stdin", "stdout", "stderr"):
            c.create_stream({"streamType": t})
        conns.append(c)
    time.sleep(3)
    after = rss_kb(rt.pid)
    for c in conns:
        c.close()
    return before, after


def bench(rt, image, args):
    size = args.size_mb << 20
    rt.start()
    rt.client_socket = getattr(rt, "sock", None) or rt.daemon.socket
    pb = rt.client.pb
    rt.client.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=image)), timeout=300)
    for ref in rt.extra_pulls:
        rt.client.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=300)
    pod, cid = start_pod(rt, image, size)
    p50, p99 = exec_latency(rt, cid, args.n)
    print(f"{rt.name}: exec echo hi round trip over {args.n} runs: p50 {p50:.2f} ms, "
          f"p99 {p99:.2f} ms", flush=True)
    mbps = portforward_mbps(rt, pod, args.crictl, size)
    print(f"{rt.name}: port-forward {args.size_mb} MiB through crictl port-forward: "
          f"{mbps:.0f} MB/s", flush=True)
    before, after = idle_streams_rss(rt, cid, args.streams)
    print(f"{rt.name}: daemon RSS {before} kB idle, {after} kB with {args.streams} idle exec "
          f"streams (+{after - before} kB, {(after - before) / args.streams:.1f} kB per stream)",
          flush=True)
    return {"p50": p50, "p99": p99, "mbps": mbps, "rss_delta_kb": after - before}


def main():
    args = parse_args()
    import pod_startup_runtimes as runtimes
    from harness.registry import Registry
    from pod_startup import build_images
    wanted = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    registry = Registry().start()
    results = {}
    try:
        busybox, pause = build_images(registry, args.build_dir)
        for name in wanted:
            if name == "containerd" and not runtimes.CONTAINERD:
                print("(containerd not installed: skipped)")
                continue
            tag = f"{os.getpid()}{name[:1]}"
            rt = (runtimes.Containerd(tag, registry.host, pause) if name == "containerd"
                  else runtimes.Mascri(tag, "error"))
            try:
                results[name] = bench(rt, busybox, args)
            finally:
                rt.cleanup()
    finally:
        registry.stop()
    if "mascri" in results and "containerd" in results:
        m, c = results["mascri"], results["containerd"]
        print(f"ratios containerd/mascri: exec p50 {c['p50'] / m['p50']:.1f}x, "
              f"p99 {c['p99'] / m['p99']:.1f}x; port-forward mascri/containerd "
              f"{m['mbps'] / c['mbps']:.2f}x; idle-stream RSS +{m['rss_delta_kb']} kB vs "
              f"+{c['rss_delta_kb']} kB")


if __name__ == "__main__":
    main()
