"""Pod networking through mascrid's CRI in CNI mode, with Debian's reference plugins
(bridge + host-local from containernetworking-plugins): run, status, ping, stop, remove."""
import ipaddress
import os
import random
import socket
import subprocess
import time
from pathlib import Path

import pytest

from pods_lib import (info, list_ids, net_args, ping, remove, run_pod, status,  # noqa: F401
                      stop, write_bridge_conflist)

REAL_BIN = Path("/usr/lib/cni")
pytestmark = pytest.mark.skipif(not (REAL_BIN / "bridge").exists(),
                                reason="containernetworking-plugins not installed")


@pytest.fixture
def cni_bridge():
    """The test's own bridge name, deleted after the daemon's cleanup."""
    n = random.randrange(10, 250)
    bridge = f"mpodc{os.getpid() % 1000}x{n}"
    yield bridge, n
    subprocess.run(["ip", "link", "delete", bridge], stderr=subprocess.DEVNULL)


@pytest.fixture
def cni_daemon(cni_bridge, daemon_factory, tmp_path):
    bridge, n = cni_bridge
    subnet = f"10.199.{n}.0/24"
    conf_dir = tmp_path / "net.d"
    ipam_dir = tmp_path / "ipam"
    write_bridge_conflist(conf_dir, "mascri-pods-test", bridge, subnet, ipam_dir)
    d = daemon_factory(["--cni-conf-dir", str(conf_dir), "--cni-bin-dir", str(REAL_BIN)],
                       network="cni")
    return d, ipaddress.ip_network(subnet), ipam_dir / "mascri-pods-test"


def test_cni_pods_run_ping_stop_remove(cni_daemon):
    d, subnet, ipam = cni_daemon
    cri = d.client
    a = run_pod(cri, name="cni-a")
    b = run_pod(cri, name="cni-b")
    ip_a, ip_b = (status(cri, p).status.network.ip for p in (a, b))
    assert ipaddress.ip_address(ip_a) in subnet and ipaddress.ip_address(ip_b) in subnet
    assert ip_a != ip_b
    assert (ipam / ip_a).exists()
    pin_a, pin_b = (info(cri, p)["namespaces"]["network"] for p in (a, b))
    assert ping(ip_b, pin_a)
    assert ping(ip_a, pin_b)
    assert ping(ip_a)
    stop(cri, b)
    assert status(cri, b).status.state == cri.pb.SANDBOX_NOTREADY
    assert not (ipam / ip_b).exists()
    stop(cri, b)
    remove(cri, b)
    # The pod survives a daemon restart with its address.
    d.restart()
    cri = d.client
    assert status(cri, a).status.network.ip == ip_a
    assert status(cri, a).status.state == cri.pb.SANDBOX_READY
    remove(cri, a)
    assert not (ipam / ip_a).exists()
    assert list_ids(cri) == []


@pytest.fixture
def builtin_daemon(daemon_factory, net_args):
    args, _, cidr = net_args
    return daemon_factory(args, network="builtin"), cidr


def fetch(url, pin=None):
    code = ("import sys, urllib.request\n"
            "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())")
    cmd = ["/usr/bin/python3", "-c", code, url]
    if pin:
        cmd = ["nsenter", f"--net={pin}"] + cmd
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    return p.stdout.strip() if p.returncode == 0 else None


def connect_result(addr, port, timeout=5):
    """'ok', 'refused' or 'timeout' for a TCP connect from the host."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((addr, port))
            return "ok"
        except ConnectionRefusedError:
            return "refused"
        except socket.timeout:
            return "timeout"


def test_builtin_host_port_from_ipv6_loopback_is_refused_not_hung(builtin_daemon, tmp_path):
    """A dual-stack pod's hostPort: [::1]:hostPort cannot be DNATed to the bridge (IPv6 has
    no route_localnet; the packet would be dropped and the client hang), so it is refused at
    once; the pod's IPv6 address and 127.0.0.1 still answer."""
    d, cidr = builtin_daemon
    cri = d.client
    pb = cri.pb
    n = cidr.network_address.packed[2]
    cri.runtime.UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(
        runtime_config=pb.RuntimeConfig(network_config=pb.NetworkConfig(
            pod_cidr=f"{cidr},fd89:{n:x}::/64"))), timeout=30)
    host_port = random.randrange(20000, 30000)
    pod = run_pod(cri, name="web-port6",
                  ports=[pb.PortMapping(protocol=pb.TCP, container_port=8080,
                                        host_port=host_port)])
    pin = info(cri, pod)["namespaces"]["network"]
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello pod")
    httpd = subprocess.Popen(["nsenter", f"--net={pin}", "/usr/bin/python3", "-m", "http.server",
                              "8080", "--bind", "::", "--directory", str(www)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        st = status(cri, pod).status.network
        ip6 = next((a.ip for a in st.additional_ips if ":" in a.ip), None) or st.ip
        assert ":" in ip6, st
        for _ in range(50):
            if fetch(f"http://[{ip6}]:8080/") == "hello pod":
                break
        assert fetch(f"http://127.0.0.1:{host_port}/") == "hello pod"
        t0 = time.monotonic()
        assert connect_result("::1", host_port) == "refused"
        assert time.monotonic() - t0 < 2
    finally:
        httpd.kill()
        httpd.wait()
        stop(cri, pod)


def test_builtin_host_port_mapping(builtin_daemon, tmp_path):
    d, cidr = builtin_daemon
    cri = d.client
    pb = cri.pb
    host_port = random.randrange(20000, 30000)
    pod = run_pod(cri, name="web-port",
                  ports=[pb.PortMapping(protocol=pb.TCP, container_port=8080,
                                        host_port=host_port)])
    pin = info(cri, pod)["namespaces"]["network"]
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello pod")
    httpd = subprocess.Popen(["nsenter", f"--net={pin}", "/usr/bin/python3", "-m", "http.server",
                              "8080", "--bind", "0.0.0.0", "--directory", str(www)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ip = status(cri, pod).status.network.ip
        body = None
        for _ in range(50):
            body = fetch(f"http://{ip}:8080/")
            if body:
                break
        assert body == "hello pod"
        gateway = str(next(cidr.hosts()))
        assert fetch(f"http://{gateway}:{host_port}/") == "hello pod"
        # From the node's own loopback too (route_localnet + masquerade, as CNI portmap).
        assert fetch(f"http://127.0.0.1:{host_port}/") == "hello pod"
        stop(cri, pod)
        assert fetch(f"http://{gateway}:{host_port}/") is None
        assert fetch(f"http://127.0.0.1:{host_port}/") is None
    finally:
        httpd.kill()
        httpd.wait()
