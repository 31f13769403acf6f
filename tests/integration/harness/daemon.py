"""Starts and stops mascrid on a temporary socket with temporary root and state dirs, and
cleans up after it: pods, monitors, containers, mounts."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import grpc
import pytest

from .cri_client import CRIClient
from .paths import binary


def host_cgroup_manager():
    """What --cgroup-manager auto picks here: systemd when systemd is PID 1 (sd_booted)."""
    return "systemd" if os.path.isdir("/run/systemd/system") else "cgroupfs"


def expected_cgroup_manager():
    """The manager the harness's daemons run with: MASCRI_TEST_CGROUP_MANAGER, else auto's."""
    return os.environ.get("MASCRI_TEST_CGROUP_MANAGER") or host_cgroup_manager()


def _mounts_under(prefix):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == prefix or mp.startswith(prefix + "/"):
                found.append(mp)
    return found


def umount_under(prefix):
    """Lazily unmounts what a daemon left mounted under prefix (its namespace pins' private
    mount, pins, shm), deepest first."""
    for mp in sorted(_mounts_under(str(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)


def _pids_mentioning(text):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    pids.append(int(d))
        except OSError:
            pass
    return pids


class Daemon:
    """A mascrid process. Flags it is started with: --socket, --root, --state,
    --log-level debug, plus the extra args given (e.g. --network none|builtin|cni)."""

    def __init__(self, extra_args=(), network="none", env=None, pin_cgroup_manager=True):
        self.tmp = Path(tempfile.mkdtemp(prefix="mascri-it-"))
        self.root = self.tmp / "root"
        self.state = self.tmp / "run"
        self.socket = self.state / "mascri.sock"
        self.log_dir = self.tmp / "logs"
        self.log_dir.mkdir()
        self.log_path = self.tmp / "mascrid.log"
        self.args = ["--network", network] + list(extra_args) if network else list(extra_args)
        # The VM runs (tests/vm/systemd-node.sh) repeat the suites with each cgroup manager;
        # a test of the default itself (no flag at all) passes pin_cgroup_manager=False.
        manager = os.environ.get("MASCRI_TEST_CGROUP_MANAGER") if pin_cgroup_manager else None
        if manager and not any(str(a).startswith("--cgroup-manager") for a in self.args):
            self.args += ["--cgroup-manager", manager]
        self.env = dict(os.environ, **(env or {}))
        # The daemon binary; its sibling mascri-monitor, -pause and -image go with it. The
        # upgrade test points it at a release's build for a first run.
        self.mascrid = binary("mascrid")
        self.proc = None
        self.client = None

    def start(self, timeout=30):
        cmd = [str(self.mascrid), "--socket", str(self.socket), "--root", str(self.root),
               "--state", str(self.state), "--log-level", "debug"] + self.args
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mascrid exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.socket.exists():
                self.client = CRIClient(self.socket)
                try:
                    self.client.runtime.Version(self.client.pb.VersionRequest(), timeout=2)
                    return self
                except grpc.RpcError:
                    self.client.close()
                    self.client = None
            time.sleep(0.05)
        raise RuntimeError(f"mascrid did not answer within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops mascrid only (pods and their monitors keep running)."""
        if self.client:
            self.client.close()
            self.client = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def remove_all_pods(self):
        pb = self.client.pb
        try:
            pods = self.client.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items
            for p in pods:
                self.client.runtime.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p.id), timeout=60)
                self.client.runtime.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id), timeout=60)
        except grpc.RpcError:
            pass

    def cleanup(self):
        if self.proc is None:
            try:
                self.start()
            except Exception:
                pass
        if self.client:
            self.remove_all_pods()
        self.stop()
        for pid in _pids_mentioning(str(self.tmp)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        umount_under(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def daemon_factory():
    """daemon_factory(extra_args=(), network="none") -> a started Daemon; all are cleaned up."""
    made = []

    def make(extra_args=(), network="none", env=None, start=True, pin_cgroup_manager=True):
        d = Daemon(extra_args, network, env, pin_cgroup_manager)
        made.append(d)
        return d.start() if start else d

    yield make
    for d in made:
        d.cleanup()


@pytest.fixture
def daemon(daemon_factory):
    """A started mascrid with pod networking off (loopback only in pods)."""
    return daemon_factory()


@pytest.fixture
def cri(daemon):
    """The CRI client of the `daemon` fixture."""
    return daemon.client
