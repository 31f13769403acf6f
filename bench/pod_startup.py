#!/usr/bin/python3
"""Pod startup bench (issue 6): mascrid vs Debian's containerd 1.6 + runc, same grpcio client.

For each runtime: pre-pull a busybox image (built by the test harness from busybox-static,
served by a local docker-registry), then N times RunPodSandbox -> CreateContainer (busybox,
`sleep 3600`, CRI log under a temp dir) -> StartContainer, timing every call and the total;
daemon VmRSS/Pss at start, with 0 pods (after the pull) and with N pods; per pod processes
(mascri-monitor / containerd-shim-runc-v2, pause). Numbers are reported, never asserted.
p99 is nearest-rank (with N=50: the largest sample).

--cgroup-driver systemd (systemd as PID 1; bench/pod-startup-vm.sh runs it in the test VM):
both runtimes with their systemd cgroup driver, pods under kubelet's slice parents. --warmup K
starts (untimed) and removes K pods per runtime before the timed loop.

Run as root: bench/pod-startup.sh [BUILD_DIR] [N]
   or: /usr/bin/python3 bench/pod_startup.py [-n N] [--build-dir DIR]
                        [--runtimes containerd,mascri] [--json FILE] [--log-level LEVEL]
                        [--cgroup-driver cgroupfs|systemd] [--warmup K]
"""
import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
STEPS = ("RunPodSandbox", "CreateContainer", "StartContainer", "total")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--pods", type=int, default=50)
    ap.add_argument("--build-dir", default=os.environ.get("MASCRI_BUILD_DIR", str(TOP / "build")))
    ap.add_argument("--runtimes", default="containerd,mascri")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--log-level", default="info", help="mascrid's --log-level (default info)")
    ap.add_argument("--settle", type=float, default=2.5,
                    help="seconds to wait before reading memory figures (mascri-monitor "
                         "gives its start-up pages back 1 s after it starts)")
    ap.add_argument("--cgroup-driver", choices=("cgroupfs", "systemd"), default="cgroupfs",
                    help="both runtimes' cgroup driver; systemd: kubelet's pod slices as "
                         "parents (needs systemd as PID 1)")
    ap.add_argument("--warmup", type=int, default=0,
                    help="pods started and removed before the timed loop (not counted)")
    return ap.parse_args()


def build_images(registry, build_dir):
    """Pushes the busybox image and a pause image whose entrypoint is mascri-pause."""
    from harness.images import Layer, build_image, busybox_layer, push_image
    busybox = push_image(registry, "mascri-bench/busybox", "latest", build_image([busybox_layer()]))
    pause_bin = Path(build_dir) / "src" / "mascri-pause"
    layer = Layer().dir("dev").dir("proc").dir("sys").dir("etc") \
        .file("pause", pause_bin.read_bytes(), 0o755).tar()
    pause = push_image(registry, "mascri-bench/pause", "latest", build_image(
        [layer], config={"Entrypoint": ["/pause"], "Env": ["PATH=/"]}))
    return busybox, pause


def pod_config(pb, rt, i):
    """Pod i's config (i may be a string: "warm0"); its cgroup parent as kubelet's driver
    (the runtime's) makes it."""
    from pod_startup_runtimes import pod_slice
    ns = pb.NamespaceOption(network=pb.POD, ipc=pb.POD, pid=pb.CONTAINER)
    log_dir = rt.log_dir / f"pod-{i}"
    if rt.cgroup_driver == "systemd":
        uid = f"{rt.uid_prefix}{i}"
        parent = pod_slice(uid)
    else:
        uid = f"bench-uid-{rt.tag}-{i}"
        parent = f"/{rt.cgroup_prefix}/pod{i}"
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=f"bench-{i}", namespace="bench", uid=uid,
                                       attempt=0),
        hostname=f"bench-{i}", log_directory=str(log_dir),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=parent,
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))


def ctr_config(pb, image):
    return pb.ContainerConfig(metadata=pb.ContainerMetadata(name="sleeper", attempt=0),
                              image=pb.ImageSpec(image=image), command=["sleep", "3600"],
                              log_path="sleeper/0.log", linux=pb.LinuxContainerConfig())


def rpc_error(e):
    import grpc
    if isinstance(e, grpc.RpcError):
        return f"{e.code().name}: {e.details()}"
    return repr(e)


def pull_all(rt, refs):
    pb = rt.client.pb
    took = {}
    for ref in refs:
        t0 = time.perf_counter()
        rt.client.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=300)
        took[ref] = (time.perf_counter() - t0) * 1000
    return took


def warm_up(rt, image, k, res):
    """Starts k pods (RunPodSandbox, CreateContainer, StartContainer) and removes them again:
    the first pods pay for cold caches (page cache of the binaries over virtiofs in the VM,
    systemd's first slices, CNI's first bridge); their totals go to res['warmup_ms']."""
    if k <= 0:
        return
    part = {}
    start_pods(rt, image, [f"warm{j}" for j in range(k)], part)
    res["warmup_ms"] = part["times"]["total"]
    if part.get("container_error"):
        res["warmup_error"] = part["container_error"]
    teardown(rt, part)
    res["warmup_teardown_errors"] = part["teardown_errors"]


def start_pods(rt, image, n, res):
    """The timed loop over pods n (a count, or a list of pod indices). After the first failed
    CreateContainer/StartContainer it goes on with pods only (res['container_error'] says
    why)."""
    import grpc
    pb = rt.client.pb
    times = {s: [] for s in STEPS}
    res["pod_ids"] = []
    for i in (range(n) if isinstance(n, int) else n):
        pc = pod_config(pb, rt, i)
        t0 = time.perf_counter()
        pod = rt.client.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc),
                                              timeout=120).pod_sandbox_id
        t1 = time.perf_counter()
        times["RunPodSandbox"].append((t1 - t0) * 1000)
        res["pod_ids"].append(pod)
        if res.get("container_error"):
            continue
        try:
            cid = rt.client.runtime.CreateContainer(pb.CreateContainerRequest(
                pod_sandbox_id=pod, config=ctr_config(pb, image), sandbox_config=pc),
                timeout=120).container_id
            t2 = time.perf_counter()
            rt.client.runtime.StartContainer(pb.StartContainerRequest(container_id=cid),
                                             timeout=120)
            t3 = time.perf_counter()
        except grpc.RpcError as e:
            res["container_error"] = f"pod {i}: {rpc_error(e)}"
            continue
        times["CreateContainer"].append((t2 - t1) * 1000)
        times["StartContainer"].append((t3 - t2) * 1000)
        times["total"].append((t3 - t0) * 1000)
    res["times"] = times


def count_running(rt):
    pb = rt.client.pb
    ctrs = rt.client.runtime.ListContainers(pb.ListContainersRequest(), timeout=60).containers
    return sum(1 for c in ctrs if c.state == pb.CONTAINER_RUNNING), len(ctrs)


def cgroup_placement(rt):
    """With the systemd driver: the processes in this runtime's pod slices, how many distinct
    .scope units hold them, and one cgroup path as an example: proof that the pods went
    where kubelet's systemd driver expects them."""
    from pod_startup_mem import processes
    from pod_startup_runtimes import pod_slice
    stem = "/" + pod_slice(rt.uid_prefix)[:-len(".slice")]
    paths = []
    for p in processes():
        for line in p.cgroup.splitlines():
            if line.startswith("0::") and stem in line:
                paths.append(line[3:])
    scopes = {x for x in paths if x.endswith(".scope")}
    return {"processes": len(paths), "scopes": len(scopes),
            "under_kubepods": sum(1 for x in paths if x.startswith(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod")),
            "example": sorted(paths)[0] if paths else None}


def teardown(rt, res):
    import grpc
    pb = rt.client.pb
    took, errors = [], []
    for pod in res.get("pod_ids", []):
        t0 = time.perf_counter()
        try:
            rt.client.runtime.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod),
                                             timeout=120)
            rt.client.runtime.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod),
                                               timeout=120)
            took.append((time.perf_counter() - t0) * 1000)
        except grpc.RpcError as e:
            errors.append(f"{pod[:12]}: {rpc_error(e)}")
    res["teardown_ms"] = took
    res["teardown_errors"] = errors


def measure_runtime(rt, refs, n, settle, warmup=0):
    """Starts rt, runs the bench, fills and returns the result dict (partial on failure)."""
    from pod_startup_mem import summarize, usage
    res = {"runtime": rt.name, "n": n, "version": rt.version()}
    rt.start()
    res["mem_daemon_start"] = usage(rt.pid)
    res["pull_ms"] = pull_all(rt, [refs["busybox"]] + rt.extra_pulls)
    warm_up(rt, refs["busybox"], warmup, res)
    time.sleep(settle)
    res["mem_0"] = usage(rt.pid)
    # Dirty data left by the pull (or by the runtime measured before) would be written by
    # the first fsync of a pod record (ext4 ordered mode): start both from a clean cache.
    os.sync()
    res["loadavg_before"] = os.getloadavg()
    start_pods(rt, refs["busybox"], n, res)
    res["loadavg_after"] = os.getloadavg()
    time.sleep(settle)
    res["mem_n"] = usage(rt.pid)
    res["monitors"] = summarize(rt.monitor_pids())
    res["pauses"] = summarize(rt.pause_pids(res["pod_ids"]))
    res["running"], res["containers"] = count_running(rt)
    if rt.cgroup_driver == "systemd":
        res["cgroups"] = cgroup_placement(rt)
    if hasattr(rt, "note_netns"):
        for pod in res["pod_ids"]:
            rt.note_netns(pod)
    teardown(rt, res)
    return res


def run_one(rt, refs, n, settle, warmup=0):
    res = {"runtime": rt.name, "n": n}
    try:
        res = measure_runtime(rt, refs, n, settle, warmup)
    except Exception as e:  # reported, the other runtime still runs
        res["error"] = f"{type(e).__name__}: {rpc_error(e)}"
        traceback.print_exc()
    res["log_tail"] = rt.log_tail(40)
    res["log_problems"] = rt.log_problems()
    return res


def on_term(signum, _frame):
    raise SystemExit(128 + signum)  # the finally blocks clean up


def main():
    args = parse_args()
    # Cleanup must also run on SIGTERM, and on SIGINT when started in the background.
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    build = Path(args.build_dir).resolve()
    os.environ["MASCRI_BUILD_DIR"] = str(build)
    sys.path.insert(0, str(TOP / "tests" / "integration"))
    sys.path.insert(0, str(TOP / "bench"))
    from harness.registry import Registry
    import pod_startup_report as report
    import pod_startup_runtimes as runtimes

    tag = f"{os.getpid():06d}"[-6:]
    wanted = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    results = []
    registry = Registry().start()
    try:
        busybox, pause = build_images(registry, build)
        refs = {"busybox": busybox, "pause": pause}
        for name in wanted:
            if name == "containerd" and not runtimes.CONTAINERD:
                print("(containerd is not installed: skipped)")
                continue
            rt = (runtimes.Containerd(tag, registry.host, pause, args.cgroup_driver)
                  if name == "containerd"
                  else runtimes.Mascri(tag, args.log_level, args.cgroup_driver))
            print(f"== {name}: {args.pods} pods ({args.warmup} warm-up), "
                  f"{args.cgroup_driver} cgroup driver", flush=True)
            try:
                results.append(run_one(rt, refs, args.pods, args.settle, args.warmup))
            finally:
                rt.cleanup()
    finally:
        registry.stop()
    for r in results:
        r["cgroup_driver"] = args.cgroup_driver
    report.print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
