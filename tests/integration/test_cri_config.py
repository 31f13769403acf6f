"""mascrid's configuration: the optional JSON file (--config, default
/etc/mascri/mascri.conf) read before the flags, which override it; clear errors naming the
file and the setting; default capabilities reaching containers."""
import json
import subprocess

from ctr_lib import create, ctr_config, init_pid_of, pull, start
from harness.paths import binary
from pods_lib import pod_config

CAP_CHOWN, CAP_KILL, CAP_NET_RAW = 0, 5, 13


def cap_eff(cri, image, log_dir, name):
    pb = cri.pb
    pc = pod_config(pb, name=name)
    pc.log_directory = str(log_dir)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cid = create(cri, pod, ctr_config(pb, image, name="c", command=["sleep", "3600"]), pc)
    start(cri, cid)
    with open(f"/proc/{init_pid_of(cri, cid)}/status") as f:
        line = next(x for x in f if x.startswith("CapEff:"))
    return int(line.split()[1], 16)


def test_file_settings_and_flag_override(daemon_factory, test_images, tmp_path):
    conf = tmp_path / "mascri.conf"
    conf.write_text(json.dumps({"default-capabilities": ["CAP_KILL", "NET_RAW"],
                                "log-level": "debug"}))
    d = daemon_factory(["--config", str(conf)])
    pull(d.client, test_images["busybox"])
    assert cap_eff(d.client, test_images["busybox"], d.log_dir, "a") == \
        (1 << CAP_KILL) | (1 << CAP_NET_RAW)
    # The command line wins over the file.
    d2 = daemon_factory(["--config", str(conf), "--default-capabilities", "CAP_CHOWN"])
    pull(d2.client, test_images["busybox"])
    assert cap_eff(d2.client, test_images["busybox"], d2.log_dir, "b") == 1 << CAP_CHOWN


def run_bad(args, tmp):
    # private root/state, so a wrongly accepted configuration cannot touch the host's
    safe = ["--root", str(tmp / "root"), "--state", str(tmp / "run"), "--network", "none"]
    p = subprocess.run([str(binary("mascrid"))] + safe + args, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stderr


def test_bad_configuration_is_refused_clearly(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(json.dumps({"cgroup-manager": "upstart"}))
    rc, err = run_bad(["--config", str(conf)], tmp_path)
    assert rc == 2 and str(conf) in err and "cgroup-manager" in err and "upstart" in err
    conf.write_text(json.dumps({"no-such-setting": "x"}))
    rc, err = run_bad(["--config", str(conf)], tmp_path)
    assert rc == 2 and str(conf) in err
    conf.write_text(json.dumps({"log-level": 3}))
    rc, err = run_bad(["--config", str(conf)], tmp_path)
    assert rc == 2 and "log-level" in err and "string" in err
    conf.write_text("{not json")
    rc, err = run_bad(["--config", str(conf)], tmp_path)
    assert rc == 2 and str(conf) in err
    rc, err = run_bad(["--config", str(tmp_path / "missing.conf")], tmp_path)
    assert rc == 2 and "missing.conf" in err
    rc, err = run_bad(["--default-capabilities", "CAP_KILL,CAP_MADE_UP"], tmp_path)
    assert rc == 2 and "CAP_MADE_UP" in err
