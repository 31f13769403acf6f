"""OCI runtime: `mascri` (runc-compatible CLI) running busybox bundles on the real kernel.
Every check is made from inside the container (or on the host's cgroup files)."""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from runtime_bundle import Bundle, Runtime, bundle, rt, run  # noqa: F401 (fixtures)

CGV1 = "/sys/fs/cgroup"


def wait_status(rt, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = rt.state(cid)
        if st["status"] == want:
            return st
        time.sleep(0.02)
    raise AssertionError(f"{cid} never became {want}: {st}")


def test_exit_code_passed_through(rt, bundle):
    res = run(rt, bundle.sh("echo hello; exit 7"))
    assert res.returncode == 7, res.stderr
    assert res.stdout == "hello\n"
    assert not (rt.root / bundle.id).exists(), "run removes the container afterwards"


def test_hostname_user_and_capabilities(rt, bundle):
    bundle.config["hostname"] = "box1"
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [20]}
    bundle.sh("hostname; id; grep CapEff /proc/self/status")
    res = run(rt, bundle)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "box1"
    assert lines[1].startswith("uid=1000 gid=1001 groups=20")
    # default spec: CAP_KILL(5), CAP_NET_BIND_SERVICE(10), CAP_AUDIT_WRITE(29) in ambient
    assert lines[2].split()[1] == "0000000020000420"


def test_root_has_requested_caps_only(rt, bundle):
    caps = bundle.config["process"]["capabilities"]
    for k in caps:
        caps[k] = ["CAP_CHOWN"]
    res = run(rt, bundle.sh("grep -E 'Cap(Eff|Bnd)' /proc/self/status"))
    assert res.returncode == 0, res.stderr
    assert [line.split()[1] for line in res.stdout.splitlines()] == ["0000000000000001"] * 2


def test_seccomp_denied_syscall_returns_configured_errno(rt, bundle):
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 38}],
    }
    bundle.config["root"]["readonly"] = False
    res = run(rt, bundle.sh("mkdir /tmp/x; echo rc=$?"))
    assert "Function not implemented" in res.stderr + res.stdout
    assert "rc=1" in res.stdout
    assert not (bundle.rootfs / "tmp" / "x").exists()


def test_readonly_root_refuses_writes(rt, bundle):
    res = run(rt, bundle.sh("touch /newfile; echo rc=$?"))
    assert "Read-only file system" in res.stderr
    assert "rc=1" in res.stdout
    assert not (bundle.rootfs / "newfile").exists()


def test_masked_and_readonly_paths(rt, bundle):
    # this kernel has no /proc/kcore: mask /proc/version and /proc/keys the same way
    bundle.config["linux"]["maskedPaths"] += ["/proc/version"]
    res = run(rt, bundle.sh("cat /proc/version /proc/keys /proc/kcore 2>/dev/null | wc -c;"
                            " ls /sys/firmware | wc -l;"
                            " echo 1 > /proc/sys/kernel/domainname; echo rc=$?"))
    out = res.stdout.split()
    assert out[0] == "0", "masked files read as /dev/null"
    assert out[1] == "0", "/sys/firmware is masked by an empty tmpfs"
    assert "rc=1" in res.stdout, "/proc/sys is read-only"
    assert "Read-only file system" in res.stderr


def test_devices_and_dev_symlinks(rt, bundle):
    res = run(rt, bundle.sh("stat -c '%t:%T %F' /dev/null /dev/zero /dev/tty;"
                            " readlink /dev/fd; readlink /dev/ptmx"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["1:3 character special file",
                                       "1:5 character special file",
                                       "5:0 character special file",
                                       "/proc/self/fd", "pts/ptmx"]


def test_env_cwd_rlimits_and_sysctl(rt, bundle):
    bundle.config["process"]["env"] = ["PATH=/bin", "FOO=bar"]
    bundle.config["process"]["cwd"] = "/tmp"
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    res = run(rt, bundle.sh("echo $FOO; pwd; ulimit -n; cat /proc/sys/net/ipv4/ip_forward"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["bar", "/tmp", "1024", "1"]


def test_memory_and_pids_limits_in_cgroup_files(rt, bundle):
    bundle.config["linux"]["resources"] = {
        "memory": {"limit": 33554432}, "pids": {"limit": 17},
        "cpu": {"shares": 256, "quota": 20000, "period": 100000}}
    bundle.config["linux"]["cgroupsPath"] = f"/mascri-test/{bundle.id}"
    bundle.sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max;"
              " sleep 30")
    bundle.write()
    rt.cmd("create", "--bundle", str(bundle.path), bundle.id)
    try:
        base = f"/mascri-test/{bundle.id}"
        assert open(f"{CGV1}/memory{base}/memory.limit_in_bytes").read().strip() == "33554432"
        assert open(f"{CGV1}/pids{base}/pids.max").read().strip() == "17"
        assert open(f"{CGV1}/cpu{base}/cpu.shares").read().strip() == "256"
        assert open(f"{CGV1}/cpu{base}/cpu.cfs_quota_us").read().strip() == "20000"
        pid = rt.state(bundle.id)["pid"]
        assert str(pid) in open(f"{CGV1}/memory{base}/cgroup.procs").read().split()
        rt.cmd("update", "--pids-limit", "9", bundle.id)
        assert open(f"{CGV1}/pids{base}/pids.max").read().strip() == "9"
    finally:
        rt.cmd("delete", "--force", bundle.id)
    assert not os.path.exists(f"{CGV1}/memory{base}")


def test_pids_limit_enforced(rt, bundle):
    bundle.config["linux"]["resources"] = {"pids": {"limit": 5}}
    res = run(rt, bundle.sh("for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait; echo done"))
    assert "can't fork" in res.stderr or "Resource temporarily unavailable" in res.stderr


def test_memory_limit_enforced(rt, bundle):
    bundle.config["linux"]["resources"] = {"memory": {"limit": 16777216, "swap": 16777216}}
    res = run(rt, bundle.sh("dd if=/dev/zero of=/dev/shm/fill bs=1M count=60 2>&1; echo rc=$?"))
    # tmpfs pages are charged to the container's memory cgroup: dd is OOM-killed
    assert "rc=137" in res.stdout or res.returncode == 137, (res.stdout, res.stderr)


def test_create_start_state_kill_delete(rt, bundle, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    bundle.config["mounts"].append({"destination": "/shared", "type": "bind",
                                    "source": str(shared), "options": ["rbind", "rw"]})
    bundle.sh("trap 'echo got-term > /shared/out; exit 0' TERM; echo started > /shared/out;"
              " while true; do sleep 0.05; done")
    bundle.write()
    pidfile = tmp_path / "pid"
    rt.cmd("create", "--bundle", str(bundle.path), "--pid-file", str(pidfile), bundle.id)
    st = rt.state(bundle.id)
    assert st["status"] == "created"
    assert st["id"] == bundle.id and st["ociVersion"] and st["created"]
    assert st["bundle"] == str(bundle.path)
    assert int(pidfile.read_text()) == st["pid"]
    assert not (shared / "out").exists(), "nothing runs before start"
    lst = rt.cmd("list", "--format", "json").stdout
    assert bundle.id in [c["id"] for c in json.loads(lst)]
    rt.cmd("start", bundle.id)
    wait_status(rt, bundle.id, "running")
    deadline = time.monotonic() + 10
    while not (shared / "out").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (shared / "out").read_text() == "started\n"
    ps = rt.cmd("ps", "--format", "json", bundle.id).stdout
    assert st["pid"] in json.loads(ps)
    assert rt.cmd("delete", bundle.id, check=False).returncode != 0, "running: needs --force"
    rt.cmd("kill", bundle.id, "SIGTERM")
    wait_status(rt, bundle.id, "stopped")
    assert (shared / "out").read_text() == "got-term\n"
    rt.cmd("delete", bundle.id)
    assert rt.cmd("state", bundle.id, check=False).returncode != 0


def test_exec_into_running_container(rt, bundle):
    bundle.config["hostname"] = "exechost"
    bundle.config["process"]["env"] = ["PATH=/bin", "A=1"]
    bundle.set_args("sleep", "60").write()
    rt.cmd("run", "--detach", "--bundle", str(bundle.path), bundle.id)
    res = rt.cmd("exec", "--env", "B=2", "--cwd", "/tmp", bundle.id, "sh", "-c",
                 "hostname; echo $A$B; pwd; cat /proc/1/cmdline; exit 3", check=False)
    assert res.returncode == 3, res.stderr
    assert res.stdout.splitlines()[:3] == ["exechost", "12", "/tmp"]
    assert res.stdout.splitlines()[3].startswith("sleep")
    proc = {"args": ["id", "-u"], "cwd": "/", "user": {"uid": 123, "gid": 0},
            "env": ["PATH=/bin"]}
    pfile = bundle.path / "process.json"
    pfile.write_text(json.dumps(proc))
    res = rt.cmd("exec", "--process", str(pfile), bundle.id)
    assert res.stdout.strip() == "123"


def host_cgroups(pid):
    """/proc/<pid>/cgroup as the host sees it: {hierarchy: path}, "" for the v2 one."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


def test_init_and_exec_are_in_the_cgroup_on_every_hierarchy(rt, bundle):
    """The init is cloned into its v2 cgroup (CLONE_INTO_CGROUP) and moved into the v1
    ones; an exec'd process likewise. Checked from the host, v2 line ("0::") included."""
    base = f"/mascri-test/{bundle.id}"
    bundle.config["linux"]["cgroupsPath"] = base
    bundle.set_args("sleep", "60").write()
    rt.cmd("run", "--detach", "--bundle", str(bundle.path), bundle.id)
    try:
        init = rt.state(bundle.id)["pid"]
        cgs = host_cgroups(init)
        assert cgs and set(cgs.values()) == {base}, cgs
        res = rt.cmd("exec", "-d", "--pid-file", str(bundle.path / "exec.pid"), bundle.id,
                     "sleep", "30")
        assert res.returncode == 0, res.stderr
        pid = int((bundle.path / "exec.pid").read_text())
        assert host_cgroups(pid) == cgs
        if "" in cgs:  # a cgroup2 mount (pure v2, or hybrid like the development host)
            procs = Path(f"{CGV1}/unified{base}/cgroup.procs")
            if not procs.exists():
                procs = Path(f"{CGV1}{base}/cgroup.procs")
            assert {str(init), str(pid)} <= set(procs.read_text().split())
    finally:
        rt.cmd("delete", "--force", bundle.id)


def test_pause_and_resume(rt, bundle):
    bundle.set_args("sleep", "60").write()
    rt.cmd("run", "-d", "--bundle", str(bundle.path), bundle.id)
    rt.cmd("pause", bundle.id)
    st = rt.state(bundle.id)
    assert st["status"] == "paused"
    pid = st["pid"]
    assert open(f"/proc/{pid}/status").read().count("State:\tD") or \
        "FROZEN" in open(f"{CGV1}/freezer/mascri/{bundle.id}/freezer.state").read()
    rt.cmd("resume", bundle.id)
    assert rt.state(bundle.id)["status"] == "running"


def test_hooks_get_state_on_stdin(rt, bundle, tmp_path):
    out = tmp_path / "hooks"
    out.mkdir()
    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}/{name}"]}
    bundle.config["hooks"] = {k: [hook(k)] for k in
                              ("prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop")}
    # startContainer runs inside the container: give it a place to write
    bundle.config["mounts"].append({"destination": str(out), "type": "bind",
                                    "source": str(out), "options": ["rbind"]})
    res = run(rt, bundle.set_args("true"))
    assert res.returncode == 0, res.stderr
    for k in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop"):
        state = json.loads((out / k).read_text())
        assert state["id"] == bundle.id, k
        if k != "poststop":
            assert state["pid"] > 1, k  # the init's pid as the host sees it
    assert json.loads((out / "poststop").read_text())["status"] == "stopped"


def test_hook_timeout_fails_create(rt, bundle):
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    res = run(rt, bundle.set_args("true"))
    assert res.returncode != 0
    assert "timed out" in res.stderr
    assert not (rt.root / bundle.id).exists()


def test_bad_config_error_names_field(rt, bundle):
    bundle.config["process"]["user"] = {"uid": "root"}
    res = run(rt, bundle)
    assert res.returncode != 0
    assert "process.user.uid" in res.stderr


def test_oom_score_adj_lowering_warns_and_runs(rt, bundle):
    bundle.config["process"]["oomScoreAdj"] = -500
    res = run(rt, bundle.sh("echo ok"))
    assert res.returncode == 0, res.stderr
    assert res.stdout == "ok\n"


def test_systemd_cgroup_manager_fails_clearly(rt, bundle):
    bundle.write()
    res = rt.cmd("--systemd-cgroup", "run", "--bundle", str(bundle.path), bundle.id, check=False)
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd is running here")
    assert res.returncode != 0
    assert "systemd is not running" in res.stderr


def test_user_namespace_with_mappings(rt):
    # the container's root (host uid 100000) must be able to reach the bundle
    top = Path(tempfile.mkdtemp(prefix="mascri-userns-"))
    os.chmod(top, 0o755)
    try:
        userns_case(rt, Bundle(top / "bundle", rt))
    finally:
        shutil.rmtree(top, ignore_errors=True)


def userns_case(rt, bundle):
    ns = bundle.config["linux"]["namespaces"]
    ns.append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    res = run(rt, bundle.sh("id -u; cat /proc/self/uid_map"))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]


def test_state_json_is_runc_compatible(rt, bundle):
    bundle.config["annotations"] = {"io.example/a": "b"}
    bundle.set_args("sleep", "30").write()
    rt.cmd("create", "--bundle", str(bundle.path), bundle.id)
    st = rt.state(bundle.id)
    assert set(st) >= {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created",
                       "owner", "annotations"}
    assert st["annotations"] == {"io.example/a": "b"}
    assert st["rootfs"] == str(bundle.rootfs)


def test_join_namespaces_by_path(rt, tmp_path):
    """The CRI pattern: a second container joins the first one's pid, net, ipc and uts
    namespaces by path (setns)."""
    first = Bundle(tmp_path / "first", rt)
    first.config["hostname"] = "podhost"
    first.set_args("sleep", "60").write()
    rt.cmd("run", "-d", "--bundle", str(first.path), first.id)
    pid = rt.state(first.id)["pid"]
    second = Bundle(tmp_path / "second", rt)
    del second.config["hostname"]
    for ns in second.config["linux"]["namespaces"]:
        proc_name = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts"}.get(ns["type"])
        if proc_name:
            ns["path"] = f"/proc/{pid}/ns/{proc_name}"
    res = run(rt, second.sh("hostname; ps -o comm | grep -c sleep; readlink /proc/self/ns/net"))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "podhost"
    assert lines[1] == "1", "the first container's sleep is visible in the shared pid ns"
    assert lines[2] == os.readlink(f"/proc/{pid}/ns/net")


def test_exec_and_run_with_a_terminal(rt, bundle):
    bundle.set_args("sleep", "60").write()
    rt.cmd("run", "-d", "--bundle", str(bundle.path), bundle.id)
    res = rt.cmd("exec", "-t", bundle.id, "tty", check=False)
    assert res.returncode == 0, res.stderr
    assert "/dev/pts/" in res.stdout
    rt.cmd("kill", "--all", bundle.id, "KILL")
    wait_status(rt, bundle.id, "stopped")
    rt.cmd("delete", bundle.id)
    # run in the foreground with process.terminal: mascri proxies the pty itself
    bundle.config["process"]["terminal"] = True
    bundle.id = bundle.id + "b"
    res = run(rt, bundle.sh("tty; exit 4"))
    assert res.returncode == 4, res.stderr
    assert "/dev/pts/0" in res.stdout


def test_stats_and_kill_all(rt, bundle):
    bundle.config["linux"]["resources"] = {"memory": {"limit": 67108864}, "pids": {"limit": 50}}
    bundle.sh("sleep 60 & sleep 60 & wait").write()
    rt.cmd("run", "-d", "--bundle", str(bundle.path), bundle.id)
    deadline = time.monotonic() + 10
    while len(json.loads(rt.cmd("ps", "--format", "json", bundle.id).stdout)) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ev = json.loads(rt.cmd("events", "--stats", bundle.id).stdout)
    data = ev["data"]
    assert data["pids"]["current"] == 3
    assert data["pids"]["limit"] == 50
    assert data["memory"]["usage"]["limit"] == 67108864
    assert data["memory"]["usage"]["usage"] > 0
    rt.cmd("kill", "--all", bundle.id, "9")
    wait_status(rt, bundle.id, "stopped")
    deadline = time.monotonic() + 10
    while json.loads(rt.cmd("ps", "--format", "json", bundle.id).stdout):
        assert time.monotonic() < deadline, "every process of the cgroup is killed"
        time.sleep(0.02)


def test_lsm_labels_without_the_module_are_reported_not_applied(rt, bundle):
    """This host runs neither AppArmor nor SELinux: the labels are reported and the
    container runs (where the module runs, they are written to attr/exec, lsm.c)."""
    aa = Path("/sys/module/apparmor/parameters/enabled")
    if (aa.exists() and aa.read_text().startswith("Y")) or Path("/sys/fs/selinux").is_dir():
        pytest.skip("this host runs an LSM")
    bundle.config["process"]["apparmorProfile"] = "mascri-test-profile"
    bundle.config["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0"
    res = run(rt, bundle.sh("cat /proc/self/attr/current 2>/dev/null; echo ran"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == "ran"
    assert ('apparmorProfile "mascri-test-profile" not applied: AppArmor is not enabled'
            in res.stderr)
    assert 'selinuxLabel "system_u:system_r:container_t:s0" not applied' in res.stderr
