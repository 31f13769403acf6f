"""The seed's success criterion end to end: a busybox httpd container started through the CRI
in a pod is reachable from the host on its pod IP and through a hostPort, with the built-in
network and in CNI mode (bridge + host-local + portmap from containernetworking-plugins);
the page comes from a read-only CRI bind mount."""
import json
import random
import subprocess
from pathlib import Path

import pytest

from ctr_lib import create, ctr_config, pull, start, wait_for
from pods_lib import info, net_args, pod_config, remove, status, stop  # noqa: F401
from test_cri_net import REAL_BIN, fetch


def run_web(cri, image, www, host_port, logs):
    pb = cri.pb
    pc = pod_config(pb, name=f"web-{host_port}",
                    ports=[pb.PortMapping(protocol=pb.TCP, container_port=8080,
                                          host_port=host_port)])
    pc.log_directory = str(logs)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cfg = ctr_config(pb, image, name="httpd", command=["httpd", "-f", "-p", "8080", "-h", "/www"],
                     mounts=[pb.Mount(container_path="/www", host_path=str(www), readonly=True)])
    cid = create(cri, pod, cfg, pc)
    start(cri, cid)
    return pod, cid


def check_reachable(cri, pod, host_addr, host_port):
    ip = status(cri, pod).status.network.ip
    assert ip
    assert wait_for(lambda: fetch(f"http://{ip}:8080/"), what="httpd on the pod IP") == \
        "hello from a mascri container"
    assert fetch(f"http://{host_addr}:{host_port}/") == "hello from a mascri container"
    # Another pod reaches it too (pod to pod through the bridge).
    return ip


@pytest.fixture
def www(tmp_path):
    d = tmp_path / "www"
    d.mkdir()
    (d / "index.html").write_text("hello from a mascri container")
    return d


def test_httpd_container_builtin_network(daemon_factory, net_args, test_images, www, tmp_path):
    args, _, cidr = net_args
    d = daemon_factory(args, network="builtin")
    cri = d.client
    pull(cri, test_images["busybox"])
    port = random.randrange(20000, 30000)
    pod, cid = run_web(cri, test_images["busybox"], www, port, tmp_path / "logs")
    gateway = str(next(cidr.hosts()))
    ip = check_reachable(cri, pod, gateway, port)
    # The read-only mount is read-only inside.
    r = cri.runtime.ExecSync(cri.pb.ExecSyncRequest(
        container_id=cid, cmd=["sh", "-c", "echo x > /www/index.html"]), timeout=30)
    assert r.exit_code != 0 and (www / "index.html").read_text() == "hello from a mascri container"
    # A second pod's container reaches the first by its pod IP.
    pb = cri.pb
    pc2 = pod_config(pb, name="client")
    pod2 = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc2), timeout=60).pod_sandbox_id
    c2 = create(cri, pod2, ctr_config(pb, test_images["busybox"], name="wget",
                                      command=["sleep", "3600"]), pc2)
    start(cri, c2)
    r = cri.runtime.ExecSync(pb.ExecSyncRequest(
        container_id=c2, cmd=["wget", "-q", "-O", "-", f"http://{ip}:8080/"], timeout=20),
        timeout=60)
    assert r.exit_code == 0 and r.stdout == b"hello from a mascri container"
    stop(cri, pod)
    assert fetch(f"http://{gateway}:{port}/") is None
    remove(cri, pod)
    remove(cri, pod2)


@pytest.mark.skipif(not (REAL_BIN / "portmap").exists(), reason="CNI plugins not installed")
def test_httpd_container_cni_portmap(daemon_factory, test_images, www, tmp_path):
    n = random.randrange(10, 250)
    bridge = f"mweb{n}"
    subnet = f"10.198.{n}.0/24"
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    (conf_dir / "10-web.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "mascri-web-test",
        "plugins": [
            {"type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False,
             "ipam": {"type": "host-local", "dataDir": str(tmp_path / "ipam"),
                      "ranges": [[{"subnet": subnet}]], "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }))
    try:
        d = daemon_factory(["--cni-conf-dir", str(conf_dir), "--cni-bin-dir", str(REAL_BIN)],
                           network="cni")
        cri = d.client
        pull(cri, test_images["busybox"])
        port = random.randrange(20000, 30000)
        pod, _ = run_web(cri, test_images["busybox"], www, port, tmp_path / "logs")
        gateway = subnet.rsplit(".", 1)[0] + ".1"
        check_reachable(cri, pod, gateway, port)
        remove(cri, pod)
        assert fetch(f"http://{gateway}:{port}/") is None
    finally:
        subprocess.run(["ip", "link", "delete", bridge], stderr=subprocess.DEVNULL)
