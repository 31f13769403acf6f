"""The two CRI runtimes of bench/pod_startup.py, each on a private socket, state, bridge,
pod subnet and cgroup parent, with a cleanup that leaves nothing behind (also after a
failure): mascrid (started through tests/integration/harness/daemon.py, built-in network)
and Debian's containerd 1.6 CRI plugin + runc (CNI bridge + host-local + loopback from
/usr/lib/cni, a registry mirror for the plain-HTTP local registry, sandbox_image = a pause
image made of mascri-pause).

cgroup_driver "systemd" (bench/pod-startup-vm.sh, systemd as PID 1): mascrid runs with
--cgroup-manager systemd and containerd's runc with SystemdCgroup = true; pods get kubelet's
slice parents (kubepods-besteffort-pod<uid>.slice), which the cleanup stops afterwards as
kubelet does when a pod goes away."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import grpc

import pod_startup_mem as mem
from harness.cri_client import CRIClient
from harness.daemon import Daemon

CONTAINERD = shutil.which("containerd")
SHIM = shutil.which("containerd-shim-runc-v2")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
CNI_BIN = "/usr/lib/cni"


def command_output(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except OSError as e:
        return str(e)
    return " ".join(out.split()[:8])


def kill_pids(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def mounts_under(prefix):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == prefix or mp.startswith(prefix + "/"):
                found.append(mp)
    return sorted(found, key=len, reverse=True)


def umount_under(prefix):
    for mp in mounts_under(prefix):
        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)


def delete_link(name):
    if Path(f"/sys/class/net/{name}").exists():
        subprocess.run(["ip", "link", "del", name], stderr=subprocess.DEVNULL)


def kill_cgroup_procs(prefix):
    """SIGKILLs every process whose cgroup path has the component /<prefix>/."""
    kill_pids([p.pid for p in mem.processes() if f"/{prefix}/" in p.cgroup
               or f":/{prefix}\n" in p.cgroup])


def pod_slice(uid):
    """The cgroup parent kubelet's systemd driver gives a BestEffort pod ('-' in the uid is
    escaped to '_', as kubelet does: '-' separates levels in a slice name)."""
    return f"kubepods-besteffort-pod{uid.replace('-', '_')}.slice"


def stop_slices(uid_prefix):
    """Stops the pod slices of pod_slice(uid) for uids starting with uid_prefix (and what is
    left in them), as kubelet stops a pod's slice once the pod is gone."""
    pattern = pod_slice(uid_prefix)[:-len(".slice")] + "*.slice"
    subprocess.run(["systemctl", "stop", pattern], stderr=subprocess.DEVNULL, timeout=120)


def remove_cgroups(prefix):
    """Removes /sys/fs/cgroup/<controller>/<prefix> and everything below it (deepest first)."""
    for ctrl in Path("/sys/fs/cgroup").iterdir():
        top = ctrl / prefix
        if not top.is_dir():
            continue
        for _ in range(20):
            for d, _subdirs, _files in os.walk(top, topdown=False):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            if not top.exists():
                break
            time.sleep(0.1)


def problem_lines(path, markers, benign=()):
    """The lines of a daemon log that contain one of markers (errors and warnings) and none
    of benign (what the daemon always says, e.g. containerd at every shim exit)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines()
            if any(m in line for m in markers) and not any(b in line for b in benign)]


# containerd 1.6 warns about these on every start or pod removal.
CONTAINERD_BENIGN = ("cleaning up after shim disconnected", "starting signal loop",
                     "devmapper not configured", "`mirrors` is deprecated")


def remove_all_pods(client, timeout=60):
    """Stops and removes every pod the daemon lists; returns the error texts."""
    errors = []
    pb = client.pb
    try:
        pods = client.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items
    except grpc.RpcError as e:
        return [f"ListPodSandbox: {e.code().name} {e.details()}"]
    for p in pods:
        for call, req in (("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=p.id)),
                          ("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=p.id))):
            try:
                getattr(client.runtime, call)(req, timeout=timeout)
            except grpc.RpcError as e:
                errors.append(f"{call} {p.id[:12]}: {e.code().name} {e.details()}")
    return errors


class Mascri:
    """mascrid with the built-in network on a private bridge and pod CIDR."""

    name = "mascri"

    def __init__(self, tag, log_level="info", cgroup_driver="cgroupfs"):
        self.tag = tag
        self.cgroup_driver = cgroup_driver
        self.bridge = "mbench" + tag[-6:]
        self.cidr = "10.213.0.0/16"
        self.cgroup_prefix = f"mascri-bench-{tag}"
        self.uid_prefix = f"bench-{self.name}-{tag}-"
        self.daemon = Daemon(extra_args=["--log-level", log_level, "--bridge", self.bridge,
                                         "--pod-cidr", self.cidr,
                                         "--cgroup-manager", cgroup_driver], network="builtin")
        self.log_dir = self.daemon.log_dir
        self.log_path = self.daemon.log_path
        self.client = None
        self.pid = None
        self.extra_pulls = []

    def start(self):
        self.daemon.start()
        self.client = self.daemon.client
        self.pid = self.daemon.proc.pid

    def version(self):
        from harness.paths import binary
        return command_output([str(binary("mascrid")), "--version"])

    def monitor_pids(self):
        """The mascri-monitor processes of this daemon (exe a memfd or file named
        mascri-monitor, comm mascri-monitor; their arguments name our state dir)."""
        tmp = str(self.daemon.tmp)
        return [p.pid for p in mem.processes()
                if (p.comm == "mascri-monitor" or "mascri-monitor" in p.exe) and tmp in p.cmdline]

    def pause_pids(self, pod_ids):
        ids = set(pod_ids)
        return [p.pid for p in mem.processes()
                if p.comm == "mascri-pause" and len(p.cmdline.split()) > 1
                and p.cmdline.split()[1] in ids]

    def log_tail(self, n=40):
        return self.daemon.log_tail(n)

    def log_problems(self):
        return problem_lines(self.log_path, (": error: ", ": warning: "))

    def cleanup(self):
        try:
            self.daemon.cleanup()
        finally:
            if self.cgroup_driver == "systemd":
                stop_slices(self.uid_prefix)
            kill_cgroup_procs(self.cgroup_prefix)
            remove_cgroups(self.cgroup_prefix)
            delete_link(self.bridge)


CONFIG_TOML = """version = 2
root = "{tmp}/root"
state = "{tmp}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{tmp}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  sandbox_image = "{pause}"
  enable_cdi = false
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryName = "{runc}"
  Root = "{tmp}/runc"
  SystemdCgroup = {systemd_cgroup}
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "{cni_bin}"
  conf_dir = "{tmp}/cni-conf"
  max_conf_num = 1
[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{registry}"]
  endpoint = ["http://{registry}"]
"""


class Containerd:
    """containerd 1.6's CRI plugin with runc and the CNI bridge plugin."""

    name = "containerd"

    def __init__(self, tag, registry_host, pause_ref, cgroup_driver="cgroupfs"):
        self.tag = tag
        self.cgroup_driver = cgroup_driver
        self.uid_prefix = f"bench-{self.name}-{tag}-"
        # The store takes overlayfs mounts: in the test VM / is itself an overlay (no upper
        # on it), MASCRI_BENCH_TMP names a tmpfs there.
        self.tmp = Path(tempfile.mkdtemp(prefix="mascri-bench-ctrd-",
                                         dir=os.environ.get("MASCRI_BENCH_TMP", "/var/tmp")))
        self.sock = self.tmp / "containerd.sock"
        self.bridge = "cbench" + tag[-6:]
        self.netname = f"mascri-bench-{tag}"
        self.cgroup_prefix = f"ctrd-bench-{tag}"
        self.log_dir = self.tmp / "logs"
        self.log_dir.mkdir()
        self.log_path = self.tmp / "containerd.log"
        self.proc = None
        self.client = None
        self.pid = None
        self.netns = set()
        self.extra_pulls = [pause_ref]
        (self.tmp / "config.toml").write_text(CONFIG_TOML.format(
            tmp=self.tmp, sock=self.sock, pause=pause_ref, runc=RUNC, cni_bin=CNI_BIN,
            registry=registry_host,
            systemd_cgroup="true" if cgroup_driver == "systemd" else "false"))
        conf = self.tmp / "cni-conf"
        conf.mkdir()
        (conf / "10-bench.conflist").write_text(json.dumps({
            "cniVersion": "0.4.0", "name": self.netname,
            "plugins": [{"type": "bridge", "bridge": self.bridge, "isGateway": True,
                         "ipMasq": False, "hairpinMode": True,
                         "ipam": {"type": "host-local", "dataDir": str(self.tmp / "ipam"),
                                  "ranges": [[{"subnet": "10.214.0.0/16"}]],
                                  "routes": [{"dst": "0.0.0.0/0"}]}}]}, indent=2))

    def start(self, timeout=30):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([CONTAINERD, "--config", str(self.tmp / "config.toml")],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            if self.sock.exists():
                c = CRIClient(self.sock)
                try:
                    c.runtime.Version(c.pb.VersionRequest(), timeout=2)
                    self.client = c
                    return
                except grpc.RpcError:
                    c.close()
            time.sleep(0.05)
        raise RuntimeError(f"containerd did not answer within {timeout}s:\n{self.log_tail()}")

    def version(self):
        return "; ".join(command_output([c, "--version"]) for c in (CONTAINERD, RUNC))

    def shim_pids(self):
        addr = f"-address {self.sock} "
        return [p.pid for p in mem.processes()
                if p.comm.startswith("containerd-shim") and addr in p.cmdline + " "]

    def monitor_pids(self):
        return self.shim_pids()

    def pause_pids(self, pod_ids):
        shims = set(self.shim_pids())
        return [p.pid for p in mem.processes() if p.comm == "pause" and p.ppid in shims]

    def note_netns(self, pod_id):
        """Remembers the pod's netns path (from its verbose status) for the cleanup."""
        pb = self.client.pb
        try:
            st = self.client.runtime.PodSandboxStatus(
                pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=True), timeout=30)
            spec = json.loads(st.info["info"]).get("runtimeSpec", {})
            for ns in spec.get("linux", {}).get("namespaces", []):
                if ns.get("type") == "network" and ns.get("path"):
                    self.netns.add(ns["path"])
        except (grpc.RpcError, KeyError, ValueError):
            pass

    def log_problems(self):
        return problem_lines(self.log_path, ("level=error", "level=warning", "level=fatal"),
                             CONTAINERD_BENIGN)

    def log_tail(self, n=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def cleanup(self):
        try:
            if self.client and self.proc and self.proc.poll() is None:
                remove_all_pods(self.client)
        finally:
            if self.client:
                self.client.close()
            if self.proc and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if getattr(self, "_log", None):
                self._log.close()
            self._final_cleanup()

    def _final_cleanup(self):
        tmp = str(self.tmp)
        kill_pids([p.pid for p in mem.processes() if tmp in p.cmdline])
        kill_cgroup_procs(self.cgroup_prefix)
        time.sleep(0.2)
        for ns in self.netns:
            if os.path.exists(ns):
                subprocess.run(["umount", ns], stderr=subprocess.DEVNULL)
                try:
                    os.unlink(ns)
                except OSError:
                    pass
        umount_under(tmp)
        if self.cgroup_driver == "systemd":
            stop_slices(self.uid_prefix)
        remove_cgroups(self.cgroup_prefix)
        delete_link(self.bridge)
        results = Path("/var/lib/cni/results")
        if results.is_dir():
            for f in results.glob(f"{self.netname}-*"):
                f.unlink(missing_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
