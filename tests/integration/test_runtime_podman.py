"""podman driving `mascri` as its OCI runtime (`podman --runtime`), through conmon, on a
busybox root filesystem (--rootfs: no image, nothing from the network). Limits: this machine
refuses raising rlimits (no CAP_SYS_RESOURCE) and podman asks for a high nofile/nproc by
default, which runc refuses here just the same, so the tests ask for lower ones."""
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from harness.paths import binary
from runtime_bundle import make_rootfs

PODMAN = shutil.which("podman")
pytestmark = pytest.mark.skipif(not PODMAN, reason="podman is not installed")
LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]


@pytest.fixture
def podman():
    # podman refuses a runroot longer than 50 characters: a short temp dir, not tmp_path
    tmp_path = Path(tempfile.mkdtemp(prefix="mascri-pm-"))
    base = [PODMAN, "--root", str(tmp_path / "storage"), "--runroot", str(tmp_path / "run"),
            "--runtime", str(binary("mascri")), "--cgroup-manager", "cgroupfs",
            "--events-backend", "file"]
    rootfs = tmp_path / "rootfs"
    make_rootfs(rootfs)

    def pm(*args, check=True, timeout=90):
        res = subprocess.run(base + list(args), capture_output=True, text=True, timeout=timeout)
        if check:
            assert res.returncode == 0, res.stderr
        return res
    pm.rootfs = str(rootfs)
    yield pm
    pm("rm", "--all", "--force", check=False)
    subprocess.run(["umount", "-R", str(tmp_path / "storage")], capture_output=True)
    subprocess.run(["umount", "-R", str(tmp_path / "run")], capture_output=True)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_podman_run_with_mascri_passes_output_and_exit_code(podman):
    res = podman("run", "--rm", "--network", "none", *LIMITS, "--hostname", "pmhost",
                 "--rootfs", podman.rootfs, "/bin/sh", "-c", "echo hello; hostname; exit 7",
                 check=False)
    assert res.returncode == 7, res.stderr
    assert res.stdout.split() == ["hello", "pmhost"]


def test_podman_detached_exec_logs_stop_rm_with_mascri(podman):
    name = "pm-" + uuid.uuid4().hex[:8]
    podman("run", "-d", "--name", name, "--network", "none", *LIMITS, "--rootfs",
           podman.rootfs, "/bin/sh", "-c", "echo started; trap 'exit 0' TERM; "
           "while true; do sleep 1; done")
    res = podman("exec", name, "/bin/sh", "-c", "echo in-exec $$")
    assert res.stdout.startswith("in-exec ")
    assert "started" in podman("logs", name).stdout
    info = podman("inspect", "--format", "{{.State.Status}} {{.OCIRuntime}}", name).stdout
    assert info.split()[0] == "running" and info.split()[1].endswith("mascri")
    podman("stop", "-t", "10", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "exited"
    podman("rm", name)
