"""Helpers for the OCI runtime tests: busybox bundles and a `mascri` runner bound to a
private state root. Used by test_runtime*.py."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from harness.paths import binary

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "true", "false", "cat", "ls", "id", "hostname", "echo", "sleep", "ps", "mount",
           "grep", "mkdir", "touch", "dd", "head", "wc", "kill", "trap", "pwd", "tty", "readlink",
           "stat", "test", "seq", "env", "domainname"]


def make_rootfs(root: Path):
    """A minimal busybox rootfs: /bin/busybox plus applet symlinks."""
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "root"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for a in APPLETS:
        link = root / "bin" / a
        if not link.exists():
            link.symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")


class Runtime:
    """Runs `mascri` with --root set to a private directory."""
    BIN = binary("mascri")

    def __init__(self, root: Path, binary_name="mascri"):
        self.root = root
        self.bin = str(binary(binary_name))

    def cmd(self, *args, check=True, timeout=60, **kw):
        """Runs mascri; output is captured through files, not pipes, because a detached
        container (create, run -d) keeps the stdio it inherited open."""
        argv = [self.bin, "--root", str(self.root), *args]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            res = subprocess.run(argv, timeout=timeout, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=err, text=True, **kw)
            out.seek(0)
            err.seek(0)
            res.stdout, res.stderr = out.read(), err.read()
        if check and res.returncode != 0:
            raise AssertionError(f"{argv} failed ({res.returncode}): {res.stderr}")
        return res

    def state(self, cid):
        return json.loads(self.cmd("state", cid).stdout)

    def cleanup(self):
        if not self.root.exists():
            return
        for cid in os.listdir(self.root):
            self.cmd("delete", "--force", cid, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


class Bundle:
    """A bundle directory with a busybox rootfs and a config.json built from `mascri spec`."""

    def __init__(self, path: Path, rt: Runtime):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        make_rootfs(path / "rootfs")
        rt.cmd("spec", "--bundle", str(path))
        self.config = json.loads((path / "config.json").read_text())
        self.config["process"]["terminal"] = False
        self.id = "t" + uuid.uuid4().hex[:12]

    @property
    def rootfs(self):
        return self.path / "rootfs"

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)
        return self

    def sh(self, script):
        return self.set_args("sh", "-c", script)

    def write(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=1))
        return self


def new_id():
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def rt(tmp_path):
    """A mascri CLI with its own --root; removes what it created."""
    r = Runtime(tmp_path / "state")
    yield r
    r.cleanup()


@pytest.fixture
def bundle(tmp_path, rt):
    """A busybox bundle (config.json from `mascri spec`, editable as .config)."""
    return Bundle(tmp_path / "bundle", rt)


def run(rt, b, *extra, check=False, **kw):
    """`mascri run` of bundle b in the foreground; returns the completed process."""
    b.write()
    return rt.cmd("run", "--bundle", str(b.path), *extra, b.id, check=check, **kw)
