"""A real mascrid SIGKILLed while RunPodSandbox calls are in flight, restarted, and checked
(issue 5: "a killed daemon restarted mid-RunPodSandbox leaves no leaked veth or IP").

A pod made first must survive everything. Then each round fires a few RunPodSandbox calls
from threads at once and SIGKILLs the daemon at a point of a fixed schedule (from the
pause spawn through network setup to after it); then it restarts the daemon and checks
that every pod it lists is READY, has its address and answers a ping, that every call
that was answered made a listed pod, and that nothing is left of the interrupted ones: no
host veth, no address file, no network record, no namespace pin, no pod directory, no
pause process, no pod cgroup, no hostPort map element (built-in network); no host-local
reservation and no bridge port (CNI). Finally the first pod's hostPort must still serve,
all pods are removed and the pool must be empty. A last test keeps a (slow, chained) CNI
plugin of the killed daemon running across the restart: what it reserves must be released
too. Everything stays on this machine: the test's own bridge, pod CIDR and cgroup parent."""
import ipaddress
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

from harness.wait import wait_for
from pods_lib import (info, net_args, nft_table_of, nsenter, pid_alive, ping,  # noqa: F401
                      pod_config, remove, status, stop, write_bridge_conflist)

REAL_CNI_BIN = Path("/usr/lib/cni")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# One round each: (what starts the clock, ms from then to SIGKILL). "run": the daemon logs
# the round's first "creating" (measured here with 3 pods and hostPorts: pause and its
# cgroup until ~20 ms, pins, then the network until ~45 ms, the pod record last); "net":
# the round's first network record appears (written before the veth, or before CNI ADD),
# so those kills land inside network setup whatever the machine's speed.
BUILTIN_KILLS = [("run", 0), ("run", 5), ("run", 10), ("run", 15), ("run", 20), ("run", 30),
                 ("net", 0), ("net", 1), ("net", 3), ("net", 6), ("net", 10), ("run", 80)]
CNI_KILLS = [("run", 0), ("run", 10), ("run", 20), ("net", 0), ("net", 5), ("net", 10),
             ("net", 20), ("net", 40), ("run", 150)]
PODS_PER_ROUND = 3
CONTAINER_PORT = 8080
CREATING = re.compile(r"pod ([0-9a-f]{64}): creating ")


def run(*cmd, check=True):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=check,
                          timeout=60)


def veth_name(bridge, pod_id):
    """The built-in network's host veth name: FNV-1a 64 of "bridge/pod id", 48 bits."""
    h = 14695981039346656037
    for b in f"{bridge}/{pod_id}".encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"mv{h & 0xFFFFFFFFFFFF:012x}"


def links(*sel):
    """ip -j link show ...; [] when the selection names no link (a bridge not made yet)."""
    p = run("ip", "-j", "link", "show", *sel, check=False)
    return json.loads(p.stdout or "[]") if p.returncode == 0 else []


def pause_processes():
    """{pod id: pid} of every mascri-pause on the machine."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) >= 2 and argv[0] == b"mascri-pause" and pid_alive(int(d)):
            found[argv[1].decode()] = int(d)
    return found


def attempted_ids(d):
    """Every pod id RunPodSandbox started with (logged before anything is made)."""
    return set(CREATING.findall(d.log_path.read_text(errors="replace")))


def kill_leaked_pauses(d):
    """After a test: pause processes left of the pods d started (leaks of a failed run)."""
    ids = attempted_ids(d)
    for pod_id, pid in pause_processes().items():
        if pod_id in ids:
            os.kill(pid, signal.SIGKILL)


def names(path):
    return set(os.listdir(path)) if path.exists() else set()


def cgroup_pods(parent):
    """{hierarchy: {pod-<id> dirs}} under the test's cgroup parent."""
    out = {}
    for h in CGROUP_ROOT.iterdir():
        p = h / parent
        if p.is_dir():
            out[h.name] = {n for n in os.listdir(p) if (p / n).is_dir()}
    return out


def remove_cgroup_tree(path):
    """Kills what is left in it (pause processes a failed run leaked) and removes it."""
    if not path.is_dir():
        return
    for sub in path.iterdir():
        if sub.is_dir():
            remove_cgroup_tree(sub)
    for pid in (path / "cgroup.procs").read_text().split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(100):
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.01)


@pytest.fixture
def cgroup_parent():
    """A cgroup parent of this test's own (its pod cgroups are checked), removed after."""
    name = f"mascri-crash-{os.getpid()}-{random.randrange(1 << 16):04x}"
    yield name
    for h in CGROUP_ROOT.iterdir():
        remove_cgroup_tree(h / name)


class Rounds:
    """Fires RunPodSandbox calls, kills the daemon mid-way, restarts it; keeps what the
    client was told (answered ids), each pod's hostPort and where the kills landed."""

    def __init__(self, d, with_ports, records):
        self.d = d
        self.with_ports = with_ports
        self.records = records  # the network's pod records
        self.answered = set()
        self.host_port = {}  # pod name -> hostPort
        self.base_port = random.randrange(20000, 40000)
        self.landed = {}  # stage -> count of interrupted pods
        self.attempts = 0

    def config(self, pb, name):
        ports = []
        if self.with_ports:
            self.host_port[name] = self.base_port + len(self.host_port)
            ports = [pb.PortMapping(protocol=pb.TCP, container_port=CONTAINER_PORT,
                                    host_port=self.host_port[name])]
        return pod_config(pb, name=name, namespace="crash", ports=ports)

    def first_pod(self):
        """A pod made before any kill, with a hostPort when the rounds use them."""
        cri = self.d.client
        pod_id = cri.runtime.RunPodSandbox(
            cri.pb.RunPodSandboxRequest(config=self.config(cri.pb, "first")),
            timeout=30).pod_sandbox_id
        self.answered.add(pod_id)
        return pod_id

    def one(self, rnd, kill, stage_of):
        cri = self.d.client
        pb = cri.pb
        reqs = [pb.RunPodSandboxRequest(config=self.config(pb, f"r{rnd}-{i}"))
                for i in range(PODS_PER_ROUND)]
        self.attempts += len(reqs)
        go = threading.Barrier(len(reqs) + 1)
        lock = threading.Lock()

        def call(req):
            go.wait()
            try:
                pod_id = cri.runtime.RunPodSandbox(req, timeout=30).pod_sandbox_id
                with lock:
                    self.answered.add(pod_id)
            except (grpc.RpcError, ValueError):  # ValueError: the channel closed before
                pass

        threads = [threading.Thread(target=call, args=(r,)) for r in reqs]
        for t in threads:
            t.start()
        trigger, kill_ms = kill
        started = self.started_probe(trigger)
        go.wait()
        wait_for(started, f"round {rnd}: a {trigger} start", timeout=10, interval=0.0002)
        deadline = time.perf_counter() + kill_ms / 1000
        while time.perf_counter() < deadline:
            pass
        # The kill first (the client's channel stays open until then), then bookkeeping.
        os.kill(self.d.proc.pid, signal.SIGKILL)
        self.d.kill()
        for t in threads:
            t.join(60)
        recorded = names(self.d.root / "pods")
        for pod_id in attempted_ids(self.d):
            if not (self.d.root / "pods" / pod_id / "pod.json").exists() and pod_id in recorded:
                stage = stage_of(pod_id)
                self.landed[stage] = self.landed.get(stage, 0) + 1
        self.d.start()

    def started_probe(self, trigger):
        """A function true once the round got to its trigger point."""
        if trigger == "net":
            before = names(self.records)
            return lambda: any(n.endswith(".json") and not n.startswith(".")
                               for n in names(self.records) - before)
        offset = self.d.log_path.stat().st_size

        def logged():
            with open(self.d.log_path, "rb") as f:
                f.seek(offset)
                return CREATING.search(f.read().decode(errors="replace")) is not None
        return logged

    def summary(self):
        return (f"{self.attempts} RunPodSandbox calls, {len(self.answered)} answered; "
                f"interrupted pods by the last step they reached: {self.landed}")


def listed_pods(cri):
    pb = cri.pb
    items = cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items
    ids = {}
    for p in items:
        assert p.state == pb.SANDBOX_READY, f"pod {p.id} ({p.metadata.name}) is not ready"
        st = status(cri, p.id).status
        assert st.state == pb.SANDBOX_READY
        ids[p.id] = (p.metadata.name, st.network.ip)
    return ids


def assert_common(d, pods, attempted, cg_parent, subnet, answered):
    """What both network modes must show: listed pods complete, nothing else left."""
    listed = set(pods)
    gone = attempted - listed
    assert answered <= listed, "a pod whose RunPodSandbox answered is missing"
    ips = [ip for _, ip in pods.values()]
    assert all(ipaddress.ip_address(ip) in subnet for ip in ips)
    assert len(set(ips)) == len(ips)
    assert names(d.root / "pods") == listed
    assert names(d.state / "ns") == listed
    with open("/proc/self/mountinfo") as f:
        pins = {Path(l.split()[4]).parent.name for l in f
                if l.split()[4].startswith(str(d.state / "ns") + "/")}
    assert pins == listed
    pauses = pause_processes()
    assert not gone & set(pauses), "pause processes of pods that do not exist"
    assert listed <= set(pauses)
    for hier, dirs in cgroup_pods(cg_parent).items():
        assert dirs == {f"pod-{i}" for i in listed}, f"pod cgroups in {hier}"
    for pod_id, (_, ip) in pods.items():
        assert ping(ip), f"pod {pod_id} ({ip}) does not answer"


def builtin_checks(d, rounds, bridge, subnet, cg_parent):
    cri = d.client
    pods = listed_pods(cri)
    attempted = attempted_ids(d)
    assert_common(d, pods, attempted, cg_parent, subnet, rounds.answered)
    listed = set(pods)
    ips = d.root / "ipam" / "ips"
    owners = {f.name: f.read_text() for f in ips.iterdir()}
    assert owners == {ip: pod_id for pod_id, (_, ip) in pods.items()}, "address files"
    assert names(d.root / "ipam" / "pods") == {f"{i}.json" for i in listed}
    ports = {l["ifname"] for l in links("master", bridge)}
    assert ports == {veth_name(bridge, i) for i in listed}, "veths on the bridge"
    everywhere = {l["ifname"] for l in links()}
    assert not everywhere & {veth_name(bridge, i) for i in attempted - listed}
    if rounds.with_ports:
        want = {(rounds.host_port[name], ip) for name, ip in pods.values()}
        assert host_port_elements(d, subnet) == want, "hostPort map elements"


def host_port_elements(d, subnet):
    """(hostPort, pod address) of the hp4 map's elements (in d's table) that point into
    subnet."""
    p = run("nft", "-j", "list", "map", "inet", nft_table_of(d.args), "hp4", check=False)
    found = set()
    for item in json.loads(p.stdout or '{"nftables": []}')["nftables"]:
        for key, value in item.get("map", {}).get("elem", []):
            proto, port = key["concat"]
            addr, cport = value["concat"]
            if ipaddress.ip_address(addr) in subnet:
                assert proto == "tcp" and cport == CONTAINER_PORT
                found.add((port, addr))
    return found


def builtin_stage(d, bridge, subnet):
    def stage(pod_id):
        rec = d.root / "ipam" / "pods" / f"{pod_id}.json"
        ip = json.loads(rec.read_text()).get("ipv4") if rec.exists() else None
        steps = [("pod dir", True),
                 ("pause", pod_id in pause_processes()),
                 ("pins", (d.state / "ns" / pod_id).exists()),
                 ("network record", rec.exists()),
                 ("veth", run("ip", "link", "show", veth_name(bridge, pod_id),
                              check=False).returncode == 0),
                 ("hostPort", ip in {a for _, a in host_port_elements(d, subnet)})]
        return [s for s, done in steps if done][-1]
    return stage


@pytest.fixture
def builtin_crash_daemon(cgroup_parent, net_args, daemon_factory):
    args, bridge, cidr = net_args
    d = daemon_factory(args + ["--cgroup-parent", cgroup_parent], network="builtin")
    yield d, bridge, cidr, cgroup_parent
    kill_leaked_pauses(d)


def test_builtin_kill_mid_run_pod_sandbox_leaves_nothing(builtin_crash_daemon):
    d, bridge, subnet, cg_parent = builtin_crash_daemon
    rounds = Rounds(d, with_ports=True, records=d.root / "ipam" / "pods")
    first = rounds.first_pod()
    for rnd, kill in enumerate(BUILTIN_KILLS):
        rounds.one(rnd, kill, builtin_stage(d, bridge, subnet))
        builtin_checks(d, rounds, bridge, subnet, cg_parent)
    print(rounds.summary())
    # The first pod's hostPort mapping was restored by every restart.
    assert host_port_serves(d.client, first, str(next(subnet.hosts())),
                            rounds.host_port["first"])
    for pod_id in listed_pods(d.client):
        stop(d.client, pod_id)
        remove(d.client, pod_id)
    rounds.answered.clear()
    builtin_checks(d, rounds, bridge, subnet, cg_parent)
    assert list((d.root / "ipam" / "ips").iterdir()) == []
    assert links("master", bridge) == []


def host_port_serves(cri, pod_id, host, port):
    pin = info(cri, pod_id)["namespaces"]["network"]
    code = ("import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', {CONTAINER_PORT})); s.listen(1); print('up', flush=True)\n"
            "c, _ = s.accept(); c.sendall(b'pod here'); c.close()\n")
    srv = subprocess.Popen(["nsenter", f"--net={pin}", "/usr/bin/python3", "-c", code],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "up"
        with socket.create_connection((host, port), timeout=5) as s:
            return s.recv(100) == b"pod here"
    finally:
        srv.kill()
        srv.wait()


# CNI mode: Debian's bridge + host-local plugins.

@pytest.fixture
def cni_bridge_n():
    """The test's own CNI bridge name and /24 number; the bridge is deleted after."""
    n = random.randrange(10, 250)
    bridge = f"mpodk{os.getpid() % 1000}x{n}"
    yield bridge, n
    run("ip", "link", "delete", bridge, check=False)


@pytest.fixture
def cni_crash_daemon(cgroup_parent, cni_bridge_n, daemon_factory, tmp_path):
    bridge, n = cni_bridge_n
    subnet = ipaddress.ip_network(f"10.198.{n}.0/24")
    conf_dir = tmp_path / "net.d"
    data_dir = tmp_path / "ipam"
    write_bridge_conflist(conf_dir, "mascri-crash-test", bridge, subnet, data_dir)
    d = daemon_factory(["--cni-conf-dir", str(conf_dir), "--cni-bin-dir", str(REAL_CNI_BIN),
                        "--cgroup-parent", cgroup_parent], network="cni")
    yield d, bridge, subnet, data_dir / "mascri-crash-test", cgroup_parent
    kill_leaked_pauses(d)


def host_local_reservations(data_dir):
    """{address: container id} of host-local's files."""
    out = {}
    for f in data_dir.iterdir() if data_dir.exists() else []:
        try:
            ipaddress.ip_address(f.name)
        except ValueError:
            continue
        out[f.name] = f.read_text().split()[0]
    return out


def pod_peer_index(cri, pod_id):
    """ifindex (in the host) of the peer of the pod's eth0."""
    pin = info(cri, pod_id)["namespaces"]["network"]
    eth0 = json.loads(nsenter(pin, "ip", "-j", "link", "show", "eth0").stdout)[0]
    return eth0["link_index"]


def cni_checks(d, rounds, bridge, subnet, data_dir, cg_parent):
    cri = d.client
    pods = listed_pods(cri)
    attempted = attempted_ids(d)
    assert_common(d, pods, attempted, cg_parent, subnet, rounds.answered)
    assert host_local_reservations(data_dir) == {ip: i for i, (_, ip) in pods.items()}, \
        "host-local reservations"
    assert names(d.root / "cni" / "pods") == {f"{i}.json" for i in pods}
    ports = {l["ifindex"] for l in links("master", bridge)}
    assert ports == {pod_peer_index(cri, i) for i in pods}, "veths on the bridge"


def cni_stage(d):
    def stage(pod_id):
        steps = [("pod dir", True),
                 ("pause + pins", (d.state / "ns" / pod_id).exists()),
                 ("CNI record (ADD)", (d.root / "cni" / "pods" / f"{pod_id}.json").exists())]
        return [s for s, done in steps if done][-1]
    return stage


@pytest.mark.skipif(not (REAL_CNI_BIN / "bridge").exists(),
                    reason="containernetworking-plugins not installed")
def test_cni_kill_mid_run_pod_sandbox_leaves_nothing(cni_crash_daemon):
    d, bridge, subnet, data_dir, cg_parent = cni_crash_daemon
    rounds = Rounds(d, with_ports=False, records=d.root / "cni" / "pods")
    first = rounds.first_pod()
    for rnd, kill in enumerate(CNI_KILLS):
        rounds.one(rnd, kill, cni_stage(d))
        cni_checks(d, rounds, bridge, subnet, data_dir, cg_parent)
    print(rounds.summary())
    assert first in listed_pods(d.client)
    for pod_id in listed_pods(d.client):
        stop(d.client, pod_id)
        remove(d.client, pod_id)
    rounds.answered.clear()
    cni_checks(d, rounds, bridge, subnet, data_dir, cg_parent)
    assert host_local_reservations(data_dir) == {}


# A chained plugin whose ADD reserves something in its own directory (one file per
# container) and whose DEL gives it back; an armed ADD first sleeps, long enough for the
# daemon to be killed and restarted while the plugin still has its work to do (as an
# IPAM plugin asking a remote service would).
SLOW_PLUGIN = """#!/usr/bin/python3
import json, os, sys, time
conf = json.load(sys.stdin)
cmd, cid = os.environ["CNI_COMMAND"], os.environ.get("CNI_CONTAINERID", "")
mine = os.path.join(conf.get("reserveDir", "/nonexistent"), cid)
if cmd == "VERSION":
    print(json.dumps({{"cniVersion": "1.0.0", "supportedVersions": ["1.0.0"]}}))
elif cmd == "ADD":
    armed = os.path.exists("{arm}")
    if armed:
        open("{sleeping}", "w").close()
        time.sleep(1)
    open(mine, "w").close()
    if armed:
        open("{done}", "w").close()
    print(json.dumps(conf["prevResult"]))
elif cmd == "DEL" and os.path.exists(mine):
    os.unlink(mine)
"""


@pytest.fixture
def slow_cni_daemon(cgroup_parent, cni_bridge_n, daemon_factory, tmp_path):
    bridge, n = cni_bridge_n
    subnet = ipaddress.ip_network(f"10.198.{n}.0/24")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marks = {k: tmp_path / k for k in ("arm", "sleeping", "done", "reserved")}
    marks["reserved"].mkdir()
    plugin = bin_dir / "slow-reserve"
    plugin.write_text(SLOW_PLUGIN.format(**marks))
    plugin.chmod(0o755)
    conf_dir = tmp_path / "net.d"
    data_dir = tmp_path / "ipam"
    write_bridge_conflist(conf_dir, "mascri-slow-test", bridge, subnet, data_dir,
                          [{"type": "slow-reserve", "reserveDir": str(marks["reserved"])}])
    d = daemon_factory(["--cni-conf-dir", str(conf_dir), "--cni-bin-dir", str(bin_dir),
                        "--cni-bin-dir", str(REAL_CNI_BIN), "--cgroup-parent", cgroup_parent],
                       network="cni")
    yield d, bridge, subnet, data_dir / "mascri-slow-test", cgroup_parent, marks
    kill_leaked_pauses(d)


@pytest.mark.skipif(not (REAL_CNI_BIN / "bridge").exists(),
                    reason="containernetworking-plugins not installed")
def test_cni_plugin_outliving_the_killed_daemon_leaks_nothing(slow_cni_daemon):
    """A plugin of the killed daemon is not killed with it: the restarted daemon must not
    release the pod's network (DEL) before that plugin is done, or what it reserves
    afterwards is nobody's."""
    d, bridge, subnet, data_dir, cg_parent, marks = slow_cni_daemon
    rounds = Rounds(d, with_ports=False, records=d.root / "cni" / "pods")
    first = rounds.first_pod()
    marks["arm"].touch()
    cri = d.client
    req = cri.pb.RunPodSandboxRequest(config=rounds.config(cri.pb, "slow"))

    def call():
        try:
            cri.runtime.RunPodSandbox(req, timeout=30)
        except grpc.RpcError:
            pass

    t = threading.Thread(target=call)
    t.start()
    wait_for(marks["sleeping"].exists, "the armed plugin to start", timeout=10,
             interval=0.0002)
    os.kill(d.proc.pid, signal.SIGKILL)
    d.kill()
    t.join(60)
    marks["arm"].unlink()
    d.start()
    wait_for(marks["done"].exists, "the plugin of the killed daemon to finish",
             timeout=10, interval=0.0002)
    cni_checks(d, rounds, bridge, subnet, data_dir, cg_parent)
    assert set(listed_pods(d.client)) == {first}
    assert names(marks["reserved"]) == {first}, "a reservation of a pod that does not exist"
