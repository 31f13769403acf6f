"""containerd's runc shim (io.containerd.runc.v2) driving `mascri` as its runc binary:
create/start/state/kill/delete, exec, pause/resume, through a private containerd."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from harness.paths import binary
from runtime_bundle import make_rootfs

CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")
pytestmark = pytest.mark.skipif(not CONTAINERD or not CTR or not shutil.which(
    "containerd-shim-runc-v2"), reason="containerd, ctr and the runc shim are needed")


@pytest.fixture
def ctrd():
    top = Path(tempfile.mkdtemp(prefix="mascri-ctrd-"))
    sock = top / "containerd.sock"
    (top / "config.toml").write_text(f"""version = 2
root = "{top}/root"
state = "{top}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
""")
    log = open(top / "log.txt", "w")
    proc = subprocess.Popen([CONTAINERD, "--config", str(top / "config.toml")], stdout=log,
                            stderr=log)
    deadline = time.monotonic() + 20
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    ns = "mascri-" + uuid.uuid4().hex[:8]
    rootfs = top / "rootfs"
    make_rootfs(rootfs)

    def ctr(*args, check=True, timeout=60):
        res = subprocess.run([CTR, "--address", str(sock), "--namespace", ns, *args],
                             capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        if check and res.returncode != 0:
            raise AssertionError(f"ctr {args}: {res.returncode} {res.stdout} {res.stderr}")
        return res
    try:
        yield ctr, rootfs
    finally:
        for line in ctr("task", "ls", "-q", check=False).stdout.split():
            ctr("task", "kill", "-s", "SIGKILL", line, check=False)
            time.sleep(0.2)
            ctr("task", "delete", "-f", line, check=False)
        for line in ctr("container", "ls", "-q", check=False).stdout.split():
            ctr("container", "delete", line, check=False)
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        subprocess.run(["umount", "-R", str(top / "root")], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(f"/run/containerd/runc/{ns}", ignore_errors=True)


def test_containerd_shim_runs_mascri(ctrd):
    ctr, rootfs = ctrd
    mascri = str(binary("mascri"))
    res = ctr("run", "--rm", "--runc-binary", mascri, "--rootfs", str(rootfs), "c1",
              "sh", "-c", "id -u; echo via-shim; exit 3", check=False)
    assert res.returncode == 3, res.stderr
    assert res.stdout.splitlines() == ["0", "via-shim"]


def test_containerd_exec_pause_kill(ctrd):
    ctr, rootfs = ctrd
    mascri = str(binary("mascri"))
    ctr("run", "-d", "--runc-binary", mascri, "--rootfs", str(rootfs), "c2", "sleep", "100")
    res = ctr("task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo in-exec; exit 5",
              check=False)
    assert res.returncode == 5
    assert res.stdout == "in-exec\n"
    ctr("task", "pause", "c2")
    assert "PAUSED" in ctr("task", "ls").stdout
    ctr("task", "resume", "c2")
    assert "RUNNING" in ctr("task", "ls").stdout
    ctr("task", "kill", "-s", "SIGKILL", "c2")
    deadline = time.monotonic() + 10
    while "STOPPED" not in ctr("task", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "STOPPED" in ctr("task", "ls").stdout
    ctr("task", "delete", "c2")
    ctr("container", "delete", "c2")
