"""Pod sandboxes through mascrid's CRI: RunPodSandbox's pause process, namespaces and pins,
status, list filters, stop/remove, restarts and crashes of the daemon, connectivity between
pods (built-in network) and the IP pool over many pods."""
import ipaddress
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import grpc
import pytest

from harness.paths import binary

from pods_lib import (info, list_ids, net_args, ns_inode, nsenter, pid_alive, ping,  # noqa: F401
                      pins_mounted, pod_config, remove, run_pod, status, stop)


@pytest.fixture
def bdaemon(net_args, daemon_factory):
    args, _, _ = net_args
    return daemon_factory(args, network="builtin")


def test_run_pod_makes_pause_in_new_namespaces(bdaemon, net_args):
    cri = bdaemon.client
    pod = run_pod(cri, name="ns-check", hostname="ns-check-host", pid_pod=True)
    assert re.fullmatch(r"[0-9a-f]{64}", pod)
    inf = info(cri, pod)
    pid = inf["pid"]
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "mascri-pause"
    for ns in ("net", "ipc", "uts", "pid"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")
    pins = inf["namespaces"]
    assert set(pins) == {"network", "ipc", "uts", "pid"}
    assert ns_inode(pins["network"]) == ns_inode(f"/proc/{pid}/ns/net")
    assert ns_inode(pins["ipc"]) == ns_inode(f"/proc/{pid}/ns/ipc")
    assert len(pins_mounted(str(bdaemon.state / "ns" / pod))) == 4
    # The pins live below a private mount: they do not propagate anywhere.
    ns_root = [l.split() for l in Path("/proc/self/mountinfo").read_text().splitlines()
               if l.split()[4] == str(bdaemon.state / "ns")]
    assert ns_root and not any(f.startswith("shared:") for f in ns_root[-1][6:]
                               if f != "-")
    # PID 1 of its own pid namespace.
    nspid = [l for l in Path(f"/proc/{pid}/status").read_text().splitlines()
             if l.startswith("NSpid:")][0].split()
    assert nspid[-1] == "1"
    host = subprocess.run(["nsenter", f"--uts={pins['uts']}", "hostname"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert host == "ns-check-host"
    st = status(cri, pod).status
    assert st.state == cri.pb.SANDBOX_READY
    assert ipaddress.ip_address(st.network.ip) in net_args[2]
    assert st.metadata.name == "ns-check" and st.linux.namespaces.options.pid == cri.pb.POD
    assert st.created_at > 0
    # The pause process sits in the pod's cgroup on every hierarchy, v2 ("0::") included
    # (born there with CLONE_INTO_CGROUP, moved into the v1 ones).
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    assert lines and all(line.split(":", 2)[2] == inf["pauseCgroup"] for line in lines), lines
    pod_dir = bdaemon.root / "pods" / pod
    assert (pod_dir / "pod.json").exists() and (pod_dir / "hostname").read_text() == \
        "ns-check-host\n"
    assert st.network.ip in (pod_dir / "hosts").read_text()


def test_network_none_pod_has_loopback_only(daemon):
    cri = daemon.client
    pod = run_pod(cri, name="noip")
    st = status(cri, pod).status
    assert st.state == cri.pb.SANDBOX_READY and st.network.ip == ""
    pin = info(cri, pod)["namespaces"]["network"]
    links = nsenter(pin, "ip", "-o", "link").stdout
    assert "lo" in links and "eth0" not in links


def test_without_pid_pod_no_pid_namespace(daemon):
    cri = daemon.client
    pod = run_pod(cri, name="nopid")
    inf = info(cri, pod)
    assert "pid" not in inf["namespaces"]
    assert os.readlink(f"/proc/{inf['pid']}/ns/pid") == os.readlink("/proc/self/ns/pid")


def test_host_network_and_ipc(daemon):
    cri = daemon.client
    pod = run_pod(cri, name="hostnet", host_net=True, host_ipc=True)
    inf = info(cri, pod)
    assert inf["namespaces"] == {}
    pid = inf["pid"]
    for ns in ("net", "ipc", "uts"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/self/ns/{ns}")
    st = status(cri, pod).status
    assert st.network.ip == ""
    assert st.linux.namespaces.options.network == cri.pb.NODE
    assert "shm" not in inf


def test_duplicate_name_names_the_holder(daemon):
    cri = daemon.client
    first = run_pod(cri, name="dup", uid="same")
    with pytest.raises(grpc.RpcError) as e:
        run_pod(cri, name="dup", uid="same")
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first in e.value.details()
    # Another attempt is another name.
    run_pod(cri, name="dup", uid="same", attempt=1)


def test_concurrent_same_name_one_wins(daemon):
    cri = daemon.client
    results = []

    def go():
        try:
            results.append(run_pod(cri, name="race", uid="race"))
        except grpc.RpcError as e:
            results.append(e.code())

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One pod is made. Identical requests that overlapped its creation answer with it (a
    # kubelet retry); later ones find the name in use.
    ids = set(r for r in results if isinstance(r, str))
    assert len(ids) == 1
    assert all(isinstance(r, str) or r == grpc.StatusCode.ALREADY_EXISTS for r in results)
    assert list_ids(cri) == list(ids)


@pytest.mark.parametrize("field", ["metadata", "name", "namespace", "uid"])
def test_missing_metadata_is_invalid(daemon, field):
    cri = daemon.client
    pb = cri.pb
    cfg = pod_config(pb, name="m")
    if field == "metadata":
        cfg.ClearField("metadata")
    else:
        setattr(cfg.metadata, field, "")
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list_ids(cri) == []


def test_unknown_ids(daemon):
    cri = daemon.client
    pb = cri.pb
    for call in (lambda: status(cri, "f" * 64),
                 lambda: cri.runtime.PodSandboxStats(
                     pb.PodSandboxStatsRequest(pod_sandbox_id="f" * 64), timeout=30)):
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    stop(cri, "f" * 64)
    remove(cri, "f" * 64)


def test_sysctls_and_dns(daemon):
    cri = daemon.client
    pb = cri.pb
    dns = pb.DNSConfig(servers=["10.96.0.10"], searches=["default.svc.cluster.local"],
                       options=["ndots:5"])
    pod = run_pod(cri, name="sys", sysctls={"net.ipv4.ip_unprivileged_port_start": "80",
                                             "kernel.shmmni": "2048"}, dns=dns)
    inf = info(cri, pod)
    out = nsenter(inf["namespaces"]["network"], "cat",
                  "/proc/sys/net/ipv4/ip_unprivileged_port_start").stdout.strip()
    assert out == "80"
    host = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text().strip()
    assert host != "80" or out == host
    shm = subprocess.run(["nsenter", f"--ipc={inf['namespaces']['ipc']}", "cat",
                          "/proc/sys/kernel/shmmni"], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert shm == "2048"
    assert Path(inf["resolvConf"]).read_text() == (
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local\noptions ndots:5\n")
    for bad, kw in (("kernel.hostname", {}), ("vm.swappiness", {}),
                    ("net.ipv4.ip_forward", {"host_net": True})):
        with pytest.raises(grpc.RpcError) as e:
            run_pod(cri, name="bad-" + bad.replace(".", "-"), sysctls={bad: "1"}, **kw)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        run_pod(cri, name="longhost", hostname="h" * 65)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list_ids(cri) == [pod]


def test_resolv_conf_defaults_to_the_hosts(daemon):
    cri = daemon.client
    pod = run_pod(cri, name="dnsdef")
    assert Path(info(cri, pod)["resolvConf"]).read_bytes() == \
        Path("/etc/resolv.conf").read_bytes()


def test_stop_is_idempotent_and_remove_frees_everything(bdaemon):
    cri = bdaemon.client
    pod = run_pod(cri, name="life", pid_pod=True)
    inf = info(cri, pod)
    pid, ip = inf["pid"], status(cri, pod).status.network.ip
    shm = inf["shm"]
    assert any(m == shm for m in pins_mounted(shm))
    stop(cri, pod)
    assert not pid_alive(pid)
    st = status(cri, pod).status
    assert st.state == cri.pb.SANDBOX_NOTREADY
    assert not any(m == shm for m in pins_mounted(shm))
    stop(cri, pod)
    assert status(cri, pod).status.state == cri.pb.SANDBOX_NOTREADY
    assert not (bdaemon.root / "ipam" / "ips" / ip).exists()
    remove(cri, pod)
    assert pins_mounted(str(bdaemon.state / "ns" / pod)) == []
    assert not (bdaemon.state / "ns" / pod).exists()
    assert not (bdaemon.root / "pods" / pod).exists()
    with pytest.raises(grpc.RpcError) as e:
        status(cri, pod)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    remove(cri, pod)
    # The name is free again.
    run_pod(cri, name="life", pid_pod=True)


def test_remove_of_a_running_pod_stops_it(daemon):
    cri = daemon.client
    pod = run_pod(cri, name="rm-running")
    pid = info(cri, pod)["pid"]
    remove(cri, pod)
    assert not pid_alive(pid)
    assert list_ids(cri) == []


def test_list_filters(daemon):
    cri = daemon.client
    pb = cri.pb
    a = run_pod(cri, name="a", labels={"app": "x", "tier": "fe"})
    b = run_pod(cri, name="b", labels={"app": "x"})
    c = run_pod(cri, name="c", labels={"app": "y"})
    stop(cri, c)
    assert list_ids(cri) == [a, b, c]
    assert list_ids(cri, id=b) == [b]
    assert list_ids(cri, id=a[:12]) == [a]
    assert list_ids(cri, label_selector={"app": "x"}) == [a, b]
    assert list_ids(cri, label_selector={"app": "x", "tier": "fe"}) == [a]
    assert list_ids(cri, label_selector={"app": "z"}) == []
    assert list_ids(cri, state=pb.PodSandboxStateValue(state=pb.SANDBOX_READY)) == [a, b]
    assert list_ids(cri, state=pb.PodSandboxStateValue(state=pb.SANDBOX_NOTREADY)) == [c]
    items = cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items
    assert dict(items[0].labels) == {"app": "x", "tier": "fe"}
    # Status and stats by a unique prefix.
    assert status(cri, a[:12]).status.id == a


def test_stats(daemon):
    cri = daemon.client
    pb = cri.pb
    pod = run_pod(cri, name="stats", labels={"k": "v"})
    s = cri.runtime.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=pod),
                                    timeout=30).stats
    assert s.attributes.id == pod and dict(s.attributes.labels) == {"k": "v"}
    assert s.linux.process.process_count.value >= 1
    assert s.linux.memory.usage_bytes.value > 0
    listed = cri.runtime.ListPodSandboxStats(
        pb.ListPodSandboxStatsRequest(filter=pb.PodSandboxStatsFilter(label_selector={"k": "v"})),
        timeout=30).stats
    assert [x.attributes.id for x in listed] == [pod]


def test_restart_keeps_pods(bdaemon):
    cri = bdaemon.client
    a = run_pod(cri, name="keep-a")
    b = run_pod(cri, name="keep-b")
    ip_a = status(cri, a).status.network.ip
    pid_b = info(cri, b)["pid"]
    bdaemon.restart()
    cri = bdaemon.client
    assert list_ids(cri) == [a, b]
    assert status(cri, a).status.state == cri.pb.SANDBOX_READY
    assert status(cri, a).status.network.ip == ip_a
    # The pause process outlives a crash of mascrid too.
    bdaemon.kill()
    assert pid_alive(pid_b)
    os.kill(pid_b, signal.SIGKILL)
    bdaemon.start()
    cri = bdaemon.client
    assert status(cri, a).status.state == cri.pb.SANDBOX_READY
    assert status(cri, b).status.state == cri.pb.SANDBOX_NOTREADY
    # Names stay reserved across restarts.
    with pytest.raises(grpc.RpcError) as e:
        run_pod(cri, name="keep-a")
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    stop(cri, b)
    remove(cri, b)
    assert list_ids(cri) == [a]


def test_pods_reach_each_other_and_the_host_reaches_them(bdaemon):
    cri = bdaemon.client
    a = run_pod(cri, name="ping-a")
    b = run_pod(cri, name="ping-b")
    ip_a, ip_b = (status(cri, p).status.network.ip for p in (a, b))
    pin_a, pin_b = (info(cri, p)["namespaces"]["network"] for p in (a, b))
    assert ip_a != ip_b
    assert ping(ip_b, pin_a)
    assert ping(ip_a, pin_b)
    assert ping(ip_a)
    pb = cri.pb
    net = cri.runtime.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=a),
                                      timeout=30).stats.linux.network
    assert net.default_interface.name == "eth0"
    assert net.default_interface.rx_bytes.value > 0 and net.default_interface.tx_bytes.value > 0
    stop(cri, b)
    assert not ping(ip_b, pin_a)


def test_300_pods_keep_the_ip_pool_intact(bdaemon, net_args):
    """The /24 holds 253 pod addresses: 300 pods one after another only fit when every
    removal gives its address back."""
    cri = bdaemon.client
    ips_dir = bdaemon.root / "ipam" / "ips"
    seen = set()
    for i in range(300):
        pod = run_pod(cri, name=f"pool-{i}")
        ip = status(cri, pod).status.network.ip
        assert ipaddress.ip_address(ip) in net_args[2]
        assert [p.name for p in ips_dir.iterdir()] == [ip]
        seen.add(ip)
        remove(cri, pod)
    assert len(seen) == 253
    assert list_ids(cri) == []
    assert list(ips_dir.iterdir()) == []
    assert not any((bdaemon.root / "pods").iterdir())
    assert not any((bdaemon.state / "ns").iterdir())
    assert pins_mounted(str(bdaemon.state / "ns") + "/") == []


def test_restart_removes_leftovers_of_an_interrupted_run(daemon):
    """Pins and pod directories without a record (a crash inside RunPodSandbox) go away."""
    cri = daemon.client
    kept = run_pod(cri, name="kept")
    daemon.stop()
    orphan = "ab" * 32
    ns_dir = daemon.state / "ns" / orphan
    ns_dir.mkdir(parents=True)
    (ns_dir / "net").touch()
    subprocess.run(["mount", "--bind", "/proc/self/ns/net", str(ns_dir / "net")], check=True)
    pod_dir = daemon.root / "pods" / orphan
    (pod_dir / "shm").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(pod_dir / "shm")], check=True)
    pause = subprocess.Popen(["mascri-pause", orphan], executable=str(binary("mascri-pause")),
                             start_new_session=True)
    try:
        daemon.start()
        assert pause.wait(timeout=30) == 0
    finally:
        pause.kill()
        pause.wait()
    assert not ns_dir.exists() and not pod_dir.exists()
    assert pins_mounted(str(ns_dir)) == [] and pins_mounted(str(pod_dir)) == []
    assert list_ids(daemon.client) == [kept]
    assert status(daemon.client, kept).status.state == cri.pb.SANDBOX_READY


def test_network_failure_rolls_everything_back(bdaemon):
    """The built-in network refuses SCTP port mappings: by then pause runs and the
    namespaces are pinned; all of it must be undone."""
    cri = bdaemon.client
    pb = cri.pb
    with pytest.raises(grpc.RpcError) as e:
        run_pod(cri, name="rollback", ports=[pb.PortMapping(protocol=pb.SCTP, container_port=80,
                                                            host_port=28080)])
    assert e.value.code() != grpc.StatusCode.OK
    pod = re.search(r"pod ([0-9a-f]{64}): creating k8s_POD_rollback_",
                    bdaemon.log_path.read_text()).group(1)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                assert pod.encode() not in Path(f"/proc/{d}/cmdline").read_bytes()
            except OSError:
                pass
    assert not (bdaemon.state / "ns" / pod).exists()
    assert not (bdaemon.root / "pods" / pod).exists()
    assert pins_mounted(str(bdaemon.state / "ns") + "/") == []
    assert list((bdaemon.root / "ipam" / "ips").iterdir()) == []
    assert list_ids(cri) == []
    # The name is free again.
    run_pod(cri, name="rollback")


def test_parallel_pods(bdaemon, net_args):
    cri = bdaemon.client
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(8) as ex:
        pods = list(ex.map(lambda i: run_pod(cri, name=f"par-{i}"), range(16)))
    ips = {status(cri, p).status.network.ip for p in pods}
    assert len(ips) == 16 and all(ipaddress.ip_address(i) in net_args[2] for i in ips)
    assert sorted(list_ids(cri)) == sorted(pods)
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda p: remove(cri, p), pods))
    assert list_ids(cri) == []
    assert list((bdaemon.root / "ipam" / "ips").iterdir()) == []
    assert pins_mounted(str(bdaemon.state / "ns") + "/") == []


def test_concurrent_stop_and_remove_of_one_pod(daemon):
    cri = daemon.client
    from concurrent.futures import ThreadPoolExecutor
    pod = run_pod(cri, name="contended")
    pid = info(cri, pod)["pid"]
    calls = [stop, remove] * 4
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda f: f(cri, pod), calls))
    assert list_ids(cri) == [] and not pid_alive(pid)
    assert not (daemon.root / "pods" / pod).exists()


def test_a_bridge_out_of_ports_fails_with_resource_exhausted(net_args, daemon_factory, tmp_path):
    # The kernel's bridge numbers ports in 10 bits (1023 at most). A bridge already holding
    # that many makes RunPodSandbox fail with RESOURCE_EXHAUSTED naming the limit, and
    # the pod rolls back.
    args, bridge, _ = net_args
    tag = f"{os.getpid() % 10000}"
    names = [f"mx{tag}v{i}" for i in range(1023)]
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    batch = tmp_path / "ports"
    batch.write_text("".join(f"link add {n} type veth peer name {n}p\nlink set {n} master {bridge}\n"
                             for n in names))
    try:
        subprocess.run(["ip", "-batch", str(batch)], check=True)
        d = daemon_factory(args, network="builtin")
        cri = d.client
        with pytest.raises(grpc.RpcError) as e:
            run_pod(cri, name="one-too-many")
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "1023" in e.value.details()
        assert list_ids(cri) == []
    finally:
        batch.write_text("".join(f"link del {n}\n" for n in names))
        subprocess.run(["ip", "-force", "-batch", str(batch)], stderr=subprocess.DEVNULL)
