"""runc-compatible CLI commands and settings not covered by test_runtime.py: features, spec,
list, ps, update, delete --force, --pid-file, exec flags, signal names, time namespace,
oomScoreAdj raise, mount propagation. Each checks the effect from inside a busybox container
or on the host."""
import json
import os
import time

import pytest

from runtime_bundle import Bundle, Runtime, bundle, rt, run  # noqa: F401 (fixtures)


def detach(rt, b):
    b.set_args("sleep", "60").write()
    rt.cmd("run", "--detach", "--bundle", str(b.path), b.id)
    return rt.state(b.id)["pid"]


def wait_status(rt, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rt.state(cid)["status"] == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"{cid} never became {want}")


def test_features_has_runc_shape(rt):
    f = json.loads(rt.cmd("features").stdout)
    for key in ("ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux"):
        assert key in f, key
    assert "startContainer" in f["hooks"]
    assert {"pid", "user", "mount", "cgroup", "time"} <= set(f["linux"]["namespaces"])
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert f["linux"]["seccomp"]["enabled"] is True


def test_spec_writes_a_default_config(rt, tmp_path):
    d = tmp_path / "b"
    d.mkdir()
    rt.cmd("spec", "--bundle", str(d))
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"]["path"] == "rootfs"
    assert cfg["process"]["args"] == ["sh"]
    assert rt.cmd("spec", "--bundle", str(d), check=False).returncode != 0  # no overwrite


def test_list_ps_and_pid_file(rt, bundle, tmp_path):
    pidfile = tmp_path / "pid"
    bundle.set_args("sleep", "60").write()
    rt.cmd("create", "--bundle", str(bundle.path), "--pid-file", str(pidfile), bundle.id)
    pid = rt.state(bundle.id)["pid"]
    assert int(pidfile.read_text()) == pid
    listing = json.loads(rt.cmd("list", "--format", "json").stdout)
    assert [(c["id"], c["status"]) for c in listing] == [(bundle.id, "created")]
    assert bundle.id in rt.cmd("list").stdout
    rt.cmd("start", bundle.id)
    assert json.loads(rt.cmd("ps", "--format", "json", bundle.id).stdout) == [pid]


def test_delete_force_kills_a_running_container(rt, bundle):
    pid = detach(rt, bundle)
    assert rt.cmd("delete", bundle.id, check=False).returncode != 0  # still running
    rt.cmd("delete", "--force", bundle.id)
    assert not (rt.root / bundle.id).exists()
    assert not os.path.exists(f"/proc/{pid}") or \
        "zombie" in open(f"/proc/{pid}/status").read() or \
        "State:\tZ" in open(f"/proc/{pid}/status").read()


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "9"])
def test_kill_accepts_signal_names_and_numbers(rt, bundle, sig):
    detach(rt, bundle)
    rt.cmd("kill", bundle.id, sig)
    wait_status(rt, bundle.id, "stopped")


def test_exec_user_cap_and_detach(rt, bundle):
    bundle.config["root"]["readonly"] = False
    detach(rt, bundle)
    res = rt.cmd("exec", "--user", "7:8", bundle.id, "id")
    assert "uid=7" in res.stdout and "gid=8" in res.stdout
    res = rt.cmd("exec", "--cap", "CAP_SYS_ADMIN", bundle.id, "grep", "CapEff",
                 "/proc/self/status")
    eff = int(res.stdout.split()[1], 16)
    assert eff & (1 << 21), res.stdout  # CAP_SYS_ADMIN added
    base = rt.cmd("exec", bundle.id, "grep", "CapEff", "/proc/self/status")
    assert not int(base.stdout.split()[1], 16) & (1 << 21)
    rt.cmd("exec", "-d", bundle.id, "touch", "/tmp/detached")
    deadline = time.monotonic() + 10
    while rt.cmd("exec", bundle.id, "test", "-e", "/tmp/detached", check=False).returncode:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def cg_file(pid, ctrl, name):
    for line in open(f"/proc/{pid}/cgroup"):
        _, ctrls, path = line.strip().split(":", 2)
        if ctrl in ctrls.split(","):
            return f"/sys/fs/cgroup/{ctrl}{path}/{name}"
    raise AssertionError(f"no {ctrl} cgroup for {pid}")


def test_update_from_flags_and_file(rt, bundle, tmp_path):
    pid = detach(rt, bundle)
    rt.cmd("update", "--memory", "64M", "--pids-limit", "33", bundle.id)
    assert int(open(cg_file(pid, "memory", "memory.limit_in_bytes")).read()) == 64 << 20
    assert open(cg_file(pid, "pids", "pids.max")).read().strip() == "33"
    res = tmp_path / "r.json"
    res.write_text(json.dumps({"pids": {"limit": 44}, "cpu": {"shares": 512}}))
    rt.cmd("update", "-r", str(res), bundle.id)
    assert open(cg_file(pid, "pids", "pids.max")).read().strip() == "44"
    assert open(cg_file(pid, "cpu", "cpu.shares")).read().strip() == "512"
    # the new pids limit is enforced inside the container
    out = rt.cmd("exec", bundle.id, "sh", "-c",
                 "for i in $(seq 60); do sleep 5 & done 2>&1; echo done", check=False)
    assert "fork" in (out.stdout + out.stderr).lower() or out.returncode != 0


def test_time_namespace_is_new(rt, bundle):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("no time namespaces on this kernel")
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    res = run(rt, bundle.sh("readlink /proc/self/ns/time"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith("time:[")
    assert res.stdout.strip() != os.readlink("/proc/self/ns/time")


def test_oom_score_adj_raise_applies(rt, bundle):
    bundle.config["process"]["oomScoreAdj"] = 500
    res = run(rt, bundle.sh("cat /proc/self/oom_score_adj"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "500"


def test_readonly_bind_mount_and_rprivate_propagation(rt, bundle, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("hello\n")
    bundle.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(src),
                                    "options": ["rbind", "ro", "nosuid", "nodev", "rprivate"]})
    bundle.config["linux"]["rootfsPropagation"] = "rprivate"
    res = run(rt, bundle.sh("cat /data/f; touch /data/g || echo ro-ok; "
                            "grep ' /data ' /proc/self/mountinfo"))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "hello" and "ro-ok" in lines
    info = lines[-1].split()
    assert "ro" in info[5].split(",") and "nosuid" in info[5].split(",")
    assert not any(f.startswith("shared:") for f in info[6:info.index("-")])
    assert not (src / "g").exists()


def test_time_offsets_move_the_containers_clocks(rt, bundle):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("no time namespaces on this kernel")
    day = 86400
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {"boottime": {"secs": 100 * day, "nanosecs": 0},
                                             "monotonic": {"secs": 50 * day}}
    res = run(rt, bundle.sh("cat /proc/uptime"))
    assert res.returncode == 0, res.stderr
    host_uptime = float(open("/proc/uptime").read().split()[0])
    inside = float(res.stdout.split()[0])
    assert inside - host_uptime > 99 * day  # boottime moved by the offset


def test_time_offsets_without_a_time_namespace_are_refused(rt, bundle):
    bundle.config["linux"]["timeOffsets"] = {"boottime": {"secs": 10}}
    res = run(rt, bundle.set_args("true"))
    assert res.returncode != 0
    assert "timeOffsets" in res.stderr


def test_time_offsets_unknown_clock_names_the_field(rt, bundle):
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {"realtime": {"secs": 10}}
    res = run(rt, bundle.set_args("true"))
    assert res.returncode != 0
    assert "linux.timeOffsets" in res.stderr and "realtime" in res.stderr
