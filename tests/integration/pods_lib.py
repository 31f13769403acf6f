"""Helpers of the pod sandbox tests (test_cri_pods.py, test_cri_net.py, test_cri_net_crash.py)."""
import ipaddress
import json
import os
import random
import subprocess

import pytest


def pod_config(pb, name="web", namespace="default", uid=None, attempt=0, hostname="",
               labels=None, pid_pod=False, host_net=False, host_ipc=False, sysctls=None,
               dns=None, ports=None):
    ns = pb.NamespaceOption(
        network=pb.NODE if host_net else pb.POD,
        ipc=pb.NODE if host_ipc else pb.POD,
        pid=pb.POD if pid_pod else pb.CONTAINER)
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, namespace=namespace,
                                       uid=uid or f"uid-{name}", attempt=attempt),
        hostname=hostname, labels=labels or {}, dns_config=dns, port_mappings=ports or [],
        linux=pb.LinuxPodSandboxConfig(
            sysctls=sysctls or {},
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))


def run_pod(cri, **kw):
    pb = cri.pb
    return cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_config(pb, **kw)),
                                     timeout=60).pod_sandbox_id


def status(cri, pod_id, verbose=False):
    pb = cri.pb
    return cri.runtime.PodSandboxStatus(
        pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose), timeout=30)


def info(cri, pod_id):
    return json.loads(status(cri, pod_id, verbose=True).info["info"])


def stop(cri, pod_id):
    cri.runtime.StopPodSandbox(cri.pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)


def remove(cri, pod_id):
    cri.runtime.RemovePodSandbox(cri.pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id),
                                 timeout=60)


def list_ids(cri, **filt):
    pb = cri.pb
    f = pb.PodSandboxFilter(**filt) if filt else None
    return [p.id for p in cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(filter=f),
                                                     timeout=30).items]


def ns_inode(path):
    return os.stat(path).st_ino


def pins_mounted(prefix):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(prefix)]


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def nsenter(pin, *cmd, check=True, timeout=30):
    return subprocess.run(["nsenter", f"--net={pin}", *cmd], capture_output=True, text=True,
                          check=check, timeout=timeout)


def ping(ip, pin=None):
    cmd = ["ping", "-c1", "-W5", ip]
    if pin:
        return nsenter(pin, *cmd, check=False).returncode == 0
    return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0


@pytest.fixture
def net_args():
    """A bridge, an nftables table and a /24 of 10.89.0.0/16 of this test's own (so tests run
    at the same time, or another mascrid on the host, keep out of each other's rules); the
    bridge and table are deleted after."""
    n = random.randrange(100, 250)
    bridge = f"mpod{os.getpid() % 1000}x{n}"
    table = f"mt_{bridge}"
    cidr = f"10.89.{n}.0/24"
    yield (["--bridge", bridge, "--nft-table", table, "--pod-cidr", cidr], bridge,
           ipaddress.ip_network(cidr))
    subprocess.run(["ip", "link", "delete", bridge], stderr=subprocess.DEVNULL)
    subprocess.run(["nft", "delete", "table", "inet", table], stderr=subprocess.DEVNULL)


def nft_table_of(args):
    """The nftables table of a daemon started with args ("mascri" unless --nft-table)."""
    return args[args.index("--nft-table") + 1] if "--nft-table" in args else "mascri"


def write_bridge_conflist(conf_dir, name, bridge, subnet, data_dir, more_plugins=()):
    """A CNI conflist in conf_dir: the reference bridge plugin (gateway, no masquerade) with
    host-local IPAM over subnet (state under data_dir), then more_plugins."""
    conf_dir.mkdir(exist_ok=True)
    (conf_dir / f"10-{name}.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": name,
        "plugins": [{
            "type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False,
            "ipam": {"type": "host-local", "dataDir": str(data_dir),
                     "ranges": [[{"subnet": str(subnet)}]], "routes": [{"dst": "0.0.0.0/0"}]},
        }, *more_plugins],
    }))
