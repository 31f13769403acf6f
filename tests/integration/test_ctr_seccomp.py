"""The seccomp section of CRI container specs (src/sandbox/ctr-seccomp.c) against mascri's
own runtime: the default profile must be accepted and enforced, and must not get in the way
of ordinary work. The profile comes from tests/integration/tools/ctr-seccomp-tool (the same code
mascrid uses); the container is a busybox bundle run by `mascri run`.

What seccomp blocks is told apart from what missing capabilities block: the denial tests
give the process CAP_SYS_ADMIN and generate the profile without it (as if the capability
had been given behind the profile's back), then with it as the control. The last tests go
through mascrid: CreateContainer with a SecurityProfile, checked inside the container."""
import errno
import json
import shutil
import subprocess

import grpc
import pytest

from ctr_lib import code, create, ctr_config, exec_sync, pull, remove, start, stop
from harness.paths import tool_path
from pods_lib import pod_config
from pods_lib import remove as remove_pod
from pods_lib import stop as stop_pod
from runtime_bundle import Bundle, Runtime, run

TOOL = tool_path("ctr-seccomp-tool")
PROBE = tool_path("ctr-seccomp-probe")  # static

# containerd's and CRI-O's default capability set (what a CRI container gets)
CRI_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
ADMIN_CAPS = CRI_CAPS + ["CAP_SYS_ADMIN"]


def profile(name, caps):
    res = subprocess.run([str(TOOL), name, *caps], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout).get("seccomp")


@pytest.fixture
def rt(tmp_path):
    r = Runtime(tmp_path / "state", "mascri")
    yield r
    r.cleanup()


@pytest.fixture
def bundle(tmp_path, rt):
    b = Bundle(tmp_path / "bundle", rt)
    (b.rootfs / "bin" / "unshare").symlink_to("busybox")
    return b


def confine(bundle, process_caps, seccomp):
    caps = bundle.config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = list(process_caps)
    caps.pop("ambient", None)
    caps.pop("inheritable", None)
    if seccomp is None:
        bundle.config["linux"].pop("seccomp", None)
    else:
        bundle.config["linux"]["seccomp"] = seccomp
    return bundle


def test_default_profile_runs_ordinary_work(rt, bundle):
    confine(bundle, CRI_CAPS, profile("runtime/default", CRI_CAPS))
    res = run(rt, bundle.sh("echo ok; ls / | wc -l; grep Seccomp: /proc/self/status;"
                            " (sleep 0; echo sub) & wait; id -u"))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split("\n")
    assert lines[0] == "ok"
    assert int(lines[1]) > 3
    assert lines[2].split() == ["Seccomp:", "2"], "a filter is installed"
    assert lines[3:5] == ["sub", "0"]


def test_default_caps_cannot_unshare_or_mount(rt, bundle):
    confine(bundle, CRI_CAPS, profile("runtime/default", CRI_CAPS))
    res = run(rt, bundle.sh("unshare -m true; echo rc=$?; mount -t tmpfs x /tmp; echo rc=$?"))
    assert res.stdout.split() == ["rc=1", "rc=1"], res.stdout + res.stderr
    assert "unshare(0x20000): Operation not permitted" in res.stderr
    assert "mount: permission denied" in res.stderr  # busybox's words for EPERM


@pytest.mark.parametrize("script", ["unshare -m true", "mount -t tmpfs x /tmp",
                                    "unshare -u hostname other"])
def test_profile_blocks_what_the_capability_would_allow(rt, bundle, script):
    # control: CAP_SYS_ADMIN and a profile made for it -> allowed
    confine(bundle, ADMIN_CAPS, profile("runtime/default", ADMIN_CAPS))
    res = run(rt, bundle.sh(f"{script}; echo rc=$?"))
    assert res.stdout.strip() == "rc=0", res.stdout + res.stderr
    # the capability, but a profile without it -> seccomp says EPERM
    confine(bundle, ADMIN_CAPS, profile("runtime/default", CRI_CAPS))
    bundle.id += "b"
    res = run(rt, bundle.sh(f"{script}; echo rc=$?"))
    assert res.stdout.strip() == "rc=1", res.stdout + res.stderr
    assert "Operation not permitted" in res.stderr or "mount: permission denied" in res.stderr


@pytest.mark.skipif(not PROBE.exists(), reason="no static probe in this build (sanitizers)")
def test_clone_flags_and_clone3(rt, bundle):
    """clone(2) only without namespace flags, clone3 answers ENOSYS (so that libcs fall back
    to clone, whose flags seccomp can see) and threads still start; with CAP_SYS_ADMIN in
    the profile, all of it works."""
    shutil.copy2(PROBE, bundle.rootfs / "bin" / "probe")
    probes = ["thread", "clone", "clone3", "clone-newuts", "unshare-newuts"]
    confine(bundle, ADMIN_CAPS, profile("runtime/default", ADMIN_CAPS))
    res = run(rt, bundle.set_args("/bin/probe", *probes))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:-1] == [f"{p} 0" for p in probes]
    confine(bundle, ADMIN_CAPS, profile("runtime/default", CRI_CAPS))
    bundle.id += "b"
    res = run(rt, bundle.set_args("/bin/probe", *probes))
    assert res.returncode == 0, res.stderr
    got = dict(line.split() for line in res.stdout.splitlines())
    assert got == {"thread": "0", "clone": "0", "clone3": str(errno.ENOSYS),
                   "clone-newuts": str(errno.EPERM), "unshare-newuts": str(errno.EPERM)}


def test_unconfined_installs_no_filter(rt, bundle):
    assert profile("unconfined", CRI_CAPS) is None
    confine(bundle, ADMIN_CAPS, None)
    res = run(rt, bundle.sh("grep Seccomp: /proc/self/status; unshare -m true; echo rc=$?"))
    assert res.stdout.split() == ["Seccomp:", "0", "rc=0"], res.stdout + res.stderr


def test_localhost_docker_format_profile(rt, bundle, tmp_path):
    # Docker's format (archMap, includes by capability) resolved into OCI and enforced:
    # everything allowed but mkdir/mkdirat (EACCES), and chmod only with CAP_SYS_ADMIN
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []}],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "comment": "no new directories"},
            {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO",
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        ],
    }))
    seccomp = profile(f"localhost/{path}", CRI_CAPS)
    assert "archMap" not in seccomp and "architectures" in seccomp
    bundle.config["root"]["readonly"] = False
    confine(bundle, CRI_CAPS, seccomp)
    res = run(rt, bundle.sh("mkdir /tmp/d; echo rc=$?; touch /tmp/f; chmod 600 /tmp/f;"
                            " echo rc=$?"))
    assert res.stdout.split() == ["rc=1", "rc=1"], res.stdout + res.stderr
    assert "Permission denied" in res.stderr
    assert "Operation not permitted" in res.stderr
    assert not (bundle.rootfs / "tmp" / "d").exists()


# ---- through mascrid (CRI) ----

@pytest.fixture
def cri_pod(cri, test_images, daemon):
    """(busybox ref, pod id, pod config); removes the pod and its containers afterwards."""
    pb = cri.pb
    ref = test_images["busybox"]
    pull(cri, ref)
    pc = pod_config(pb, name="seccomp-pod")
    pc.log_directory = str(daemon.log_dir / "seccomp-pod")
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    yield ref, pod, pc
    stop_pod(cri, pod)
    remove_pod(cri, pod)


def cri_container(cri, cri_pod, name, profile, add_caps=()):
    pb = cri.pb
    ref, pod, pc = cri_pod
    sc = pb.LinuxContainerSecurityContext(
        seccomp=profile, capabilities=pb.Capability(add_capabilities=list(add_caps)))
    cfg = ctr_config(pb, ref, name=name, command=["sleep", "3600"],
                     linux=pb.LinuxContainerConfig(security_context=sc))
    cid = create(cri, pod, cfg, pc)
    start(cri, cid)
    return cid


def sh(cri, cid, script):
    r = exec_sync(cri, cid, ["sh", "-c", script])
    return r.stdout.decode() + r.stderr.decode()


def test_cri_runtime_default(cri, cri_pod):
    pb = cri.pb
    default = pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault)
    cid = cri_container(cri, cri_pod, "plain", default)
    out = sh(cri, cid, "grep Seccomp: /proc/1/status; unshare -m true; echo rc=$?")
    assert "Seccomp:\t2" in out and "rc=1" in out, out
    # CAP_SYS_ADMIN added: the default profile follows the capabilities
    admin = cri_container(cri, cri_pod, "admin", default, add_caps=["SYS_ADMIN"])
    out = sh(cri, admin, "grep Seccomp: /proc/1/status; unshare -m true; echo rc=$?")
    assert "Seccomp:\t2" in out and "rc=0" in out, out
    # Unconfined: no filter at all
    unconf = pb.SecurityProfile(profile_type=pb.SecurityProfile.Unconfined)
    free = cri_container(cri, cri_pod, "free", unconf)
    assert "Seccomp:\t0" in sh(cri, free, "grep Seccomp: /proc/1/status")
    for c in (cid, admin, free):
        stop(cri, c)
        remove(cri, c)


def test_cri_localhost(cri, cri_pod, tmp_path):
    pb = cri.pb
    path = tmp_path / "deny-mkdir.json"
    path.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13}]}))
    local = pb.SecurityProfile(profile_type=pb.SecurityProfile.Localhost,
                               localhost_ref=str(path))
    cid = cri_container(cri, cri_pod, "local", local)
    out = sh(cri, cid, "mkdir /tmp/d; echo rc=$?")
    assert "Permission denied" in out and "rc=1" in out, out
    stop(cri, cid)
    remove(cri, cid)
    # a missing file and a broken one are refused at CreateContainer
    for name, ref, want in (("missing", str(tmp_path / "nope.json"), grpc.StatusCode.NOT_FOUND),
                            ("broken", str(tmp_path / "broken.json"),
                             grpc.StatusCode.INVALID_ARGUMENT)):
        (tmp_path / "broken.json").write_text('{"defaultAction": "SCMP_ACT_NOPE"}')
        prof = pb.SecurityProfile(profile_type=pb.SecurityProfile.Localhost, localhost_ref=ref)
        with pytest.raises(grpc.RpcError) as exc:
            cri_container(cri, cri_pod, name, prof)
        assert code(exc) == want, exc.value.details()
        assert "localhost_ref" in exc.value.details()
