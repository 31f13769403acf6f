"""Container records: the config is kept as readable JSON (record version 2), and a record of
the older form (version 1: the hex of the packed ContainerConfig) still loads, answers as
before and is rewritten in the current form at once."""
import json
from pathlib import Path

from ctr_lib import create, cstatus, ctr_config, exec_sync, list_ctrs, pull, start
from pods_lib import pod_config


def running_pod(cri, logs, name="rec-pod"):
    pb = cri.pb
    pc = pod_config(pb, name=name)
    pc.log_directory = str(logs / name)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    return pod, pc


def full_config(pb, image, tmp):
    cfg = ctr_config(pb, image, name="rec", command=["sh", "-c", "exec sleep 3600"],
                     labels={"app": "rec", "tier": "x"},
                     mounts=[pb.Mount(container_path="/data", host_path=str(tmp), readonly=True)],
                     stop_signal=pb.SIGKILL)
    cfg.envs.extend([pb.KeyValue(key="DUP", value="first"), pb.KeyValue(key="DUP", value="last")])
    cfg.annotations["example.com/a"] = "1"
    cfg.linux.resources.memory_limit_in_bytes = 64 << 20
    cfg.linux.resources.cpu_shares = 256
    cfg.linux.security_context.run_as_user.value = 0
    return cfg


def record_path(daemon, cid):
    return Path(daemon.root / "containers" / cid / "record.json")


def check_status(cri, cid, tmp):
    pb = cri.pb
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_RUNNING
    assert dict(st.labels) == {"app": "rec", "tier": "x"}
    assert dict(st.annotations) == {"example.com/a": "1"}
    assert [(m.container_path, m.host_path, m.readonly) for m in st.mounts] == \
        [("/data", str(tmp), True)]
    assert st.resources.linux.memory_limit_in_bytes == 64 << 20
    assert st.resources.linux.cpu_shares == 256
    assert st.stop_signal == pb.SIGKILL
    assert [c.id for c in list_ctrs(cri, label_selector={"tier": "x"})] == [cid]


def test_record_config_is_json(daemon, cri, test_images, tmp_path):
    pb = cri.pb
    image = test_images["busybox"]
    pull(cri, image)
    pod, pc = running_pod(cri, daemon.log_dir)
    cid = create(cri, pod, full_config(pb, image, tmp_path), pc)
    rec = json.loads(record_path(daemon, cid).read_text())
    assert rec["version"] == 2
    cfg = rec["config"]
    assert cfg["metadata"]["name"] == "rec"
    assert cfg["labels"] == {"app": "rec", "tier": "x"}
    assert cfg["envs"] == [{"key": "DUP", "value": "first"}, {"key": "DUP", "value": "last"}]
    assert cfg["resources"]["memoryLimitInBytes"] == 64 << 20
    assert cfg["securityContext"]["runAsUser"] == 0
    assert cfg["stopSignal"] == "SIGKILL"


def test_version1_record_is_converted(daemon, cri, test_images, tmp_path):
    pb = cri.pb
    image = test_images["busybox"]
    pull(cri, image)
    pod, pc = running_pod(cri, daemon.log_dir)
    cfg = full_config(pb, image, tmp_path)
    cid = create(cri, pod, cfg, pc)
    start(cri, cid)
    daemon.stop()
    path = record_path(daemon, cid)
    rec = json.loads(path.read_text())
    rec["version"] = 1
    rec["config"] = cfg.SerializeToString().hex()
    path.write_text(json.dumps(rec))
    daemon.start()
    cri = daemon.client
    check_status(cri, cid, tmp_path)
    assert exec_sync(cri, cid, ["sh", "-c", "echo $DUP"]).stdout == b"last\n"
    rec = json.loads(path.read_text())
    assert rec["version"] == 2 and rec["config"]["labels"]["tier"] == "x"
    # what UpdateContainerResources records from now on is in the new form too
    cri.runtime.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=96 << 20)),
        timeout=30)
    assert cstatus(cri, cid).status.resources.linux.memory_limit_in_bytes == 96 << 20
    daemon.stop()
    daemon.start()
    cri = daemon.client
    assert cstatus(cri, cid).status.resources.linux.memory_limit_in_bytes == 96 << 20
    assert json.loads(path.read_text())["config"]["resources"]["memoryLimitInBytes"] == 96 << 20


def test_corrupt_config_skips_the_record(daemon, cri, test_images, tmp_path):
    """A config that is neither hex of a ContainerConfig nor of the current shape: the record
    is skipped as any corrupt record is, and the daemon serves the others."""
    pb = cri.pb
    image = test_images["busybox"]
    pull(cri, image)
    pod, pc = running_pod(cri, daemon.log_dir)
    bad = {cid: create(cri, pod, ctr_config(pb, image, name=name, command=["true"]), pc)
           for cid, name in (("hex", "bad-hex"), ("shape", "bad-shape"))}
    good = create(cri, pod, ctr_config(pb, image, name="good", command=["true"]), pc)
    daemon.stop()
    for what, value in (("hex", "zz"), ("shape", {"mounts": {"not": "a list"}})):
        path = record_path(daemon, bad[what])
        rec = json.loads(path.read_text())
        rec["config"] = value
        path.write_text(json.dumps(rec))
    daemon.start()
    cri = daemon.client
    assert [c.id for c in list_ctrs(cri)] == [good]
