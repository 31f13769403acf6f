"""Hostile input (issue 11): requests, files named in requests, registries and images that
try to exhaust mascrid or mascri-image or to escape where they write. Each case must be
refused with a clear error and a fitting gRPC code at a bounded cost; the costs measured
here are printed (pytest -s) for the closing note, never asserted as timings."""
import json
import os
import subprocess
import threading
import time

import grpc
import pytest

from ctr_lib import code, create, ctr_config, pull
from pods_lib import pod_config
from pods_lib import remove as remove_pod
from pods_lib import stop as stop_pod


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.fixture
def pod(cri, test_images, daemon):
    """(busybox ref, pod id, pod config); removed afterwards."""
    pb = cri.pb
    ref = test_images["busybox"]
    pull(cri, ref)
    pc = pod_config(pb, name="hostile-pod")
    pc.log_directory = str(daemon.log_dir / "hostile-pod")
    pod_id = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc),
                                       timeout=60).pod_sandbox_id
    yield ref, pod_id, pc
    stop_pod(cri, pod_id)
    remove_pod(cri, pod_id)


# ---- 1. localhost seccomp profiles ----

def _seccomp_container(cri, pod, name, path=None, ref=None):
    pb = cri.pb
    image, pod_id, pc = pod
    if ref is not None:
        sc = pb.LinuxContainerSecurityContext(seccomp=pb.SecurityProfile(
            profile_type=pb.SecurityProfile.Localhost, localhost_ref=ref))
    else:
        sc = pb.LinuxContainerSecurityContext(seccomp_profile_path=path)
    cfg = ctr_config(pb, image, name=name, command=["sleep", "3600"],
                     linux=pb.LinuxContainerConfig(security_context=sc))
    return create(cri, pod_id, cfg, pc)


@pytest.mark.parametrize("how", ["path", "ref"])
def test_seccomp_profile_dev_zero_fifo_symlink_and_huge(cri, daemon, pod, tmp_path, how):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    link = tmp_path / "link.json"
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    link.symlink_to(good)
    huge = tmp_path / "huge.json"
    with open(huge, "w") as f:  # valid JSON, 2 MiB
        f.write('{"defaultAction": "SCMP_ACT_ALLOW", "pad": "' + "x" * (2 << 20) + '"}')
    pid = daemon.proc.pid
    for i, (target, why) in enumerate(((
            "/dev/zero", "not a regular file"), (str(fifo), "not a regular file"),
            (str(link), "symlink"), (str(huge), "limit"))):
        before = rss_kib(pid)
        t0 = time.monotonic()
        with pytest.raises(grpc.RpcError) as exc:
            if how == "path":
                _seccomp_container(cri, pod, f"sc{i}", path="localhost/" + target)
            else:
                _seccomp_container(cri, pod, f"sc{i}", ref=target)
        took = time.monotonic() - t0
        assert code(exc) == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
        assert why in exc.value.details() and target in exc.value.details()
        print(f"seccomp {how} {target}: {code(exc).name} in {took * 1000:.0f} ms, "
              f"RSS {before} -> {rss_kib(pid)} KiB")
        assert rss_kib(pid) < before + 32 * 1024
    # the daemon is still answering, and a good profile still works
    assert _seccomp_container(cri, pod, "good", ref=str(good))


# ---- 6. deeply nested JSON ----

def image_cli(root, *args, **kw):
    from harness.paths import binary
    cmd = [str(binary("mascri")), "image", "--root", str(root)] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def _measured(cmd_result_fn):
    """Runs fn() and returns (result, seconds, max RSS of children in KiB)."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = cmd_result_fn()
    took = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return r, took, cpu, after.ru_maxrss


def test_deeply_nested_image_config_from_registry(registry, tmp_path):
    from harness.images import build_image, busybox_layer_tar, push_image
    img = build_image([busybox_layer_tar()], raw_config=b"[" * 300000 + b"]" * 300000)
    ref = push_image(registry, "hostile/deep-config", "latest", img)
    r, took, cpu, maxrss = _measured(lambda: image_cli(tmp_path / "store", "pull", ref))
    print(f"deep config pull: rc {r.returncode} in {took * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms, "
          f"children max RSS {maxrss} KiB: {r.stderr.strip()}")
    assert r.returncode > 0, (r.returncode, r.stderr)  # an error, not a crash (< 0: signal)
    assert "nested deeper than 64" in r.stderr, r.stderr


def test_deeply_nested_archive_manifest(tmp_path):
    import io
    import tarfile
    archive = tmp_path / "deep.tar"
    with tarfile.open(archive, "w") as t:
        for name, data in (("manifest.json", b"[" * 300000 + b"]" * 300000),
                           ("repositories", b"{}")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    r, took, cpu, maxrss = _measured(lambda: image_cli(tmp_path / "store", "import", archive))
    print(f"deep manifest.json import: rc {r.returncode} in {took * 1000:.0f} ms, "
          f"CPU {cpu * 1000:.0f} ms: {r.stderr.strip()}")
    assert r.returncode > 0, (r.returncode, r.stderr)
    assert "manifest.json: JSON nested deeper than 64" in r.stderr, r.stderr


# ---- 2. cgroup parents that leave the cgroup tree ----

@pytest.mark.parametrize("parent", ["/../../../../tmp/mascri-hostile-cg", "a/..", "//", ".",
                                    "/mascri-hostile/../x", "a//b", "a/", "a\nb"])
def test_pod_cgroup_parent_not_normal(cri, daemon, parent):
    pb = cri.pb
    pc = pod_config(pb, name="cg-pod")
    pc.linux.cgroup_parent = parent
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as exc:
        cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60)
    assert code(exc) == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    assert "cgroup_parent" in exc.value.details()
    print(f"cgroup_parent {parent!r}: {code(exc).name} in "
          f"{(time.monotonic() - t0) * 1000:.0f} ms")
    assert not os.path.exists("/tmp/mascri-hostile-cg")
    assert not cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items


# ---- 7. a hostname derived from metadata.name ----

@pytest.mark.parametrize("name", ["evil\n6.6.6.6\tkubernetes.default", "a b", "-x", "x_y"])
def test_pod_hostname_from_hostile_name(cri, daemon, name):
    pb = cri.pb
    pc = pod_config(pb, name=name, uid="uid-hostile-name")
    with pytest.raises(grpc.RpcError) as exc:
        cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60)
    assert code(exc) == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    assert "metadata.name" in exc.value.details()
    assert not cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items
    # the explicit hostname is checked by the same rules
    pc = pod_config(pb, name="fine", uid="uid-hostile-host", hostname=name)
    with pytest.raises(grpc.RpcError) as exc:
        cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60)
    assert code(exc) == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()


def test_pod_hostname_from_long_name_is_cut_like_kubelet(cri, daemon):
    pb = cri.pb
    name = "n" * 62 + "-" + "m" * 20  # cut at 63 leaves a trailing '-', dropped
    pod_id = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(
        config=pod_config(pb, name=name)), timeout=60).pod_sandbox_id
    try:
        found = [p for p in daemon.tmp.rglob("hostname") if pod_id in str(p)]
        assert found and found[0].read_text() == "n" * 62 + "\n"
    finally:
        stop_pod(cri, pod_id)
        remove_pod(cri, pod_id)
