"""Helpers of the CRI container tests (test_cri_containers*.py, test_cri_net.py)."""
import re
import time

import grpc

from harness.wait import wait_for  # noqa: F401 (the container tests take it from here)
from pods_lib import run_pod

LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:[+-]\d\d:\d\d|Z)) (stdout|stderr) ([FP]) (.*)$")


def pull(cri, ref):
    pb = cri.pb
    return cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)),
                               timeout=120).image_ref


def ctr_config(pb, image, name="app", command=None, args=None, attempt=0, env=None,
               labels=None, log_path=None, mounts=None, workdir="", tty=False, linux=None,
               stop_signal=None, devices=None):
    kw = {}
    if stop_signal is not None:
        kw["stop_signal"] = stop_signal
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=attempt),
        image=pb.ImageSpec(image=image), command=command or [], args=args or [],
        envs=[pb.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
        labels=labels or {}, log_path=log_path or f"{name}/{attempt}.log",
        mounts=mounts or [], devices=devices or [], working_dir=workdir, tty=tty, linux=linux, **kw)


def create(cri, pod_id, config, pod_config=None):
    pb = cri.pb
    return cri.runtime.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=config, sandbox_config=pod_config), timeout=60).container_id


def start(cri, cid):
    cri.runtime.StartContainer(cri.pb.StartContainerRequest(container_id=cid), timeout=60)


def stop(cri, cid, timeout=0):
    cri.runtime.StopContainer(cri.pb.StopContainerRequest(container_id=cid, timeout=timeout),
                              timeout=timeout + 60)


def remove(cri, cid):
    cri.runtime.RemoveContainer(cri.pb.RemoveContainerRequest(container_id=cid), timeout=60)


def cstatus(cri, cid, verbose=False):
    return cri.runtime.ContainerStatus(
        cri.pb.ContainerStatusRequest(container_id=cid, verbose=verbose), timeout=30)


def list_ctrs(cri, **filt):
    pb = cri.pb
    f = pb.ContainerFilter(**filt) if filt else None
    return cri.runtime.ListContainers(pb.ListContainersRequest(filter=f), timeout=30).containers


def init_pid_of(cri, cid):
    """The host pid of the container's init (from ContainerStatus' verbose info)."""
    import json
    return json.loads(cstatus(cri, cid, verbose=True).info["info"])["pid"]


def exec_sync(cri, cid, cmd, timeout=0):
    return cri.runtime.ExecSync(cri.pb.ExecSyncRequest(container_id=cid, cmd=cmd,
                                                       timeout=timeout), timeout=timeout + 60)


def wait_state(cri, cid, state, timeout=30):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = cstatus(cri, cid).status
        if st.state == state:
            return st
        time.sleep(0.05)
    raise AssertionError(f"container {cid} is {st.state if st else '?'}, wanted {state}")


def log_records(path):
    """[(time, stream, tag, content)] of a CRI log file; asserts every line is well-formed."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f.read().split("\n")[:-1]:
            m = LOG_LINE.match(line)
            assert m, f"malformed CRI log line: {line!r}"
            out.append(m.groups())
    return out


def pod_with_container(cri, image, pod_name="ctr-pod", log_dir=None, **ckw):
    """(pod_id, container_id, pod_config) with the container created and started."""
    pb = cri.pb
    from pods_lib import pod_config
    pc = pod_config(pb, name=pod_name)
    if log_dir:
        pc.log_directory = str(log_dir)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cid = create(cri, pod, ctr_config(pb, image, **ckw), pc)
    start(cri, cid)
    return pod, cid, pc


def code(exc_info):
    return exc_info.value.code()


__all__ = ["grpc", "run_pod"]
