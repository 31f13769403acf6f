"""The tables of bench/pod_startup.py: latency per step (p50/p99/mean), the
containerd/mascri ratios, daemon memory and per pod processes, then anything that went wrong
(with the daemon's log tail)."""
import math
import statistics

STEPS = ("RunPodSandbox", "CreateContainer", "StartContainer", "total")


def pct(values, p):
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def _fmt(v, width=9, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return f"{'-':>{width}}"
    return f"{v:>{width}.{digits}f}"


def latency_table(results):
    n = max((r["n"] for r in results), default=0)
    print(f"\nPod startup latency, ms (N={n}; p99 nearest-rank; pre-pulled busybox, "
          "`sleep 3600`)")
    print(f"{'runtime':<12}{'step':<17}{'p50':>9}{'p99':>9}{'mean':>9}{'min':>9}{'count':>7}")
    for r in results:
        times = r.get("times", {})
        for i, step in enumerate(STEPS):
            v = times.get(step, [])
            mean = statistics.mean(v) if v else None
            print(f"{r['runtime'] if i == 0 else '':<12}{step:<17}{_fmt(pct(v, 50))}"
                  f"{_fmt(pct(v, 99))}{_fmt(mean)}{_fmt(min(v) if v else None)}{len(v):>7}")
        td = r.get("teardown_ms", [])
        if td:
            print(f"{'':<12}{'(stop+remove)':<17}{_fmt(pct(td, 50))}{_fmt(pct(td, 99))}"
                  f"{_fmt(statistics.mean(td))}{_fmt(min(td))}{len(td):>7}")
    by = {r["runtime"]: r for r in results}
    if "containerd" in by and "mascri" in by:
        print("\ncontainerd/mascri (>1: mascri is faster)   p50      p99")
        for step in STEPS:
            a = by["containerd"].get("times", {}).get(step, [])
            b = by["mascri"].get("times", {}).get(step, [])
            if a and b:
                print(f"  {step:<40}x{pct(a, 50) / pct(b, 50):<8.2f}x{pct(a, 99) / pct(b, 99):.2f}")
            else:
                print(f"  {step:<40}-        -")


def _mem(m, key):
    return None if not m else m.get(key)


def memory_table(results):
    print("\nDaemon memory, KiB               VmRSS       Pss   Private")
    for r in results:
        n = r["n"]
        rows = [("at start", r.get("mem_daemon_start")), ("0 pods (image pulled)", r.get("mem_0")),
                (f"{n} pods", r.get("mem_n"))]
        for i, (label, m) in enumerate(rows):
            print(f"{r['runtime'] if i == 0 else '':<12}{label:<22}{_fmt(_mem(m, 'rss'), 8, 0)}"
                  f"{_fmt(_mem(m, 'pss'), 10, 0)}{_fmt(_mem(m, 'private'), 10, 0)}")
        m0, mn = r.get("mem_0"), r.get("mem_n")
        if m0 and mn and n:
            print(f"{'':<12}{'growth per pod':<22}{_fmt((mn['rss'] - m0['rss']) / n, 8)}"
                  f"{_fmt((mn['pss'] - m0['pss']) / n, 10)}"
                  f"{_fmt((mn['private'] - m0['private']) / n, 10)}")
    print("\nPer pod processes (mean per process, KiB)   count       Pss   Private     VmRSS")
    names = {"containerd": ("containerd-shim-runc-v2", "pause (mascri-pause)"),
             "mascri": ("mascri-monitor", "mascri-pause")}
    for r in results:
        mon_name, pause_name = names.get(r["runtime"], ("monitor", "pause"))
        for i, (label, s) in enumerate(((mon_name, r.get("monitors")),
                                        (pause_name, r.get("pauses")))):
            s = s or {"count": 0, "pss": None, "private": None, "rss": None}
            print(f"{r['runtime'] if i == 0 else '':<12}{label:<32}{s['count']:>6}"
                  f"{_fmt(s['pss'], 10)}{_fmt(s['private'], 10)}{_fmt(s['rss'], 10)}")
    print("\nPer pod overhead, Pss KiB = daemon Pss growth/N + monitor or shim Pss x count/N "
          "+ pause Pss x count/N")
    for r in results:
        m0, mn, n = r.get("mem_0"), r.get("mem_n"), r["n"]
        mon, pause = r.get("monitors"), r.get("pauses")
        if not (m0 and mn and mon and pause and n):
            continue
        d = (mn["pss"] - m0["pss"]) / n
        mo = mon["pss"] * mon["count"] / n
        pa = pause["pss"] * pause["count"] / n
        print(f"  {r['runtime']:<12}{d:8.0f} + {mo:6.0f} + {pa:6.0f} = {d + mo + pa:8.0f} "
              f"(~{(d + mo + pa) / 1024:.1f} MiB)")


def notes(results):
    print("\nNotes")
    for r in results:
        rt = r["runtime"]
        pulls = ", ".join(f"{ref.rsplit('/', 1)[-1]} {ms:.0f} ms"
                          for ref, ms in r.get("pull_ms", {}).items())
        print(f"  {rt}: {r.get('version', '')}")
        if r.get("cgroup_driver"):
            print(f"  {rt}: {r['cgroup_driver']} cgroup driver")
        if r.get("warmup_ms"):
            print(f"  {rt}: warm-up pods (not counted), total ms: "
                  + ", ".join(f"{v:.0f}" for v in r["warmup_ms"]))
        if pulls:
            print(f"  {rt}: pulls: {pulls}")
        if "loadavg_before" in r:
            la0, la1 = r["loadavg_before"], r["loadavg_after"]
            print(f"  {rt}: load average (1 min) before/after the loop: "
                  f"{la0[0]:.2f}/{la1[0]:.2f} (other work on the machine adds noise)")
        if "running" in r:
            print(f"  {rt}: {r['running']} of {r['containers']} containers RUNNING after the loop, "
                  f"{len(r.get('pod_ids', []))} pods")
        cg = r.get("cgroups")
        if cg:
            print(f"  {rt}: cgroups: {cg['processes']} processes in {cg['scopes']} .scope units "
                  f"under the pod slices ({cg['under_kubepods']} below "
                  f"kubepods.slice/kubepods-besteffort.slice), e.g. {cg['example']}")
        bad = False
        for key in ("error", "container_error", "warmup_error"):
            if r.get(key):
                bad = True
                print(f"  {rt}: {key}: {r[key]}")
        for e in (r.get("teardown_errors", []) + r.get("warmup_teardown_errors", []))[:5]:
            bad = True
            print(f"  {rt}: teardown: {e}")
        problems = r.get("log_problems", [])
        if problems:
            print(f"  {rt}: {len(problems)} error/warning lines in the daemon log, the last ones:")
            for line in problems[-8:]:
                print(f"    {line[:300]}")
        if bad and r.get("log_tail"):
            print(f"  {rt}: daemon log tail:")
            for line in r["log_tail"].splitlines()[-25:]:
                print(f"    {line}")


def print_report(results):
    latency_table(results)
    memory_table(results)
    notes(results)
