"""Upgrading over a release's records: the daemon of RELEASE (built here from git, the last
release whose records held the CRI configs as hex-encoded packed protobuf) runs a pod and
containers; today's daemon takes over the same root and state and loses nothing: the pod
ready, each container in its state with what its config said (labels, annotations, mounts,
image, log path, exit codes), the running one still the same process and reachable by
ExecSync; the records are rewritten as readable JSON and load again after another restart."""
import json
import shutil
import subprocess

import pytest

from ctr_lib import (cstatus, ctr_config, create, exec_sync, init_pid_of, list_ctrs, pull,
                     start, wait_state)
from harness.paths import BUILD_DIR, TOP, binary
from pods_lib import pod_config
from pods_lib import remove as remove_pod
from pods_lib import status as pod_status
from pods_lib import stop as stop_pod

RELEASE = "0b9df46"
RELEASE_BINARIES = ("mascrid", "mascri-monitor", "mascri-pause", "mascri-image")
SLEEPER = ["sh", "-c", "exec sleep 3600"]


@pytest.fixture(scope="module")
def release_bin():
    """The release's binaries, built once per build directory."""
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(TOP), "cat-file", "-e", f"{RELEASE}^{{commit}}"],
            capture_output=True).returncode != 0:
        pytest.skip(f"commit {RELEASE} is not in this checkout (no git, or a shallow clone): "
                    "the upgrade test builds that release")
    out = BUILD_DIR / f"release-{RELEASE}"
    bin_dir = out / "build" / "src"
    if not all((bin_dir / b).exists() for b in RELEASE_BINARIES):
        shutil.rmtree(out, ignore_errors=True)
        (out / "src").mkdir(parents=True)
        subprocess.run(f"git -C '{TOP}' archive {RELEASE} | tar -x -C '{out}/src'", shell=True,
                       check=True)
        subprocess.run(["meson", "setup", str(out / "build"), str(out / "src")], check=True,
                       capture_output=True)
        subprocess.run(["ninja", "-C", str(out / "build")] +
                       [f"src/{b}" for b in RELEASE_BINARIES], check=True, capture_output=True)
    return bin_dir


def rich_pod_config(pb, logs):
    pc = pod_config(pb, name="upgraded", namespace="ns-up", uid="uid-up", attempt=2,
                    hostname="up-host", labels={"app": "up", "tier": "db"},
                    sysctls={"kernel.msgmax": "65536"},
                    dns=pb.DNSConfig(servers=["10.0.0.10"], searches=["svc.local"],
                                     options=["ndots:5"]))
    pc.annotations["note"] = "kept across upgrades"
    pc.log_directory = str(logs / "upgraded")
    return pc


def rich_ctr_config(pb, image, name, command, host_dir):
    linux = pb.LinuxContainerConfig(
        resources=pb.LinuxContainerResources(cpu_shares=512, memory_limit_in_bytes=64 << 20),
        security_context=pb.LinuxContainerSecurityContext(
            capabilities=pb.Capability(add_capabilities=["NET_ADMIN"]), no_new_privs=True,
            run_as_user=pb.Int64Value(value=0), masked_paths=["/proc/kcore"]))
    cc = ctr_config(pb, image, name=name, command=command, env={"GREETING": "hi"},
                    labels={"ctr": name}, workdir="/tmp", linux=linux, stop_signal=pb.SIGTERM,
                    mounts=[pb.Mount(container_path="/data", host_path=str(host_dir),
                                     readonly=True)])
    cc.annotations["ctr-note"] = name
    return cc


def ctr_view(st):
    """What a ContainerStatus must keep across the upgrade."""
    return (st.state, st.metadata.name, st.metadata.attempt, dict(st.labels),
            dict(st.annotations), st.image.image, st.image_ref, st.log_path, st.exit_code,
            st.created_at, st.started_at, st.finished_at, st.reason,
            [(m.container_path, m.host_path, m.readonly) for m in st.mounts],
            (st.resources.linux.cpu_shares, st.resources.linux.memory_limit_in_bytes))


def pod_view(st):
    ns = st.linux.namespaces.options
    return (st.state, st.metadata.name, st.metadata.namespace, st.metadata.uid,
            st.metadata.attempt, dict(st.labels), dict(st.annotations), st.created_at,
            (ns.network, ns.pid, ns.ipc))


def record_config(path):
    return json.loads(path.read_text())["config"]


def test_upgrade_from_release_records(daemon_factory, release_bin, test_images, tmp_path):
    d = daemon_factory(start=False)
    d.mascrid = release_bin / "mascrid"
    d.start()
    cri = d.client
    pb = cri.pb
    image = test_images["busybox"]
    pull(cri, image)
    pc = rich_pod_config(pb, d.log_dir)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    run = create(cri, pod, rich_ctr_config(pb, image, "run", SLEEPER, tmp_path), pc)
    done = create(cri, pod, rich_ctr_config(pb, image, "done", ["sh", "-c", "exit 3"], tmp_path),
                  pc)
    fresh = create(cri, pod, rich_ctr_config(pb, image, "fresh", SLEEPER, tmp_path), pc)
    start(cri, run)
    start(cri, done)
    wait_state(cri, done, pb.CONTAINER_EXITED)
    ctrs = (run, done, fresh)
    before = {c: ctr_view(cstatus(cri, c).status) for c in ctrs}
    pod_before = pod_view(pod_status(cri, pod).status)
    run_pid = init_pid_of(cri, run)
    d.stop()
    pod_record = d.root / "pods" / pod / "pod.json"
    ctr_records = [d.root / "containers" / c / "record.json" for c in ctrs]
    # The release wrote the configs the old way; this is what the test is about.
    assert all(isinstance(record_config(p), str) for p in [pod_record] + ctr_records)

    d.mascrid = binary("mascrid")
    for _ in range(2):  # the first start converts the records, the second reads the new ones
        d.start()
        cri = d.client
        assert pod_view(pod_status(cri, pod).status) == pod_before
        assert {c: ctr_view(cstatus(cri, c).status) for c in ctrs} == before
        assert init_pid_of(cri, run) == run_pid
        assert exec_sync(cri, run, ["sh", "-c", "echo $GREETING; ls /data"]).stdout == b"hi\n"
        assert [c.id for c in list_ctrs(cri, label_selector={"ctr": "done"})] == [done]
        assert [p.id for p in cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(
            filter=pb.PodSandboxFilter(label_selector={"tier": "db"})), timeout=30).items] == [pod]
        d.stop()
        pod_cfg = record_config(pod_record)
        assert isinstance(pod_cfg, dict) and pod_cfg["labels"] == {"app": "up", "tier": "db"}
        for p in ctr_records:
            assert isinstance(record_config(p), dict)

    d.start()
    cri = d.client
    start(cri, fresh)
    assert cstatus(cri, fresh).status.state == pb.CONTAINER_RUNNING
    assert exec_sync(cri, fresh, ["cat", "/proc/self/status"]).exit_code == 0
    stop_pod(cri, pod)
    remove_pod(cri, pod)
    assert list(list_ctrs(cri)) == []
