"""Density (issue 15): the stats calls read only each container's own cgroup files and a
writable-layer usage measured in the background (--stats-period), never the mount table per
container; the figures still follow what the container does. Not timed (bench/density.sh
measures)."""
import shutil
import signal
import subprocess
import time

import pytest

from ctr_lib import create, ctr_config, exec_sync, pull, remove, start, stop
from pods_lib import pod_config

SLEEP = ["sleep", "3600"]


@pytest.fixture
def bb(test_images):
    return test_images["busybox"]


def run_pod_with_sleeper(cri, image, name, log_dir):
    pb = cri.pb
    pc = pod_config(pb, name=name)
    pc.log_directory = str(log_dir / name)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cid = create(cri, pod, ctr_config(pb, image, name="sleeper", command=SLEEP), pc)
    start(cri, cid)
    return pod, cid


def stats_of(cri, cid):
    pb = cri.pb
    return cri.runtime.ContainerStats(pb.ContainerStatsRequest(container_id=cid),
                                      timeout=30).stats


def poll(pred, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


def test_stats_follow_memory_and_writable_layer_under_the_cache(daemon_factory, bb):
    period = 1.0
    d = daemon_factory(["--stats-period", str(period)])
    cri = d.client
    pull(cri, bb)
    _pod, cid = run_pod_with_sleeper(cri, bb, "dens-stats", d.log_dir)
    # The first background pass has measured the fresh layer (a few bytes: /etc files).
    before = poll(lambda: (s := stats_of(cri, cid)).writable_layer.timestamp and s, 2 * period)
    assert before.memory.usage_bytes.value > 0
    exec_sync(cri, cid, ["sh", "-c", "head -c 8388608 /dev/urandom > /big && "
                         "head -c 41943040 /dev/zero > /dev/shm/fill"], timeout=60)
    t0 = time.monotonic()
    # Memory is read from the cgroup at each call: there at once (two periods at most).
    mem = poll(lambda: stats_of(cri, cid).memory.usage_bytes.value
               >= before.memory.usage_bytes.value + 35e6, 2 * period)
    assert mem, "the container's new memory did not show within two refresh periods"
    # The writable layer is measured in the background: within two periods (+1 s for a
    # loaded machine).
    grown = poll(lambda: stats_of(cri, cid).writable_layer.used_bytes.value
                 >= before.writable_layer.used_bytes.value + 8e6, 2 * period + 1)
    assert grown, (f"the 8 MiB file did not show in the writable layer within "
                   f"{time.monotonic() - t0:.1f} s")
    after = stats_of(cri, cid)
    assert after.writable_layer.inodes_used.value > before.writable_layer.inodes_used.value
    listed = cri.runtime.ListContainerStats(cri.pb.ListContainerStatsRequest(), timeout=30).stats
    assert [s.attributes.id for s in listed] == [cid]
    assert listed[0].writable_layer.used_bytes.value == after.writable_layer.used_bytes.value
    assert listed[0].memory.usage_bytes.value >= before.memory.usage_bytes.value + 35e6


def opens_during(pid, call):
    """The paths mascrid (every thread) opened while call() ran, from strace."""
    out = subprocess.run(["mktemp"], capture_output=True, text=True, check=True).stdout.strip()
    st = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", out,
                           "-p", str(pid)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # attach to every thread
        call()
        time.sleep(0.3)
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(30)
    with open(out) as f:
        lines = f.read().splitlines()
    subprocess.run(["rm", "-f", out])
    return [l.split('"')[1] for l in lines if '"' in l]


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_stats_and_lists_do_not_read_mountinfo_per_container(daemon_factory, bb):
    # One background pass at start, none during the calls.
    d = daemon_factory(["--stats-period", "3600"])
    cri = d.client
    pb = cri.pb
    pull(cri, bb)
    ids = [run_pod_with_sleeper(cri, bb, f"dens-{i}", d.log_dir)[1] for i in range(20)]

    def calls():
        assert len(cri.runtime.ListContainerStats(pb.ListContainerStatsRequest(),
                                                  timeout=60).stats) == 20
        assert len(cri.runtime.ListPodSandboxStats(pb.ListPodSandboxStatsRequest(),
                                                   timeout=60).stats) == 20
        assert len(cri.runtime.ListContainers(pb.ListContainersRequest(),
                                              timeout=60).containers) == 20
        assert len(cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(),
                                              timeout=60).items) == 20

    paths = opens_during(d.proc.pid, calls)
    mountinfo = [p for p in paths if p.endswith("/mountinfo")]
    assert len(mountinfo) <= 1, f"mountinfo read {len(mountinfo)} times for 20 containers"
    walked = [p for p in paths if "/upper" in p]
    assert not walked, f"a stats call walked writable layers: {walked[:5]}"
    # The cgroup figures are still read per container (its own files), and nothing else
    # names the container in the daemon's state per call.
    assert sum(1 for p in paths if ids[0] in p and p.startswith("/sys/fs/cgroup")) >= 1


def test_list_items_are_what_the_status_calls_show(daemon, bb):
    # ListContainers / ListPodSandbox pack each item straight from the records (no message
    # tree per item): every field they carry must still be the status calls' value, maps
    # included, and the filters still apply.
    cri = daemon.client
    pb = cri.pb
    pull(cri, bb)
    pc = pod_config(pb, name="packed")
    pc.log_directory = str(daemon.log_dir / "packed")
    pc.labels["tier"] = "fe"
    pc.annotations["note"] = "pod ünïcode"
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc, runtime_handler=""),
                                    timeout=60).pod_sandbox_id
    cc = ctr_config(pb, bb, name="sleeper", command=SLEEP)
    cc.labels["app"] = "x"
    cc.annotations["empty"] = ""
    cid = create(cri, pod, cc, pc)
    start(cri, cid)
    other = create(cri, pod, ctr_config(pb, bb, name="other", command=SLEEP), pc)

    ps = cri.runtime.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod),
                                      timeout=30).status
    [item] = cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items
    assert (item.id, item.metadata, item.state, item.created_at, item.runtime_handler) == \
        (ps.id, ps.metadata, ps.state, ps.created_at, ps.runtime_handler)
    assert dict(item.labels) == dict(ps.labels) and dict(item.labels)["tier"] == "fe"
    assert dict(item.annotations) == dict(ps.annotations) == dict(pc.annotations)

    listed = {c.id: c for c in cri.runtime.ListContainers(pb.ListContainersRequest(),
                                                          timeout=30).containers}
    assert set(listed) == {cid, other}
    for c in listed.values():
        st = cri.runtime.ContainerStatus(pb.ContainerStatusRequest(container_id=c.id),
                                         timeout=30).status
        assert c.pod_sandbox_id == pod
        assert (c.metadata, c.image, c.image_ref, c.image_id, c.state, c.created_at) == \
            (st.metadata, st.image, st.image_ref, st.image_id, st.state, st.created_at)
        assert dict(c.labels) == dict(st.labels)
        assert dict(c.annotations) == dict(st.annotations)
    assert dict(listed[cid].labels)["app"] == "x"
    assert dict(listed[cid].annotations)["empty"] == ""
    assert listed[cid].state == pb.CONTAINER_RUNNING and listed[other].state == pb.CONTAINER_CREATED
    running = cri.runtime.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(
        state=pb.ContainerStateValue(state=pb.CONTAINER_RUNNING))), timeout=30).containers
    assert [c.id for c in running] == [cid]
    by_label = cri.runtime.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(
        label_selector={"app": "x"})), timeout=30).containers
    assert [c.id for c in by_label] == [cid]

    # One buffer for the whole response: a later list shows the state as it is now, a
    # removed container is gone, a filter matching nothing gives an empty list.
    stop(cri, cid)
    remove(cri, other)
    [c] = cri.runtime.ListContainers(pb.ListContainersRequest(), timeout=30).containers
    assert (c.id, c.state) == (cid, pb.CONTAINER_EXITED)
    assert c.image_ref == cri.runtime.ContainerStatus(
        pb.ContainerStatusRequest(container_id=cid), timeout=30).status.image_ref
    none = cri.runtime.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(
        id="no-such-container")), timeout=30).containers
    assert list(none) == []
    pods = cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(
        id="no-such-pod")), timeout=30).items
    assert list(pods) == []


def template_table(pin):
    return subprocess.run(["nsenter", f"--mount={pin}", "cat", "/proc/self/mountinfo"],
                          check=True, capture_output=True, text=True).stdout


def test_containers_start_from_the_mount_template(daemon, bb, tmp_path):
    # Containers' mount namespaces are copied from the daemon's template, not from the
    # host's table: the template holds none of the pods' mounts (namespace pins, shm,
    # overlay roots), so it stays the same size as pods are added. What a container takes
    # from the host still arrives: a bind of a host path mounted after the daemon (and its
    # template) started, and a host mount made below it later (HostToContainer).
    cri = daemon.client
    pb = cri.pb
    pull(cri, bb)
    pin = daemon.state / "mount-template" / "mnt"
    assert any(l.split()[4] == str(pin) for l in open("/proc/self/mountinfo")), \
        "no mount namespace template pinned"
    before = template_table(pin)
    for i in range(5):
        run_pod_with_sleeper(cri, bb, f"tmpl-{i}", daemon.log_dir)
    after = template_table(pin)
    host = open("/proc/self/mountinfo").read()
    assert len(after.splitlines()) == len(before.splitlines())
    for line in after.splitlines():
        point = line.split()[4]
        assert not point.startswith((str(daemon.root) + "/", str(daemon.state) + "/")), line
    assert sum(str(daemon.state) in l or str(daemon.root) in l for l in host.splitlines()) >= 10
    vol = tmp_path / "vol"
    vol.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "vol", str(vol)], check=True)
    subprocess.run(["mount", "--make-shared", str(vol)], check=True)
    try:
        check_late_volume(cri, daemon, bb, vol)
    finally:
        subprocess.run(["umount", "-R", "-l", str(vol)], check=False)


def check_late_volume(cri, daemon, bb, vol):
    pb = cri.pb
    (vol / "seen").write_text("from the host\n")
    pc = pod_config(pb, name="tmpl-last")
    pc.log_directory = str(daemon.log_dir / "tmpl-last")
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cid = create(cri, pod, ctr_config(pb, bb, name="sleeper", command=SLEEP, mounts=[
        pb.Mount(container_path="/vol", host_path=str(vol),
                 propagation=pb.PROPAGATION_HOST_TO_CONTAINER)]), pc)
    start(cri, cid)
    assert exec_sync(cri, cid, ["cat", "/vol/seen"]).stdout == b"from the host\n"
    sub = vol / "sub"
    sub.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "late", str(sub)], check=True)
    (sub / "late").write_text("late\n")
    assert poll(lambda: exec_sync(cri, cid, ["cat", "/vol/sub/late"]).stdout == b"late\n", 10)
