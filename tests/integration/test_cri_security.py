"""CreateContainer's security context, mounts and devices, checked from inside the running
container and through the host's view of its init process: users and groups, capabilities,
no_new_privs, seccomp, read-only rootfs, masked paths, privileged containers, bind mounts
with propagation and read-only, devices."""
import json
import os
import subprocess

import grpc
import pytest

from ctr_lib import code, create, ctr_config, exec_sync, init_pid_of, pull, start, wait_for
from pods_lib import pod_config
from pods_lib import remove as remove_pod
from pods_lib import stop as stop_pod

SLEEP = ["sleep", "3600"]


@pytest.fixture
def bb(cri, test_images):
    pull(cri, test_images["busybox"])
    return test_images["busybox"]


@pytest.fixture
def pod(cri, daemon):
    pb = cri.pb
    pc = pod_config(pb, name="sec")
    pc.log_directory = str(daemon.log_dir / "sec")
    pc.linux.security_context.privileged = True  # allows privileged containers in it
    pid = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    yield pid, pc
    stop_pod(cri, pid)
    remove_pod(cri, pid)


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def run(cri, pod, image, name, sc=None, **kw):
    pb = cri.pb
    pid, pc = pod
    linux = pb.LinuxContainerConfig(security_context=sc) if sc is not None else None
    cid = create(cri, pid, ctr_config(pb, image, name=name, command=kw.pop("command", SLEEP),
                                      linux=linux, **kw), pc)
    start(cri, cid)
    return cid


def test_users_and_groups(cri, pod, bb):
    pb = cri.pb
    sc = pb.LinuxContainerSecurityContext(run_as_user=pb.Int64Value(value=1234),
                                          run_as_group=pb.Int64Value(value=4321),
                                          supplemental_groups=[777, 888])
    cid = run(cri, pod, bb, "ids", sc)
    st = status_fields(init_pid_of(cri, cid))
    assert st["Uid"].split() == ["1234"] * 4 and st["Gid"].split() == ["4321"] * 4
    assert sorted(st["Groups"].split()) == ["777", "888"]
    r = exec_sync(cri, cid, ["id"])
    assert r.exit_code == 0 and b"uid=1234" in r.stdout and b"gid=4321" in r.stdout
    # A user name resolved in the image's /etc/passwd, and one that does not exist.
    cid = run(cri, pod, bb, "byname", pb.LinuxContainerSecurityContext(run_as_username="nobody"))
    assert status_fields(init_pid_of(cri, cid))["Uid"].split()[0] == "65534"
    with pytest.raises(grpc.RpcError) as e:
        run(cri, pod, bb, "ghost", pb.LinuxContainerSecurityContext(run_as_username="ghost"))
    assert code(e) == grpc.StatusCode.NOT_FOUND and "ghost" in e.value.details()
    # run_as_group needs run_as_user or run_as_username (CRI); with the name it is fine.
    with pytest.raises(grpc.RpcError) as e:
        run(cri, pod, bb, "group-only",
            pb.LinuxContainerSecurityContext(run_as_group=pb.Int64Value(value=4321)))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT and "run_as_group" in e.value.details()
    cid = run(cri, pod, bb, "name-group", pb.LinuxContainerSecurityContext(
        run_as_username="nobody", run_as_group=pb.Int64Value(value=4321)))
    assert status_fields(init_pid_of(cri, cid))["Gid"].split()[0] == "4321"


def test_capabilities_and_no_new_privs(cri, pod, bb):
    pb = cri.pb
    cid = run(cri, pod, bb, "default-caps")
    default = int(status_fields(init_pid_of(cri, cid))["CapEff"], 16)
    assert default & (1 << 0)          # CAP_CHOWN is in the default set
    assert not default & (1 << 21)     # CAP_SYS_ADMIN is not
    assert not default & (1 << 12)     # nor CAP_NET_ADMIN
    caps = pb.Capability(drop_capabilities=["ALL"], add_capabilities=["NET_ADMIN"])
    cid = run(cri, pod, bb, "netadmin",
              pb.LinuxContainerSecurityContext(capabilities=caps, no_new_privs=True))
    st = status_fields(init_pid_of(cri, cid))
    assert int(st["CapEff"], 16) == 1 << 12 and int(st["CapBnd"], 16) == 1 << 12
    assert st["NoNewPrivs"] == "1"
    # NET_ADMIN works: the container can add an address to its pod's loopback.
    r = exec_sync(cri, cid, ["ip", "addr", "add", "127.0.0.9/8", "dev", "lo"])
    assert r.exit_code == 0, r.stderr
    # Without it, the same is refused.
    cid = run(cri, pod, bb, "nocaps", pb.LinuxContainerSecurityContext(
        capabilities=pb.Capability(drop_capabilities=["ALL"])))
    assert int(status_fields(init_pid_of(cri, cid))["CapEff"], 16) == 0
    r = exec_sync(cri, cid, ["ip", "addr", "add", "127.0.0.10/8", "dev", "lo"])
    assert r.exit_code != 0
    with pytest.raises(grpc.RpcError) as e:
        run(cri, pod, bb, "badcap", pb.LinuxContainerSecurityContext(
            capabilities=pb.Capability(add_capabilities=["CAP_NOT_A_THING"])))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT and "CAP_NOT_A_THING" in e.value.details()


def test_seccomp_profiles(cri, pod, bb, tmp_path):
    pb = cri.pb
    rd = pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault)
    cid = run(cri, pod, bb, "rd", pb.LinuxContainerSecurityContext(seccomp=rd))
    assert status_fields(init_pid_of(cri, cid))["Seccomp"] == "2"
    r = exec_sync(cri, cid, ["sh", "-c", "echo ok"])
    assert (r.exit_code, r.stdout) == (0, b"ok\n")
    # Unconfined (the kubelet default when nothing is set) has no filter.
    un = pb.SecurityProfile(profile_type=pb.SecurityProfile.Unconfined)
    cid = run(cri, pod, bb, "unconf", pb.LinuxContainerSecurityContext(seccomp=un))
    assert status_fields(init_pid_of(cri, cid))["Seccomp"] == "0"
    # Localhost: a profile file denying mkdir with EACCES.
    prof = tmp_path / "deny-mkdir.json"
    prof.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13}]}))
    lh = pb.SecurityProfile(profile_type=pb.SecurityProfile.Localhost, localhost_ref=str(prof))
    cid = run(cri, pod, bb, "local", pb.LinuxContainerSecurityContext(seccomp=lh))
    r = exec_sync(cri, cid, ["mkdir", "/tmp/x"])
    assert r.exit_code != 0 and b"Permission denied" in r.stderr
    missing = pb.SecurityProfile(profile_type=pb.SecurityProfile.Localhost,
                                 localhost_ref=str(tmp_path / "nope.json"))
    with pytest.raises(grpc.RpcError) as e:
        run(cri, pod, bb, "missing", pb.LinuxContainerSecurityContext(seccomp=missing))
    assert code(e) == grpc.StatusCode.NOT_FOUND


def test_readonly_rootfs_and_masked_paths(cri, pod, bb):
    pb = cri.pb
    cid = run(cri, pod, bb, "ro", pb.LinuxContainerSecurityContext(readonly_rootfs=True))
    r = exec_sync(cri, cid, ["touch", "/newfile"])
    assert r.exit_code != 0 and b"Read-only file system" in r.stderr
    masked = next(p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list")
                  if os.path.exists(p))  # this kernel may lack some of the defaults
    r = exec_sync(cri, cid, ["cat", masked])  # masked: reads as empty
    assert r.exit_code == 0 and r.stdout == b"", masked
    r = exec_sync(cri, cid, ["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"])
    assert r.exit_code != 0  # /proc/sys is read-only
    # Paths given by the security context replace the defaults.
    sc = pb.LinuxContainerSecurityContext(masked_paths=["/etc/hostname"],
                                          readonly_paths=["/tmp"])
    cid = run(cri, pod, bb, "paths", sc)
    r = exec_sync(cri, cid, ["cat", "/etc/hostname"])
    assert r.exit_code == 0 and r.stdout == b""
    assert exec_sync(cri, cid, ["touch", "/tmp/x"]).exit_code != 0
    assert exec_sync(cri, cid, ["touch", "/x"]).exit_code == 0


def test_privileged(cri, pod, bb):
    pb = cri.pb
    cid = run(cri, pod, bb, "priv", pb.LinuxContainerSecurityContext(privileged=True))
    st = status_fields(init_pid_of(cri, cid))
    # every capability mascrid itself has (its bounding set is ours: same parent)
    assert st["CapEff"] == status_fields(os.getpid())["CapBnd"] and st["Seccomp"] == "0"
    r = exec_sync(cri, cid, ["sh", "-c", "mkdir -p /tmp/m && mount -t tmpfs t /tmp/m && echo mounted"])
    assert r.exit_code == 0 and r.stdout == b"mounted\n", r.stderr
    assert exec_sync(cri, cid, ["test", "-c", "/dev/kmsg"]).exit_code == 0  # host devices
    # A privileged container in a pod that is not privileged is refused.
    pc = pod_config(pb, name="plain")
    plain = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60)
    with pytest.raises(grpc.RpcError) as e:
        create(cri, plain.pod_sandbox_id, ctr_config(
            pb, bb, name="p", command=SLEEP, linux=pb.LinuxContainerConfig(
                security_context=pb.LinuxContainerSecurityContext(privileged=True))), pc)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    stop_pod(cri, plain.pod_sandbox_id)
    remove_pod(cri, plain.pod_sandbox_id)


def test_mounts_and_devices(cri, pod, bb, tmp_path):
    pb = cri.pb
    rw, ro, shared = tmp_path / "rw", tmp_path / "ro", tmp_path / "shared"
    for d in (rw, ro, shared):
        d.mkdir()
    (ro / "f").write_text("read only\n")
    subprocess.run(["mount", "--bind", str(shared), str(shared)], check=True)
    subprocess.run(["mount", "--make-shared", str(shared)], check=True)
    created = tmp_path / "made" / "by" / "runtime"
    try:
        mounts = [pb.Mount(container_path="/rw", host_path=str(rw)),
                  pb.Mount(container_path="/ro", host_path=str(ro), readonly=True),
                  pb.Mount(container_path="/shared", host_path=str(shared),
                           propagation=pb.PROPAGATION_HOST_TO_CONTAINER),
                  pb.Mount(container_path="/made", host_path=str(created))]
        devices = [pb.Device(container_path="/dev/mynull", host_path="/dev/null",
                             permissions="rw")]
        cid = run(cri, pod, bb, "mounts", mounts=mounts, devices=devices)
        assert exec_sync(cri, cid, ["sh", "-c", "echo hi > /rw/out"]).exit_code == 0
        assert (rw / "out").read_text() == "hi\n"
        r = exec_sync(cri, cid, ["sh", "-c", "cat /ro/f; echo x > /ro/f"])
        assert r.stdout == b"read only\n" and r.exit_code != 0
        assert created.is_dir()  # a missing host path is made a directory
        # Host-to-container propagation: a mount made on the host later shows inside.
        sub = shared / "sub"
        sub.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "late", str(sub)], check=True)
        (sub / "late.txt").write_text("late\n")
        assert wait_for(lambda: exec_sync(cri, cid, ["cat", "/shared/sub/late.txt"]).stdout
                        == b"late\n", timeout=10, what="propagated mount")
        r = exec_sync(cri, cid, ["sh", "-c", "echo z > /dev/mynull && echo done"])
        assert r.exit_code == 0 and r.stdout == b"done\n"
        bad = [pb.Mount(container_path="relative", host_path=str(rw))]
        with pytest.raises(grpc.RpcError) as e:
            run(cri, pod, bb, "badmount", mounts=bad)
        assert code(e) == grpc.StatusCode.INVALID_ARGUMENT and "relative" in e.value.details()
        with pytest.raises(grpc.RpcError) as e:
            run(cri, pod, bb, "baddev", devices=[pb.Device(
                container_path="/dev/x", host_path="/dev/no-such-device", permissions="rw")])
        assert code(e) == grpc.StatusCode.NOT_FOUND
    finally:
        subprocess.run(["umount", "-R", str(shared)], check=False)


def mountpoints_under(*dirs):
    """The host's mount points below any of dirs."""
    with open("/proc/self/mountinfo") as f:
        mps = [line.split()[4] for line in f]
    return {m for m in mps if any(m.startswith(f"{d}/") for d in dirs)}


def test_bidirectional_mount_propagation(cri, daemon, pod, bb, tmp_path):
    """PROPAGATION_BIDIRECTIONAL (critest's 'rshared' spec): a mount made inside the container
    under the volume appears on the host, one made on the host appears inside; nothing else
    the runtime mounts for the container leaks to the host. A source that cannot propagate
    is refused at CreateContainer (FAILED_PRECONDITION), as containerd and CRI-O do."""
    pb = cri.pb
    vol, private = tmp_path / "vol", tmp_path / "private"
    vol.mkdir()
    private.mkdir()
    subprocess.run(["mount", "--bind", str(vol), str(vol)], check=True)
    subprocess.run(["mount", "--make-rshared", str(vol)], check=True)
    subprocess.run(["mount", "--bind", str(private), str(private)], check=True)
    subprocess.run(["mount", "--make-private", str(private)], check=True)
    try:
        watched = (tmp_path, daemon.tmp)  # the volumes; the daemon's root and state
        before = mountpoints_under(*watched)
        sc = pb.LinuxContainerSecurityContext(privileged=True)  # to call mount inside
        cid = run(cri, pod, bb, "bidi", sc=sc, mounts=[pb.Mount(
            container_path="/vol", host_path=str(vol),
            propagation=pb.PROPAGATION_BIDIRECTIONAL)])
        # container -> host
        r = exec_sync(cri, cid, ["sh", "-c", "mkdir -p /vol/in && mount -t tmpfs inner /vol/in"
                                 " && echo from-ctr > /vol/in/f"])
        assert r.exit_code == 0, r.stderr
        assert wait_for(lambda: (vol / "in" / "f").exists(), timeout=10,
                        what="the container's mount on the host")
        assert (vol / "in" / "f").read_text() == "from-ctr\n"
        # host -> container
        (vol / "out").mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "outer", str(vol / "out")], check=True)
        (vol / "out" / "g").write_text("from-host\n")
        assert wait_for(lambda: exec_sync(cri, cid, ["cat", "/vol/out/g"]).stdout
                        == b"from-host\n", timeout=10, what="the host's mount in the container")
        # Besides the image's overlay the daemon mounts for any container (.../merged), only
        # the two volume mounts are new on the host: nothing the runtime mounted in the
        # container (its rootfs bind, /proc, /dev, ...) leaked out, though / was rshared.
        new = {m for m in mountpoints_under(*watched) - before if not m.endswith("/merged")}
        assert new == {str(vol / "in"), str(vol / "out")}
        # A private source cannot propagate: refused with the reason.
        for prop in (pb.PROPAGATION_BIDIRECTIONAL, pb.PROPAGATION_HOST_TO_CONTAINER):
            with pytest.raises(grpc.RpcError) as e:
                run(cri, pod, bb, f"bad{prop}", mounts=[pb.Mount(
                    container_path="/p", host_path=str(private), propagation=prop)])
            assert code(e) == grpc.StatusCode.FAILED_PRECONDITION, e.value.details()
            assert str(private) in e.value.details()
    finally:
        subprocess.run(["umount", "-R", str(vol)], check=False)
        subprocess.run(["umount", "-R", str(private)], check=False)


def test_user_namespaces_are_refused_not_ignored(cri, bb, daemon):
    pb = cri.pb
    pc = pod_config(pb, name="userns")
    pc.linux.security_context.namespace_options.userns_options.mode = pb.POD
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT and "user namespace" in e.value.details()
    # What kubelet sends by default (hostUsers unset): the host's user namespace.
    pc = pod_config(pb, name="hostusers")
    pc.linux.security_context.namespace_options.userns_options.mode = pb.NODE
    pc.log_directory = str(daemon.log_dir / "hostusers")
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    sc = pb.LinuxContainerSecurityContext(namespace_options=pb.NamespaceOption(
        pid=pb.CONTAINER, userns_options=pb.UserNamespace(mode=pb.POD)))
    with pytest.raises(grpc.RpcError) as e:
        create(cri, pod, ctr_config(pb, bb, name="u", command=SLEEP,
                                    linux=pb.LinuxContainerConfig(security_context=sc)), pc)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT and "user namespace" in e.value.details()
    stop_pod(cri, pod)
    remove_pod(cri, pod)
