"""mascri as a systemd service on a node with systemd as PID 1 and pure cgroup v2: the
installed mascri.service (Type=notify, KillMode=process), the systemd cgroup driver's slices
and scopes with their limits in the v2 files, restarts that lose no pod, OOM kills, and the
README's crictl path. Run inside the test VM by tests/vm/systemd-node.sh, which installs and
starts the unit and sets MASCRI_VM_SERVICE=1: these tests restart the system's mascri, so
they never run elsewhere."""
import json
import os
import subprocess
import time
from pathlib import Path

import grpc
import pytest

from ctr_lib import (create, cstatus, ctr_config, exec_sync, init_pid_of, pull, start,
                     wait_for)
from harness.cri_client import CRIClient
from pods_lib import pod_config, remove, status, stop

pytestmark = pytest.mark.skipif(os.environ.get("MASCRI_VM_SERVICE") != "1",
                                reason="only in the systemd test VM (tests/vm/systemd-node.sh)")

SOCK = "/run/mascri/mascri.sock"
CG = Path("/sys/fs/cgroup")
CRICTL = os.environ.get("MASCRI_CRICTL", "/work/shared/tools/critest/crictl")


def systemctl(*args, check=True):
    r = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=180)
    assert not check or r.returncode == 0, f"systemctl {args}: {r.stdout}{r.stderr}"
    return r.stdout


def show(unit, *props):
    out = systemctl("show", unit, *[f"--property={p}" for p in props])
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def connect():
    c = CRIClient(SOCK)
    wait_for(lambda: _answers(c), timeout=60, what="mascri.service answering")
    return c


def _answers(c):
    try:
        c.runtime.Version(c.pb.VersionRequest(), timeout=5)
        return True
    except grpc.RpcError:
        return False


@pytest.fixture
def cri():
    systemctl("start", "mascri.service")
    c = connect()
    yield c
    pb = c.pb
    try:
        for p in c.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items:
            stop(c, p.id)
            remove(c, p.id)
    finally:
        c.close()


def kube_pod(pb, name, qos="besteffort"):
    """A pod config as kubelet's systemd driver makes it: its own slice as cgroup parent."""
    uid = f"{name}0000"
    cfg = pod_config(pb, name=name, uid=uid)
    cfg.linux.cgroup_parent = f"kubepods-{qos}-pod{uid}.slice"
    return cfg, f"kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{uid}.slice"


def run(cri, cfg):
    return cri.runtime.RunPodSandbox(cri.pb.RunPodSandboxRequest(config=cfg),
                                     timeout=120).pod_sandbox_id


def sleeper(cri, bb, pod_id, cfg, name="app", resources=None, command=("sleep", "3600")):
    pb = cri.pb
    linux = pb.LinuxContainerConfig(resources=resources) if resources else None
    cid = create(cri, pod_id, ctr_config(pb, bb, name=name, command=list(command), linux=linux),
                 cfg)
    start(cri, cid)
    return cid


@pytest.fixture
def bb(cri, test_images):
    pull(cri, test_images["busybox"])
    return test_images["busybox"]


def test_unit_is_notify_and_ready(cri):
    p = show("mascri.service", "Type", "ActiveState", "StatusText", "KillMode", "Delegate",
             "OOMScoreAdjust", "TasksMax", "Restart")
    assert p["Type"] == "notify" and p["ActiveState"] == "active", p
    assert p["StatusText"] == "serving the CRI", p
    assert p["KillMode"] == "process" and p["Delegate"] == "yes" and p["Restart"] == "on-failure"
    assert p["OOMScoreAdjust"] == "-999" and p["TasksMax"] == "infinity"
    rc = cri.runtime.RuntimeConfig(cri.pb.RuntimeConfigRequest(), timeout=10)
    assert rc.linux.cgroup_driver == cri.pb.SYSTEMD


def test_pod_limits_in_v2_files_under_the_slice(cri, bb):
    pb = cri.pb
    cfg, slice_dir = kube_pod(pb, "limits")
    pod = run(cri, cfg)
    res = pb.LinuxContainerResources(memory_limit_in_bytes=64 << 20, cpu_shares=512,
                                     cpu_quota=50000, cpu_period=100000,
                                     unified={"pids.max": "100"})
    cid = sleeper(cri, bb, pod, cfg, resources=res)
    scope = CG / slice_dir / f"mascri-{cid}.scope"
    assert (scope / "memory.max").read_text().strip() == str(64 << 20)
    assert (scope / "cpu.max").read_text().strip() == "50000 100000"
    assert (scope / "cpu.weight").read_text().strip() == "20"  # 1 + (512-2)*9999/262142
    assert (scope / "pids.max").read_text().strip() == "100"
    pid = init_pid_of(cri, cid)
    assert f"0::/{slice_dir}/mascri-{cid}.scope" in Path(f"/proc/{pid}/cgroup").read_text()
    # systemd holds the limits as unit properties too (kept across daemon-reload)
    assert show(f"mascri-{cid}.scope", "MemoryMax")["MemoryMax"] == str(64 << 20)
    systemctl("daemon-reload")
    assert (scope / "memory.max").read_text().strip() == str(64 << 20)
    assert (CG / slice_dir / f"mascri-{pod}.scope").is_dir()  # pause's scope
    # stats from the v2 files
    st = cri.runtime.ContainerStats(pb.ContainerStatsRequest(container_id=cid), timeout=30).stats
    assert st.memory.working_set_bytes.value > 0 and st.cpu.usage_core_nano_seconds.value > 0
    stop(cri, pod)
    remove(cri, pod)
    units = systemctl("list-units", "--all", "--plain", "--no-legend", "mascri-*")
    assert cid not in units and pod not in units, units


def test_pod_without_parent_gets_its_own_slice_removed_with_it(cri, bb):
    pb = cri.pb
    cfg = pod_config(pb, name="noparent")
    pod = run(cri, cfg)
    sleeper(cri, bb, pod, cfg)
    assert (CG / "mascri.slice" / f"mascri-pod{pod}.slice" / f"mascri-{pod}.scope").is_dir()
    stop(cri, pod)
    remove(cri, pod)
    wait_for(lambda: pod not in systemctl("list-units", "--all", "--plain", "--no-legend",
                                          "mascri-*"), timeout=30, what="units gone")
    assert not (CG / "mascri.slice" / f"mascri-pod{pod}.slice").exists()


def test_restart_with_20_running_pods_loses_none(cri, bb):
    pb = cri.pb
    pods = {}
    for i in range(20):
        cfg, _ = kube_pod(pb, f"many{i}")
        pod = run(cri, cfg)
        pods[pod] = (sleeper(cri, bb, pod, cfg), None)
    pods = {p: (c, init_pid_of(cri, c)) for p, (c, _) in pods.items()}
    main_before = show("mascri.service", "MainPID")["MainPID"]
    systemctl("restart", "mascri.service")
    assert show("mascri.service", "MainPID")["MainPID"] != main_before
    cri2 = connect()
    try:
        for pod, (cid, pid) in pods.items():
            assert status(cri2, pod).status.state == pb.SANDBOX_READY
            assert cstatus(cri2, cid).status.state == pb.CONTAINER_RUNNING
            assert init_pid_of(cri2, cid) == pid
    finally:
        cri2.close()


def test_stop_leaves_containers_running(cri, bb):
    pb = cri.pb
    cfg, _ = kube_pod(pb, "survivor")
    pod = run(cri, cfg)
    cid = sleeper(cri, bb, pod, cfg)
    pid = init_pid_of(cri, cid)
    systemctl("stop", "mascri.service")
    assert show("mascri.service", "ActiveState")["ActiveState"] == "inactive"
    os.kill(pid, 0)  # KillMode=process: only mascrid was stopped
    systemctl("start", "mascri.service")
    c = connect()
    try:
        assert cstatus(c, cid).status.state == pb.CONTAINER_RUNNING
        assert init_pid_of(c, cid) == pid
    finally:
        c.close()


def test_oom_killed_container_is_reported(cri, bb):
    pb = cri.pb
    cfg, _ = kube_pod(pb, "oom", qos="burstable")
    pod = run(cri, cfg)
    res = pb.LinuxContainerResources(memory_limit_in_bytes=16 << 20, memory_swap_limit_in_bytes=16 << 20)
    cid = sleeper(cri, bb, pod, cfg, resources=res,
                  command=("sh", "-c", "x=0123456789; while :; do x=$x$x; done"))
    wait_for(lambda: cstatus(cri, cid).status.state == pb.CONTAINER_EXITED, timeout=120,
             what="the container to be OOM-killed")
    st = cstatus(cri, cid).status
    assert st.reason == "OOMKilled", (st.reason, st.exit_code)


def test_readme_crictl_golden_path(cri, bb, tmp_path):
    if not os.access(CRICTL, os.X_OK):
        pytest.skip(f"no crictl at {CRICTL}")
    # crictl's default 2 s deadline is shorter than a create under TCG (the VM): a user on a
    # slow node passes --timeout as well
    ep = ["--runtime-endpoint", f"unix://{SOCK}", "--image-endpoint", f"unix://{SOCK}",
          "--timeout", "60s"]

    def crictl(*args):
        r = subprocess.run([CRICTL, *ep, *args], capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, f"crictl {args}: {r.stdout}{r.stderr}"
        return r.stdout.strip()

    assert "mascri" in crictl("version")
    crictl("pull", bb)
    (tmp_path / "pod.json").write_text(json.dumps({
        "metadata": {"name": "golden", "namespace": "default", "uid": "golden0000"},
        "log_directory": str(tmp_path / "logs"), "linux": {}}))
    (tmp_path / "ctr.json").write_text(json.dumps({
        "metadata": {"name": "app"}, "image": {"image": bb},
        "command": ["sleep", "3600"], "log_path": "app.log", "linux": {}}))
    pod = crictl("runp", str(tmp_path / "pod.json"))
    cid = crictl("create", pod, str(tmp_path / "ctr.json"), str(tmp_path / "pod.json"))
    crictl("start", cid)
    assert "bin" in crictl("exec", "-s", cid, "ls", "/").split()
    assert json.loads(crictl("inspectp", pod))["status"]["state"] == "SANDBOX_READY"
    crictl("stopp", pod)
    crictl("rmp", pod)


def test_child_oom_kill_leaves_the_container_running(cri, bb):
    """A process of the container other than its init killed by the OOM killer: the
    container goes on (kubelet restarts a container only when its init ends)."""
    pb = cri.pb
    cfg, _ = kube_pod(pb, "childoom", qos="burstable")
    pod = run(cri, cfg)
    res = pb.LinuxContainerResources(memory_limit_in_bytes=16 << 20, memory_swap_limit_in_bytes=16 << 20)
    cid = sleeper(cri, bb, pod, cfg, resources=res,
                  command=("sh", "-c", "sh -c 'x=0123456789; while :; do x=$x$x; done'; "
                           "echo survived; exec sleep 3600"))

    def settled():
        if cstatus(cri, cid).status.state != pb.CONTAINER_RUNNING:
            return True
        return b"sleep" in exec_sync(cri, cid, ["cat", "/proc/1/cmdline"]).stdout

    wait_for(settled, timeout=120, what="the child to be OOM-killed")
    time.sleep(2)  # what systemd would do to the scope after the OOM kill
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_RUNNING, (st.state, st.reason, st.exit_code)
