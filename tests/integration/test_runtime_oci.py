"""OCI runtime-tools behaviours checked directly (runtime-tools itself is Go and not built
here): `kill` delivers the requested signal even right after start, to a PID-namespace init
that installs its handler a moment later (validation/killsig), exactly once; rootfsPropagation
as runtimetest probes it (linux_rootfs_propagation); namespaces joined by path, mount included
(linux_ns_path), none at all (linux_ns_itype), every one new without a path (linux_ns_nopath)."""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from runtime_bundle import Bundle, Runtime, bundle, rt, run  # noqa: F401 (fixtures)


def wait_status(rt, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rt.state(cid)["status"] == want:
            return
        time.sleep(0.02)
    raise AssertionError(f"{cid} never became {want}")


@pytest.mark.parametrize("sig", ["TERM", "USR1", "USR2"])
def test_kill_right_after_start_reaches_a_late_handler(rt, bundle, sig):
    # The init (sh, PID 1 of its namespace) has no handler for 0.2 s: the kernel would drop a
    # signal sent then. The trap appends one line per delivery.
    bundle.config["root"]["readonly"] = False
    bundle.sh(f"sleep 0.2; trap 'echo x >> /{sig}; exit 0' {sig}; sleep 10 & wait $!").write()
    rt.cmd("create", "--bundle", str(bundle.path), bundle.id)
    rt.cmd("start", bundle.id)
    rt.cmd("kill", bundle.id, sig)
    wait_status(rt, bundle.id, "stopped", timeout=5)
    assert (bundle.rootfs / sig).read_text() == "x\n"


def privileged(b):
    """CAP_SYS_ADMIN for mount(8) inside, and a writable root."""
    b.config["root"]["readonly"] = False
    caps = b.config["process"]["capabilities"]
    for k in caps:
        caps[k] = sorted(set(caps[k]) | {"CAP_SYS_ADMIN"})
    return b


# validation/linux_rootfs_propagation: a bind of "/" (recursive) taken inside the container
# sees a mount made later elsewhere in "/" only when "/" is shared; with unbindable the bind
# itself is refused.
PROPAGATION_PROBE = ("mkdir -p /target /mnt1 /test && touch /test/file && "
                     "{ mount -o rbind / /target || { echo bind-refused; exit 0; }; } && "
                     "mount -o rbind /test /mnt1 && "
                     "if test -e /target/mnt1/file; then echo exposed; else echo hidden; fi")


@pytest.mark.parametrize("prop,want", [("shared", "exposed"), ("rshared", "exposed"),
                                       ("slave", "hidden"), ("private", "hidden"),
                                       ("unbindable", "bind-refused")])
def test_rootfs_propagation(rt, bundle, prop, want):
    privileged(bundle).config["linux"]["rootfsPropagation"] = prop
    res = run(rt, bundle.sh(PROPAGATION_PROBE))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [want]


def test_rootfs_propagation_shared_does_not_leak_to_the_host(rt, bundle):
    """rshared keeps / in the host's peer groups for the setup; nothing the runtime or the
    container mounts under the rootfs may show up on the host for it."""
    privileged(bundle).config["linux"]["rootfsPropagation"] = "rshared"
    with open("/proc/self/mountinfo") as f:
        before = {line.split()[4] for line in f}
    res = run(rt, bundle.sh("mkdir -p /m && mount -t tmpfs t /m && grep -c . /proc/self/mountinfo"))
    assert res.returncode == 0, res.stderr
    with open("/proc/self/mountinfo") as f:
        after = {line.split()[4] for line in f}
    assert not {m for m in after - before if m.startswith(str(bundle.path))}


def unshared(opt):
    """A process holding new namespaces (like runtime-tools: unshare --fork sleep)."""
    p = subprocess.Popen(["unshare", opt, "--fork", "sleep", "600"], start_new_session=True)
    return p


def ns_of(pid, ns):
    return os.readlink(f"/proc/{pid}/ns/{ns}")


def holder_pid(p, ns):
    """The pid whose namespace to join: unshare itself for most, its child for pid."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if ns == "pid":
            kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
            if kids:
                return int(kids[0])
        elif ns_of(p.pid, ns) != ns_of("self", ns):
            return p.pid
        time.sleep(0.02)
    raise AssertionError(f"unshare never entered a new {ns} namespace")


@pytest.mark.parametrize("ns,opt", [("mnt", "--mount"), ("ipc", "--ipc"), ("net", "--net"),
                                    ("uts", "--uts"), ("pid", "--pid"), ("cgroup", "--cgroup")])
def test_namespace_by_path(rt, bundle, ns, opt):
    """validation/linux_ns_path: a namespace given by path is joined (mount included)."""
    holder = unshared(opt)
    try:
        pid = holder_pid(holder, ns)
        want = ns_of(pid, ns)
        spec_type = {"mnt": "mount", "net": "network"}.get(ns, ns)
        nss = [n for n in bundle.config["linux"]["namespaces"] if n["type"] != spec_type]
        nss.append({"type": spec_type, "path": f"/proc/{pid}/ns/{ns}"})
        bundle.config["linux"]["namespaces"] = nss
        bundle.set_args("sleep", "60").write()
        rt.cmd("create", "--bundle", str(bundle.path), bundle.id)
        assert ns_of(rt.state(bundle.id)["pid"], ns) == want
        rt.cmd("start", bundle.id)
        res = rt.cmd("exec", bundle.id, "readlink", f"/proc/self/ns/{ns}")
        assert res.stdout.strip() == want
    finally:
        os.killpg(holder.pid, 9)
        holder.wait()


def test_joined_mount_namespace_gets_the_containers_root(rt, bundle):
    """In a joined mount namespace the container still gets its rootfs and mounts (as runc
    does): the process sees the bundle's files and its own /proc."""
    holder = unshared("--mount")
    try:
        pid = holder_pid(holder, "mnt")
        nss = [n for n in bundle.config["linux"]["namespaces"] if n["type"] != "mount"]
        nss.append({"type": "mount", "path": f"/proc/{pid}/ns/mnt"})
        bundle.config["linux"]["namespaces"] = nss
        (bundle.rootfs / "etc" / "marker").write_text("in the bundle\n")
        res = run(rt, bundle.sh("cat /etc/marker; readlink /proc/self/ns/mnt"))
        assert res.returncode == 0, res.stderr
        assert res.stdout.splitlines() == ["in the bundle", ns_of(pid, "mnt")]
    finally:
        os.killpg(holder.pid, 9)
        holder.wait()


ALL_NS = ("cgroup", "ipc", "mnt", "net", "pid", "uts", "user")


def test_no_namespaces_inherits_the_runtimes(rt, bundle):
    """validation/linux_ns_itype: a config with no namespaces at all runs in the runtime's."""
    bundle.config["linux"]["namespaces"] = []
    del bundle.config["hostname"]
    bundle.set_args("sleep", "60").write()
    rt.cmd("create", "--bundle", str(bundle.path), bundle.id)
    pid = rt.state(bundle.id)["pid"]
    for ns in ALL_NS:
        assert ns_of(pid, ns) == ns_of("self", ns), ns
    rt.cmd("start", bundle.id)
    # the init and an exec'd process are chrooted into the bundle's rootfs
    (bundle.rootfs / "marker").write_text("x")
    assert os.readlink(f"/proc/{pid}/root") == str(bundle.rootfs)
    res = rt.cmd("exec", bundle.id, "sh", "-c", "test -e /marker && echo ok")
    assert res.stdout.strip() == "ok"


def test_every_namespace_new_without_path(rt):
    """validation/linux_ns_nopath: every type listed without a path is new, user included
    (container root mapped to host uid 1000, as runtime-tools maps it)."""
    top = Path(tempfile.mkdtemp(prefix="mascri-nopath-"))
    os.chmod(top, 0o755)
    try:
        b = Bundle(top / "bundle", rt)
        b.config["linux"]["namespaces"] = [{"type": t} for t in
                                           ("cgroup", "ipc", "mount", "network", "pid", "user",
                                            "uts")]
        b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1000}]
        b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1000}]
        b.set_args("sleep", "60").write()
        rt.cmd("create", "--bundle", str(b.path), b.id)
        pid = rt.state(b.id)["pid"]
        for ns in ALL_NS:
            assert ns_of(pid, ns) != ns_of("self", ns), ns
    finally:
        rt.cleanup()
        shutil.rmtree(top, ignore_errors=True)
