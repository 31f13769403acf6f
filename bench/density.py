#!/usr/bin/python3
"""Density bench (issue 15): the cost of every CRI call as the number of running pods grows,
mascrid vs Debian's containerd + runc, same grpcio client (runtimes of
bench/pod_startup_runtimes.py: private sockets, state, bridges, cgroup parents; built-in
network for mascri, CNI bridge for containerd).

At each level L (default 0, 250, 500, 1000 running pods, each with one busybox `sleep`
container): ListContainers, ListPodSandbox, ListContainerStats, ListPodSandboxStats timed
--repeats times (p50/max decoded by the grpcio stubs; "raw": the same call returning the
response bytes undecoded, the runtime's side plus transport), the daemon's VmRSS, the
per-pod Pss (sum of smaps_rollup Pss of every pod process: pause + monitor/shim + sleep,
over the pod count), then --add pods started
and timed (RunPodSandbox -> CreateContainer -> StartContainer, p50/p99) with L running, each
after a reference of fixed work (reference_ms) whose ratio to the empty node's says how much
of the start's ratio is the machine's speed of the moment rather than the pods.
The pods are then filled untimed up to the next level. With --rounds R the ladder is climbed
R times (every pod removed in between) and each level pools its rounds' samples, with the
start p50 of each round shown too: on a shared machine whose speed drifts over minutes, one
climb can put the empty node in a fast minute and the full one in a slow one. containerd
runs up to what this machine's memory allows (--containerd-max, default from MemAvailable).
Numbers are reported, never asserted; the 1-minute load average is printed with each level
(the machine may be shared). Everything is stopped and removed at the end, also after a failure.

Run as root: bench/density.sh [BUILD_DIR] [LEVELS] [more density.py options]
   or: /usr/bin/python3 bench/density.py [--levels 0,250,500,1000] [--runtimes mascri,containerd]
"""
import argparse
import json
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
LISTS = ("ListContainers", "ListPodSandbox", "ListContainerStats", "ListPodSandboxStats")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="0,250,500,1000")
    ap.add_argument("--add", type=int, default=10, help="pods started (timed) at each level")
    ap.add_argument("--repeats", type=int, default=10, help="calls of each List* per level")
    ap.add_argument("--rounds", type=int, default=1,
                    help="times the whole ladder of levels is climbed (all pods removed "
                         "between rounds); each level's figures pool the rounds, so a machine "
                         "whose speed drifts over minutes weighs on every level alike")
    ap.add_argument("--build-dir", default=os.environ.get("MASCRI_BUILD_DIR", str(TOP / "build")))
    ap.add_argument("--runtimes", default="mascri,containerd")
    ap.add_argument("--containerd-max", type=int, default=None,
                    help="most pods for containerd (default: MemAvailable less 4 GiB over "
                         "40 MiB a pod)")
    ap.add_argument("--settle", type=float, default=2.5,
                    help="seconds before memory is read (monitors drop start-up pages at 1 s)")
    ap.add_argument("--quiet-limit", type=float, default=60,
                    help="most seconds to wait at each level for the machine to be quiet "
                         "(under 15%% of CPU busy for a second) before anything is timed")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    return ap.parse_args()


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def mem_available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def memory_cgroups():
    """The kernel's count of memory cgroups (/proc/cgroups), the dying ones included: a
    removed pod's memory cgroup lingers while page cache charged to it stays, and thousands
    of them (after many rounds of pods) slow the kernel's cgroup work down."""
    try:
        with open("/proc/cgroups") as f:
            for line in f:
                v = line.split()
                if v and v[0] == "memory":
                    return int(v[2])
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpu_busy(interval):
    """The fraction of all CPUs' time not idle (nor waiting for I/O) over interval seconds."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit_s, busy_max=0.15):
    """Waits (at most limit_s) until the machine is quiet for a second: the kernel finishes
    tearing down pods (network namespaces, cgroups) well after the RPCs returned, and a level
    measured meanwhile would pay for the one before. Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s and cpu_busy(1.0) > busy_max:
        pass
    return time.monotonic() - t0


def reference_ms():
    """A fixed piece of work that does not depend on the pods: five fork + exec + wait of
    /bin/true (kernel work like a pod start's, in a process of the bench's own). Timed
    next to each pod start, it tells how fast the machine was at that moment: on a shared
    host the same work takes 2x longer in some minutes than in others."""
    import subprocess
    t0 = time.perf_counter()
    for _ in range(5):
        subprocess.run(["/bin/true"], check=True)
    return (time.perf_counter() - t0) * 1e3


def start_one(rt, image, i):
    """One pod with its container, timed per step (ms)."""
    from pod_startup import ctr_config, pod_config
    pb = rt.client.pb
    pc = pod_config(pb, rt, i)
    t0 = time.perf_counter()
    pod = rt.client.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc),
                                          timeout=300).pod_sandbox_id
    t1 = time.perf_counter()
    cid = rt.client.runtime.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod, config=ctr_config(pb, image), sandbox_config=pc),
        timeout=300).container_id
    t2 = time.perf_counter()
    rt.client.runtime.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=300)
    t3 = time.perf_counter()
    return pod, {"RunPodSandbox": (t1 - t0) * 1e3, "CreateContainer": (t2 - t1) * 1e3,
                 "StartContainer": (t3 - t2) * 1e3, "total": (t3 - t0) * 1e3}


def time_lists(rt, repeats):
    """Each List* timed twice per repeat: decoded by the grpcio stubs (what a Python client
    pays) and as raw bytes (the same call with a pass-through deserializer: the runtime's
    side plus transport, without the client's protobuf decoding, which at 1,000 pods is a
    few ms of the total)."""
    pb = rt.client.pb
    r = rt.client.runtime
    calls = {
        "ListContainers": (pb.ListContainersRequest,
                           lambda m: len(r.ListContainers(m, timeout=600).containers)),
        "ListPodSandbox": (pb.ListPodSandboxRequest,
                           lambda m: len(r.ListPodSandbox(m, timeout=600).items)),
        "ListContainerStats": (pb.ListContainerStatsRequest,
                               lambda m: len(r.ListContainerStats(m, timeout=600).stats)),
        "ListPodSandboxStats": (pb.ListPodSandboxStatsRequest,
                                lambda m: len(r.ListPodSandboxStats(m, timeout=600).stats)),
    }
    out = {}
    for name, (req, call) in calls.items():
        raw = rt.client.channel.unary_unary(
            f"/runtime.v1.RuntimeService/{name}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=lambda b: b)
        times, raw_times, items, size = [], [], 0, 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            size = len(raw(req(), timeout=600))
            raw_times.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            items = call(req())
            times.append((time.perf_counter() - t0) * 1e3)
        out[name] = {"times": times, "raw_times": raw_times, "items": items, "bytes": size}
    return out


def pod_memory(rt, pod_ids):
    """Pss (KiB) of every pod process: pause, monitor (mascri-monitor / containerd shim) and
    the children of monitors (the sleep), summed; and the count of each."""
    import pod_startup_mem as mem
    procs = mem.processes()
    monitors = set(rt.monitor_pids())
    pauses = set(rt.pause_pids(pod_ids))
    children = {p.pid for p in procs if p.ppid in monitors} - pauses
    total = 0
    for pid in monitors | pauses | children:
        u = mem.usage(pid)
        total += u["pss"] if u else 0
    return {"pss_total": total, "monitors": len(monitors), "pauses": len(pauses),
            "workloads": len(children)}


def measure_level(rt, image, level, pod_ids, args, res):
    """Fills up to level, measures, adds args.add timed pods."""
    while len(pod_ids) < level:
        pod_ids.append(start_one(rt, image, len(pod_ids))[0])
    time.sleep(args.settle)
    row = {"pods": len(pod_ids), "quiet_wait_s": wait_quiet(args.quiet_limit)}
    row["lists"] = time_lists(rt, args.repeats)
    row["load"] = os.getloadavg()[0]
    row["memory_cgroups"] = memory_cgroups()
    from pod_startup_mem import usage
    row["daemon"] = usage(rt.pid)
    if pod_ids:
        row["pod_mem"] = pod_memory(rt, pod_ids)
    starts = []
    for _ in range(args.add):
        ref = reference_ms()
        pod, t = start_one(rt, image, len(pod_ids))
        t["reference"] = ref
        pod_ids.append(pod)
        starts.append(t)
    row["starts"] = starts
    res["levels"].append(row)
    print(f"  {rt.name} @{row['pods']}: " + summary_line(row), flush=True)


def summary_line(row):
    tot = [s["total"] for s in row["starts"]]
    parts = [f"start p50 {pct(tot, 50):.1f} ms"]
    for name in LISTS:
        parts.append(f"{name} p50 {pct(row['lists'][name]['times'], 50):.1f} ms "
                     f"(raw {pct(row['lists'][name]['raw_times'], 50):.1f})")
    if row.get("daemon"):
        parts.append(f"RSS {row['daemon']['rss'] / 1024:.1f} MiB")
    if row.get("pod_mem") and row["pods"]:
        parts.append(f"Pss/pod {row['pod_mem']['pss_total'] / row['pods'] / 1024:.2f} MiB")
    parts.append(f"load {row['load']:.2f}")
    parts.append(f"waited {row.get('quiet_wait_s', 0):.0f} s for quiet")
    return ", ".join(parts)


def run_runtime(rt, refs, levels, args):
    from pod_startup import pull_all
    res = {"runtime": rt.name, "levels": [], "version": rt.version()}
    pod_ids = []
    try:
        rt.start()
        pull_all(rt, [refs["busybox"]] + rt.extra_pulls)
        os.sync()
        for rnd in range(args.rounds):
            if rnd:
                from pod_startup_runtimes import remove_all_pods
                errors = remove_all_pods(rt.client, timeout=300)
                if errors:
                    raise RuntimeError(f"removing the pods of round {rnd}: {errors[:3]}")
                pod_ids.clear()
                print(f"  {rt.name}: round {rnd + 1} of {args.rounds}", flush=True)
            for level in levels:
                measure_level(rt, refs["busybox"], level, pod_ids, args, res)
                res["levels"][-1]["round"] = rnd + 1
    except Exception as e:  # reported; the other runtime still runs
        from pod_startup import rpc_error
        res["error"] = f"{type(e).__name__}: {rpc_error(e)}"
        traceback.print_exc()
    res["log_problems"] = rt.log_problems()[-20:]
    t0 = time.perf_counter()
    if hasattr(rt, "note_netns"):
        for pod in pod_ids:
            rt.note_netns(pod)
    from pod_startup_runtimes import remove_all_pods
    res["teardown_errors"] = remove_all_pods(rt.client, timeout=300) if rt.client else []
    res["teardown_s"] = time.perf_counter() - t0
    return res


def fmt(v, w=10, d=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return f"{'-':>{w}}"
    return f"{v:>{w}.{d}f}"


def pool(rows):
    """The rows of one level (one a round) as one: samples pooled, RSS and Pss the largest."""
    if len(rows) == 1:
        return rows[0]
    out = {"pods": rows[0]["pods"], "starts": [s for r in rows for s in r["starts"]],
           "load": max(r.get("load", 0) for r in rows), "lists": {},
           "memory_cgroups": max((r["memory_cgroups"] for r in rows
                                  if r.get("memory_cgroups") is not None), default=None)}
    for name in LISTS:
        out["lists"][name] = {k: [t for r in rows for t in r["lists"][name].get(k) or []]
                              for k in ("times", "raw_times")}
    daemons = [r["daemon"] for r in rows if r.get("daemon")]
    if daemons:
        out["daemon"] = max(daemons, key=lambda d: d["rss"])
    mems = [r["pod_mem"] for r in rows if r.get("pod_mem")]
    if mems:
        out["pod_mem"] = max(mems, key=lambda m: m["pss_total"])
    return out


def by_level(levels):
    rows = {}
    for row in levels:
        rows.setdefault(row["pods"], []).append(row)
    return {p: pool(r) for p, r in rows.items()}


def row_figures(row):
    tot = [s["total"] for s in row["starts"]]
    ref = [s["reference"] for s in row["starts"] if "reference" in s]
    f = {"start p50": pct(tot, 50), "start p99": pct(tot, 99), "reference p50": pct(ref, 50)}
    for name in LISTS:
        t = row["lists"][name]["times"]
        f[f"{name} p50"] = pct(t, 50)
        f[f"{name} max"] = max(t) if t else float("nan")
        raw = row["lists"][name].get("raw_times") or []
        f[f"{name} raw p50"] = pct(raw, 50)
    f["daemon RSS MiB"] = row["daemon"]["rss"] / 1024 if row.get("daemon") else float("nan")
    f["load average 1 min"] = row.get("load", float("nan"))
    mc = row.get("memory_cgroups")
    f["kernel memory cgroups"] = float(mc) if mc is not None else float("nan")
    pm = row.get("pod_mem")
    f["Pss/pod MiB"] = pm["pss_total"] / row["pods"] / 1024 if pm and row["pods"] else float("nan")
    return f


def print_report(results, args):
    print(f"\nDensity (ms unless noted; {args.add} pods started at each level and round, p99 "
          f"nearest-rank; {args.repeats} calls of each List* a level and round; {args.rounds} "
          f"round(s) pooled; 2-core machine shared with other work)")
    by = {r["runtime"]: {p: row_figures(row) for p, row in by_level(r["levels"]).items()}
          for r in results}
    keys = None
    for r in results:
        rows = by[r["runtime"]]
        if not rows:
            continue
        keys = list(next(iter(rows.values())).keys())
        print(f"\n{r['runtime']} ({r.get('version', '')})")
        print(f"{'running pods':<26}" + "".join(f"{p:>10}" for p in rows))
        for k in keys:
            d = 2 if "MiB" in k or "load" in k else 0 if "cgroups" in k else 1
            print(f"{k:<26}" + "".join(fmt(rows[p][k], d=d) for p in rows))
        base = rows[min(rows)]
        if len(rows) > 1 and base["start p50"] > 0 and base["reference p50"] > 0:
            start = {p: rows[p]["start p50"] / base["start p50"] for p in rows}
            ref = {p: rows[p]["reference p50"] / base["reference p50"] for p in rows}
            for label, v in (("start p50 / empty node", start), ("reference p50 / empty", ref),
                             ("start ratio / ref ratio",
                              {p: start[p] / ref[p] if ref[p] else None for p in rows})):
                print(f"{label:<26}" + "".join(fmt(v[p], d=2) for p in rows))
        if args.rounds > 1:
            for rnd in range(1, args.rounds + 1):
                per = {row["pods"]: pct([s["total"] for s in row["starts"]], 50)
                       for row in r["levels"] if row.get("round") == rnd}
                print(f"{f'start p50, round {rnd}':<26}" + "".join(fmt(per.get(p)) for p in rows))
    if "mascri" in by and "containerd" in by and keys:
        common = [p for p in by["mascri"] if p in by["containerd"]]
        if common:
            print("\ncontainerd/mascri (>1: mascri is better)")
            print(f"{'running pods':<26}" + "".join(f"{p:>10}" for p in common))
            for k in keys:
                vals = []
                for p in common:
                    a, b = by["containerd"][p][k], by["mascri"][p][k]
                    vals.append(a / b if b and not math.isnan(a) and not math.isnan(b) else None)
                print(f"{k:<26}" + "".join(fmt(v, d=2) for v in vals))
    for r in results:
        for key in ("error", "teardown_errors", "log_problems"):
            if r.get(key):
                print(f"\n{r['runtime']} {key}: {r[key]}")
        print(f"{r['runtime']}: teardown {r.get('teardown_s', 0):.1f} s")


def on_term(signum, _frame):
    raise SystemExit(128 + signum)  # the finally blocks clean up


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    build = Path(args.build_dir).resolve()
    os.environ["MASCRI_BUILD_DIR"] = str(build)
    sys.path.insert(0, str(TOP / "tests" / "integration"))
    sys.path.insert(0, str(TOP / "bench"))
    from harness.registry import Registry
    import pod_startup
    import pod_startup_runtimes as runtimes

    levels = sorted(int(x) for x in args.levels.split(",") if x.strip())
    cmax = args.containerd_max
    if cmax is None:
        cmax = max(0, (mem_available_mib() - 4096) // 40)
    tag = f"{os.getpid():06d}"[-6:]
    results = []
    registry = Registry().start()
    try:
        busybox, pause = pod_startup.build_images(registry, build)
        refs = {"busybox": busybox, "pause": pause}
        for name in [r.strip() for r in args.runtimes.split(",") if r.strip()]:
            lv = levels
            if name == "containerd":
                if not runtimes.CONTAINERD:
                    print("(containerd is not installed: skipped)")
                    continue
                lv = [x for x in levels if x + args.add <= cmax]
                print(f"== containerd: levels {lv} (memory allows ~{cmax} pods)", flush=True)
                rt = runtimes.Containerd(tag, registry.host, pause)
            else:
                print(f"== mascri: levels {lv}", flush=True)
                rt = runtimes.Mascri(tag, "info")
            try:
                results.append(run_runtime(rt, refs, lv, args))
            finally:
                rt.cleanup()
    finally:
        registry.stop()
    print_report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
