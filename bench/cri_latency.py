"""Client side of bench/cri-latency.sh: latency and throughput of cheap CRI calls through
grpcio (the client kubelet's generated code resembles), against each socket given.
Usage: cri_latency.py N NAME=SOCKET [NAME=SOCKET...]   (prints one table, then ratios)"""
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/integration"))
from harness.cri_client import CRIClient  # noqa: E402

CALLS = [
    ("Version", lambda c: c.runtime.Version(c.pb.VersionRequest(), timeout=30)),
    ("Status", lambda c: c.runtime.Status(c.pb.StatusRequest(), timeout=30)),
    ("ListImages", lambda c: c.image.ListImages(c.pb.ListImagesRequest(), timeout=30)),
    ("ImageFsInfo", lambda c: c.image.ImageFsInfo(c.pb.ImageFsInfoRequest(), timeout=30)),
]


def measure(client, fn, n):
    for _ in range(min(50, n)):
        fn(client)
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(client)
        lat.append(time.perf_counter() - t0)
    lat.sort()
    # Throughput: 8 threads on one channel.
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda _: fn(client), range(n)))
    rps = n / (time.perf_counter() - t0)
    return statistics.median(lat) * 1e6, lat[int(len(lat) * 0.99) - 1] * 1e6, rps


def main():
    n = int(sys.argv[1])
    targets = [a.split("=", 1) for a in sys.argv[2:]]
    results = {}
    print(f"{'runtime':<12}{'call':<14}{'p50 us':>10}{'p99 us':>10}{'calls/s (8 thr)':>18}")
    for name, sock in targets:
        c = CRIClient(sock)
        for call, fn in CALLS:
            p50, p99, rps = measure(c, fn, n)
            results[(name, call)] = (p50, p99, rps)
            print(f"{name:<12}{call:<14}{p50:>10.0f}{p99:>10.0f}{rps:>18.0f}")
        c.close()
    if len(targets) > 1:
        base = targets[0][0]
        for name, _ in targets[1:]:
            print(f"\n{base} vs {name} (p50 latency ratio, <1 means {base} is faster; "
                  f"throughput ratio, >1 means {base} is faster)")
            for call, _ in CALLS:
                a, b = results[(base, call)], results[(name, call)]
                print(f"  {call:<14} latency x{a[0] / b[0]:.2f}   throughput x{a[2] / b[2]:.2f}")


if __name__ == "__main__":
    main()
