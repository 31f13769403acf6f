"""CRI containers through mascrid with a grpcio client: the golden path (pull, run a pod,
create, start, list, status, exec, stop, remove), containers joining the pod's namespaces,
exit codes, logs in the CRI format, ExecSync (output, exit codes, timeout, 16 MiB cap),
errors, filters, events, stats, resource updates, log reopening, daemon restarts."""
import json
import os
import threading
import time
from pathlib import Path

import grpc
import pytest

from ctr_lib import (code, create, cstatus, ctr_config, exec_sync, list_ctrs, log_records,
                     pod_with_container, pull, remove, start, stop, wait_for, wait_state)
from harness.images import build_image, busybox_layer_tar, push_image
from pods_lib import pod_config
from pods_lib import remove as remove_pod
from pods_lib import stop as stop_pod

SLEEPER = ["sh", "-c", "echo hello out; echo hello err >&2; exec sleep 3600"]


@pytest.fixture
def bb(cri, test_images):
    ref = test_images["busybox"]
    pull(cri, ref)
    return ref


@pytest.fixture
def logs(daemon):
    return daemon.log_dir


def running_pod(cri, logs, name="ctr-pod", **kw):
    pb = cri.pb
    pc = pod_config(pb, name=name, **kw)
    pc.log_directory = str(logs / name)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    return pod, pc


def init_pid(cri, cid):
    return json.loads(cstatus(cri, cid, verbose=True).info["info"])["pid"]


def test_golden_path(cri, bb, logs, daemon):
    pb = cri.pb
    assert any(bb in i.repo_tags for i in
               cri.image.ListImages(pb.ListImagesRequest(), timeout=30).images)
    pod, pc = running_pod(cri, logs, pid_pod=False)
    cid = create(cri, pod, ctr_config(pb, bb, name="web", command=SLEEPER,
                                      labels={"app": "web"}), pc)
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_CREATED and st.created_at > 0 and st.started_at == 0
    assert st.metadata.name == "web" and st.image.image == bb
    assert st.image_id.startswith("sha256:") and st.labels["app"] == "web"
    start(cri, cid)
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_RUNNING and st.started_at >= st.created_at
    # crictl ps / pods
    items = list_ctrs(cri)
    assert [c.id for c in items] == [cid] and items[0].pod_sandbox_id == pod
    assert items[0].state == pb.CONTAINER_RUNNING
    # The container joined the pod's network, IPC and UTS namespaces; its own mount and pid.
    pinfo = json.loads(cri.runtime.PodSandboxStatus(pb.PodSandboxStatusRequest(
        pod_sandbox_id=pod, verbose=True), timeout=30).info["info"])
    pid = init_pid(cri, cid)
    for ns in ("net", "ipc", "uts"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{pinfo['pid']}/ns/{ns}")
    for ns in ("mnt", "pid"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")
    # crictl exec -s CONTAINER_ID ls /
    r = exec_sync(cri, cid, ["ls", "/"])
    assert r.exit_code == 0 and b"bin" in r.stdout.split() and r.stderr == b""
    # crictl inspect
    inf = json.loads(cstatus(cri, cid, verbose=True).info["info"])
    assert inf["sandboxID"] == pod and inf["runtimeSpec"]["process"]["args"] == SLEEPER
    # Logs in the CRI format.
    log = Path(st.log_path)
    assert log == logs / "ctr-pod" / "web" / "0.log"
    recs = wait_for(lambda: len(log_records(log)) >= 2 and log_records(log), what="logs")
    assert {(s, t, c) for _, s, t, c in recs} == {("stdout", "F", "hello out"),
                                                  ("stderr", "F", "hello err")}
    # crictl stop: sleep as PID 1 ignores SIGTERM, so the grace period ends with SIGKILL.
    t0 = time.monotonic()
    stop(cri, cid, timeout=1)
    assert time.monotonic() - t0 >= 0.9
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 137 and st.reason == "Error"
    assert st.finished_at >= st.started_at
    stop(cri, cid)  # idempotent
    remove(cri, cid)
    assert list(list_ctrs(cri)) == []
    assert not (daemon.root / "containers" / cid).exists()
    remove(cri, cid)  # removing what is gone is fine
    stop_pod(cri, pod)
    remove_pod(cri, pod)


def test_exit_codes_and_reasons(cri, bb, logs):
    pb = cri.pb
    # A shared pid namespace (pause is PID 1), so a container's main process can be killed
    # by a signal it does not handle (a PID 1 would ignore it).
    pod, pc = running_pod(cri, logs, pid_pod=True)
    cases = {"ok": (["true"], 0, "Completed"), "three": (["sh", "-c", "exit 3"], 3, "Error"),
             "term": (["sh", "-c", "kill -TERM $$; sleep 5"], 143, "Error")}
    shared = pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
        namespace_options=pb.NamespaceOption(network=pb.POD, ipc=pb.POD, pid=pb.POD)))
    ids = {}
    for name, (cmd, _, _) in cases.items():
        ids[name] = create(cri, pod, ctr_config(pb, bb, name=name, command=cmd, linux=shared), pc)
        start(cri, ids[name])
    # They share the pod's pid namespace, pause's.
    pause_pid = json.loads(cri.runtime.PodSandboxStatus(pb.PodSandboxStatusRequest(
        pod_sandbox_id=pod, verbose=True), timeout=30).info["info"])["pid"]
    watch = create(cri, pod, ctr_config(pb, bb, name="watch", command=SLEEPER, linux=shared), pc)
    start(cri, watch)
    assert os.readlink(f"/proc/{init_pid(cri, watch)}/ns/pid") == \
        os.readlink(f"/proc/{pause_pid}/ns/pid")
    for name, (_, want, reason) in cases.items():
        st = wait_state(cri, ids[name], pb.CONTAINER_EXITED)
        assert (st.exit_code, st.reason) == (want, reason), name
        assert st.finished_at > 0
    stop_pod(cri, pod)
    remove_pod(cri, pod)
    assert list(list_ctrs(cri)) == []


def children(pid):
    """{pid: state} of pid's children, from /proc."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            out[int(d)] = stat[0]
    return out


def test_pause_reaps_the_orphans_of_a_shared_pid_namespace(cri, bb, logs):
    # pause is PID 1 of a pod's shared pid namespace: a process whose parent exits is
    # reparented to it and must not stay a zombie once it exits; SIGTERM stops pause with 0.
    pb = cri.pb
    pod, pc = running_pod(cri, logs, pid_pod=True)
    shared = pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
        namespace_options=pb.NamespaceOption(network=pb.POD, ipc=pb.POD, pid=pb.POD)))
    pause_pid = json.loads(cri.runtime.PodSandboxStatus(pb.PodSandboxStatusRequest(
        pod_sandbox_id=pod, verbose=True), timeout=30).info["info"])["pid"]
    cid = create(cri, pod, ctr_config(pb, bb, name="orphans", linux=shared, command=[
        "sh", "-c", "for i in 1 2 3; do sh -c 'sleep 2 &'; done; exec sleep 3600"]), pc)
    start(cri, cid)
    assert wait_for(lambda: len(children(pause_pid)) == 3, timeout=10, what="orphans adopted")
    assert wait_for(lambda: children(pause_pid) == {}, timeout=15, what="orphans reaped")
    # a double-forked child exiting at once, many times: none left as a zombie
    r = exec_sync(cri, cid, ["sh", "-c", "for i in $(seq 20); do (true &); done"])
    assert r.exit_code == 0
    assert wait_for(lambda: children(pause_pid) == {}, timeout=10, what="orphans reaped")
    stop_pod(cri, pod)
    assert not Path(f"/proc/{pause_pid}").exists() or \
        Path(f"/proc/{pause_pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    remove_pod(cri, pod)


def test_stop_with_grace_period_uses_the_stop_signal(cri, bb, logs):
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    trap = ["sh", "-c", "trap 'echo got term; exit 7' TERM; while true; do sleep 0.1; done"]
    cid = create(cri, pod, ctr_config(pb, bb, name="trap", command=trap), pc)
    start(cri, cid)
    time.sleep(0.3)
    stop(cri, cid, timeout=20)
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 7
    assert ("stdout", "F", "got term") in [r[1:] for r in log_records(st.log_path)]
    # SIGKILL right away with timeout 0: nothing gets trapped.
    cid2 = create(cri, pod, ctr_config(pb, bb, name="trap2", command=trap), pc)
    start(cri, cid2)
    stop(cri, cid2, timeout=0)
    assert cstatus(cri, cid2).status.exit_code == 137


def test_stop_signal_waits_for_the_handler_of_a_fresh_init(cri, bb, logs):
    """The init of the container's PID namespace installs its TERM handler only 0.5 s after
    it starts; a StopContainer sent at once must not lose the signal to the kernel (which
    drops it while there is no handler) and must not send it twice either."""
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    late = ["sh", "-c", "sleep 0.5; n=0; trap 'n=$((n+1)); echo term $n' TERM; "
            "while [ $n -eq 0 ]; do sleep 0.05; done; sleep 1; exit $((10+n))"]
    cid = create(cri, pod, ctr_config(pb, bb, name="late", command=late), pc)
    start(cri, cid)
    t0 = time.monotonic()
    stop(cri, cid, timeout=30)
    took = time.monotonic() - t0
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 11, (st.exit_code, took)
    assert took < 10
    assert [r[3] for r in log_records(st.log_path) if r[1] == "stdout"] == ["term 1"]


def test_errors(cri, bb, logs, registry):
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    missing = registry.ref("mascri-test/never-pulled")
    with pytest.raises(grpc.RpcError) as e:
        create(cri, pod, ctr_config(pb, missing, name="x", command=["true"]), pc)
    assert code(e) == grpc.StatusCode.NOT_FOUND and "mascri-test/never-pulled" in e.value.details()
    cid = create(cri, pod, ctr_config(pb, bb, name="dup", command=SLEEPER), pc)
    with pytest.raises(grpc.RpcError) as e:
        create(cri, pod, ctr_config(pb, bb, name="dup", command=SLEEPER), pc)
    assert code(e) == grpc.StatusCode.ALREADY_EXISTS and cid in e.value.details()
    # Another attempt of the same name is a different container.
    create(cri, pod, ctr_config(pb, bb, name="dup", attempt=1, command=SLEEPER), pc)
    with pytest.raises(grpc.RpcError) as e:
        create(cri, "0" * 64, ctr_config(pb, bb, name="y", command=["true"]), pc)
    assert code(e) == grpc.StatusCode.NOT_FOUND
    for bad in (pb.ContainerConfig(image=pb.ImageSpec(image=bb)),
                ctr_config(pb, "", name="noimage"),
                ctr_config(pb, bb, name="abs-log", log_path="/etc/passwd")):
        with pytest.raises(grpc.RpcError) as e:
            create(cri, pod, bad, pc)
        assert code(e) == grpc.StatusCode.INVALID_ARGUMENT, bad
    # An image without any command, and no command in the config.
    nocmd = push_image(registry, "mascri-test/nocmd", "latest",
                       build_image([busybox_layer_tar()], config={"Env": ["PATH=/bin"]}))
    pull(cri, nocmd)
    with pytest.raises(grpc.RpcError) as e:
        create(cri, pod, ctr_config(pb, nocmd, name="nocmd"), pc)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT and "no command" in e.value.details()
    # A command missing from the image fails CreateContainer (as runc's create does), and
    # the failed create leaves nothing behind: the name can be used again.
    for cmd in (["/no/such/cmd"], ["no-such-cmd-in-path"]):
        with pytest.raises(grpc.RpcError) as e:
            create(cri, pod, ctr_config(pb, bb, name="missing", command=cmd), pc)
        assert code(e) == grpc.StatusCode.NOT_FOUND and cmd[0] in e.value.details()
    ok = create(cri, pod, ctr_config(pb, bb, name="missing", command=["true"]), pc)
    remove(cri, ok)
    unknown = "f" * 64
    for call in (lambda: cstatus(cri, unknown), lambda: start(cri, unknown),
                 lambda: exec_sync(cri, unknown, ["true"])):
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert code(e) == grpc.StatusCode.NOT_FOUND
    # StopContainer and RemoveContainer are idempotent (CRI): an unknown id is OK.
    stop(cri, unknown)
    stop(cri, unknown, timeout=0)
    remove(cri, unknown)
    start(cri, cid)
    with pytest.raises(grpc.RpcError) as e:
        start(cri, cid)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    # Nothing failed creations made is left.
    names = sorted(c.metadata.name for c in list_ctrs(cri))
    assert names == ["dup", "dup"]
    stop_pod(cri, pod)
    # A container in a stopped pod cannot be created.
    with pytest.raises(grpc.RpcError) as e:
        create(cri, pod, ctr_config(pb, bb, name="late", command=["true"]), pc)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    remove_pod(cri, pod)
    assert list(list_ctrs(cri)) == []


def test_exec_sync(cri, bb, logs):
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    cid = create(cri, pod, ctr_config(pb, bb, name="ex", command=SLEEPER,
                                      env={"FOO": "bar"}, workdir="/tmp"), pc)
    start(cri, cid)
    r = exec_sync(cri, cid, ["sh", "-c", "echo $FOO; pwd; echo oops >&2; exit 5"])
    assert (r.stdout, r.stderr, r.exit_code) == (b"bar\n/tmp\n", b"oops\n", 5)
    # Output beyond 16 MiB per stream is cut (CVE-2022-1708 class).
    r = exec_sync(cri, cid, ["sh", "-c", "head -c 17825792 /dev/zero"], timeout=60)
    assert r.exit_code == 0 and len(r.stdout) == 16 * 1024 * 1024
    # A background process that keeps stdout open does not hold ExecSync after the command
    # itself has exited (no timeout given).
    r = exec_sync(cri, cid, ["sh", "-c", "sleep 30 & echo started"])
    assert (r.exit_code, r.stdout) == (0, b"started\n")
    # A command past its timeout is killed: DEADLINE_EXCEEDED.
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        exec_sync(cri, cid, ["sleep", "60"], timeout=1)
    assert code(e) == grpc.StatusCode.DEADLINE_EXCEEDED and "timed out" in e.value.details()
    assert time.monotonic() - t0 < 30
    assert "sleep 60" not in exec_sync(cri, cid, ["ps", "-o", "args"]).stdout.decode()
    # A command that does not exist: NOT_FOUND naming it (the runtime's error kind passes
    # through the monitor).
    with pytest.raises(grpc.RpcError) as e:
        exec_sync(cri, cid, ["/no/such/binary"])
    assert code(e) == grpc.StatusCode.NOT_FOUND and "/no/such/binary" in e.value.details()
    stop(cri, cid)
    with pytest.raises(grpc.RpcError) as e:
        exec_sync(cri, cid, ["true"])
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION


def test_device_rules_are_enforced(cri, bb, logs):
    """A container may make any device node (CAP_MKNOD, the default 'c/b *:* m' rules) but
    open only the allowed ones: the v1 devices controller on v1/hybrid hosts, the eBPF device
    program on pure v2 (where, without it, nothing stops the open)."""
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    cid = create(cri, pod, ctr_config(pb, bb, name="dev", command=SLEEPER), pc)
    start(cri, cid)
    # /dev/kmsg (c 1:11) is not in the allowed set; opened write-only, as root may anywhere
    r = exec_sync(cri, cid, ["sh", "-c", "mknod /tmp/kmsg c 1 11 || exit 3; : > /tmp/kmsg"])
    assert r.exit_code not in (0, 3), r
    assert b"Operation not permitted" in r.stderr, r
    # an allowed device opens, through /dev and through a node the container made
    r = exec_sync(cri, cid, ["sh", "-c", "echo x > /dev/null && mknod /tmp/null c 1 3 && "
                             "echo x > /tmp/null && head -c 4 /tmp/null && echo ok"])
    assert (r.exit_code, r.stdout) == (0, b"ok\n"), r
    stop(cri, cid)


def test_image_config_is_used(cri, test_images, logs):
    pb = cri.pb
    entry, user = test_images["entrypoint"], test_images["user"]
    pull(cri, entry)
    pull(cri, user)
    pod, pc = running_pod(cri, logs)
    # Entrypoint + Cmd of the image, its WorkingDir and Env.
    c1 = create(cri, pod, ctr_config(pb, entry, name="entry"), pc)
    start(cri, c1)
    st = wait_state(cri, c1, pb.CONTAINER_EXITED)
    assert st.exit_code == 0
    assert [r[3] for r in log_records(st.log_path)] == ["entry cmd-arg"]
    # args replace Cmd only; command replaces both.
    c2 = create(cri, pod, ctr_config(pb, entry, name="args", args=["other"]), pc)
    start(cri, c2)
    assert [r[3] for r in log_records(wait_state(cri, c2, pb.CONTAINER_EXITED).log_path)] == \
        ["entry other"]
    c3 = create(cri, pod, ctr_config(pb, entry, name="env", command=["sh", "-c"],
                                     args=["echo $GREETING:$(pwd):$(id -u)"],
                                     env={"EXTRA": "1"}), pc)
    start(cri, c3)
    assert [r[3] for r in log_records(wait_state(cri, c3, pb.CONTAINER_EXITED).log_path)] == \
        ["hello:/work:0"]
    # The image's USER.
    c4 = create(cri, pod, ctr_config(pb, user, name="user"), pc)
    start(cri, c4)
    out = [r[3] for r in log_records(wait_state(cri, c4, pb.CONTAINER_EXITED).log_path)]
    assert out and out[0].startswith("uid=1000(app) gid=1000(app)")


def test_list_filters(cri, bb, logs):
    pb = cri.pb
    p1, pc1 = running_pod(cri, logs, name="f1")
    p2, pc2 = running_pod(cri, logs, name="f2")
    a = create(cri, p1, ctr_config(pb, bb, name="a", command=SLEEPER, labels={"tier": "x"}), pc1)
    b = create(cri, p2, ctr_config(pb, bb, name="b", command=SLEEPER, labels={"tier": "y"}), pc2)
    start(cri, b)
    assert {c.id for c in list_ctrs(cri)} == {a, b}
    assert [c.id for c in list_ctrs(cri, id=a)] == [a]
    assert [c.id for c in list_ctrs(cri, id=a[:12])] == [a]
    assert [c.id for c in list_ctrs(cri, pod_sandbox_id=p2)] == [b]
    assert [c.id for c in list_ctrs(cri, state=pb.ContainerStateValue(
        state=pb.CONTAINER_RUNNING))] == [b]
    assert [c.id for c in list_ctrs(cri, state=pb.ContainerStateValue(
        state=pb.CONTAINER_CREATED))] == [a]
    assert [c.id for c in list_ctrs(cri, label_selector={"tier": "x"})] == [a]
    assert list(list_ctrs(cri, label_selector={"tier": "z"})) == []
    # Status by a unique prefix.
    assert cstatus(cri, b[:16]).status.id == b


def test_events_stream(cri, bb, logs):
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    got = []
    stream = cri.runtime.GetContainerEvents(pb.GetEventsRequest(), timeout=60)

    def reader():
        try:
            for ev in stream:
                got.append((ev.container_id, ev.container_event_type))
                if ev.container_event_type == pb.CONTAINER_DELETED_EVENT:
                    return
        except grpc.RpcError:
            pass

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    cid = create(cri, pod, ctr_config(pb, bb, name="ev", command=["sh", "-c", "sleep 0.5"]), pc)
    start(cri, cid)
    wait_state(cri, cid, pb.CONTAINER_EXITED)
    remove(cri, cid)
    t.join(30)
    stream.cancel()
    types = [ty for c, ty in got if c == cid]
    assert types == [pb.CONTAINER_CREATED_EVENT, pb.CONTAINER_STARTED_EVENT,
                     pb.CONTAINER_STOPPED_EVENT, pb.CONTAINER_DELETED_EVENT]


def test_stats_move_with_memory_and_disk(cri, bb, logs):
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    cid = create(cri, pod, ctr_config(pb, bb, name="stats", command=SLEEPER), pc)
    start(cri, cid)

    def stats():
        return cri.runtime.ContainerStats(pb.ContainerStatsRequest(container_id=cid),
                                          timeout=30).stats

    before = stats()
    assert before.attributes.id == cid and before.cpu.usage_core_nano_seconds.value > 0
    exec_sync(cri, cid, ["sh", "-c", "head -c 8388608 /dev/urandom > /big && "
                         "head -c 41943040 /dev/zero > /dev/shm/fill"], timeout=60)
    # The writable layer is measured in the background every --stats-period (10 s here).
    after = wait_for(lambda: (s := stats()).writable_layer.used_bytes.value
                     >= before.writable_layer.used_bytes.value + 8e6 and s, timeout=25,
                     what="the 8 MiB file in the writable layer")
    assert after.writable_layer.inodes_used.value > before.writable_layer.inodes_used.value
    assert after.memory.usage_bytes.value >= before.memory.usage_bytes.value + 35e6
    assert after.memory.working_set_bytes.value > 0
    listed = cri.runtime.ListContainerStats(pb.ListContainerStatsRequest(
        filter=pb.ContainerStatsFilter(pod_sandbox_id=pod)), timeout=30).stats
    assert [s.attributes.id for s in listed] == [cid]


def test_update_resources_and_reopen_log(cri, bb, logs):
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    loop = ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done"]
    cid = create(cri, pod, ctr_config(pb, bb, name="upd", command=loop), pc)
    start(cri, cid)
    cri.runtime.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(
            memory_limit_in_bytes=64 * 1024 * 1024, cpu_shares=512)), timeout=30)
    pid = init_pid(cri, cid)
    cg = {l.split(":")[1]: l.split(":")[2] for l in
          Path(f"/proc/{pid}/cgroup").read_text().splitlines()}
    if "memory" in cg:  # a v1 memory hierarchy (hybrid hosts)
        mem = Path("/sys/fs/cgroup/memory") / cg["memory"].lstrip("/") / "memory.limit_in_bytes"
        if mem.exists():
            assert int(mem.read_text()) == 64 * 1024 * 1024
    else:  # pure v2: only the unified "0::" line, and the limit is memory.max
        mem = Path("/sys/fs/cgroup") / cg[""].lstrip("/") / "memory.max"
        assert int(mem.read_text()) == 64 * 1024 * 1024
    st = cstatus(cri, cid).status
    assert st.resources.linux.memory_limit_in_bytes == 64 * 1024 * 1024
    # kubelet's rotation: rename, then ReopenContainerLog; new lines land in a new file.
    log = Path(st.log_path)
    wait_for(lambda: log.exists() and log.stat().st_size > 0, what="log lines")
    rotated = log.with_suffix(".log.1")
    log.rename(rotated)
    cri.runtime.ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=cid), timeout=30)
    wait_for(lambda: log.exists() and len(log_records(log)) >= 3, what="lines after reopen")
    old, new = log_records(rotated), log_records(log)
    assert int(new[0][3].split()[1]) > int(old[-1][3].split()[1]) - 2
    stop(cri, cid)
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=cid), timeout=30)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION


def test_containers_survive_a_daemon_restart(daemon, bb, logs):
    cri = daemon.client
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    loop = ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"]
    keep = create(cri, pod, ctr_config(pb, bb, name="keep", command=loop), pc)
    dies = create(cri, pod, ctr_config(pb, bb, name="dies", command=SLEEPER), pc)
    done = create(cri, pod, ctr_config(pb, bb, name="done", command=["sh", "-c", "exit 4"]), pc)
    fresh = create(cri, pod, ctr_config(pb, bb, name="fresh", command=SLEEPER), pc)
    for c in (keep, dies, done):
        start(cri, c)
    wait_state(cri, done, pb.CONTAINER_EXITED)
    keep_pid, dies_pid = init_pid(cri, keep), init_pid(cri, dies)
    log = Path(cstatus(cri, keep).status.log_path)
    daemon.stop()
    os.kill(dies_pid, 9)
    n_down = len(log_records(log))
    time.sleep(0.5)
    daemon.start()
    cri = daemon.client
    st = {c: cstatus(cri, c).status for c in (keep, dies, done, fresh)}
    assert st[keep].state == pb.CONTAINER_RUNNING and init_pid(cri, keep) == keep_pid
    assert (st[dies].state, st[dies].exit_code) == (pb.CONTAINER_EXITED, 137)
    assert (st[done].state, st[done].exit_code) == (pb.CONTAINER_EXITED, 4)
    assert st[fresh].state == pb.CONTAINER_CREATED
    # Logs went on while mascrid was down, and go on.
    assert n_down > 0
    wait_for(lambda: len(log_records(log)) > n_down + 5, what="more log lines")
    start(cri, fresh)
    assert cstatus(cri, fresh).status.state == pb.CONTAINER_RUNNING
    assert exec_sync(cri, keep, ["echo", "still here"]).stdout == b"still here\n"
    stop_pod(cri, pod)
    assert all(cstatus(cri, c).status.state == pb.CONTAINER_EXITED for c in (keep, fresh))
    remove_pod(cri, pod)
    assert list(list_ctrs(cri)) == []


def test_host_reboot_reconciles_to_exited(daemon, bb, logs):
    """/run emptied (as after a reboot): running containers come back EXITED, nothing
    crashes, and they can be removed."""
    cri = daemon.client
    pb = cri.pb
    pod, pc = running_pod(cri, logs)
    cid = create(cri, pod, ctr_config(pb, bb, name="reboot", command=SLEEPER), pc)
    start(cri, cid)
    pid = init_pid(cri, cid)
    daemon.stop()
    info = json.loads(Path(daemon.root / "containers" / cid / "record.json").read_text())
    os.kill(info["monitorPid"], 9)
    os.kill(pid, 9)
    time.sleep(0.3)
    (daemon.state / "exits" / cid).unlink(missing_ok=True)
    daemon.start()
    cri = daemon.client
    st = cstatus(cri, cid).status
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 255 and st.message
    remove(cri, cid)
    assert list(list_ctrs(cri)) == []
