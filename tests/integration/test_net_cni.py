"""CNI mode of the pod networking library: Debian's real reference plugins (bridge,
host-local, portmap in /usr/lib/cni) for connectivity, and small recording plugins to
check the protocol itself (order, environment, prevResult, runtimeConfig, errors)."""
import json
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from test_net_lib import (CNI_BRIDGE, CNI_CIDR, TOOL, Net, ToolError, curl, delete_link,
                          kill_after, links_on, netns_tool, run)  # noqa: F401 (fixture)

REAL_BIN = Path("/usr/lib/cni")
pytestmark = pytest.mark.skipif(not (REAL_BIN / "bridge").exists(),
                                reason="containernetworking-plugins not installed")

PORTMAP_CHAINS = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"]


def iptables_chain_exists(chain):
    return run("iptables", "-t", "nat", "-S", chain, check=False).returncode == 0


@pytest.fixture(scope="module", autouse=True)
def portmap_leftovers():
    """portmap leaves its shared base chains behind by design: remove them if we made them."""
    existed = {c: iptables_chain_exists(c) for c in PORTMAP_CHAINS}
    tables = [("ip", "nat"), ("ip6", "nat")]
    had_table = {t: run("nft", "list", "table", *t, check=False).returncode == 0 for t in tables}
    saved_fwd = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    yield
    if not any(existed.values()):
        for rule in (["PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j",
                      "CNI-HOSTPORT-DNAT"],
                     ["OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"],
                     ["POSTROUTING", "-m", "comment", "--comment",
                      "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"]):
            run("iptables", "-t", "nat", "-D", *rule, check=False)
        for c in PORTMAP_CHAINS:
            run("iptables", "-t", "nat", "-F", c, check=False)
            run("iptables", "-t", "nat", "-X", c, check=False)
        # iptables-nft created these tables for portmap: remove them when they were not there.
        for t in tables:
            if not had_table[t]:
                run("nft", "delete", "table", *t, check=False)
    Path("/proc/sys/net/ipv4/ip_forward").write_text(saved_fwd)


def real_conflist(ipam_dir, subnet=CNI_CIDR, with_portmap=True):
    plugins = [{
        "type": "bridge", "bridge": CNI_BRIDGE, "isGateway": True, "ipMasq": False,
        "ipam": {"type": "host-local", "dataDir": str(ipam_dir),
                 "ranges": [[{"subnet": subnet}]], "routes": [{"dst": "0.0.0.0/0"}]},
    }]
    if with_portmap:
        plugins.append({"type": "portmap", "capabilities": {"portMappings": True}})
    return {"cniVersion": "1.0.0", "name": "mascri-test", "plugins": plugins}


class CniNet(Net):
    def __init__(self, tmp):
        self.conf_dir = tmp / "net.d"
        self.conf_dir.mkdir()
        self.cache_dir = tmp / "cache"
        self.ipam_dir = tmp / "ipam"
        self.bin_dir = tmp / "bin"
        self.bin_dir.mkdir()
        super().__init__(["--mode", "cni", "--cni-conf-dir", str(self.conf_dir),
                          "--cni-cache-dir", str(self.cache_dir), "--cni-bin-dir",
                          str(self.bin_dir), "--cni-bin-dir", str(REAL_BIN),
                          "--state-dir", str(tmp / "state")], tmp)

    def write_conf(self, name, conf):
        (self.conf_dir / name).write_text(json.dumps(conf))

    def records(self):
        d = self.cache_dir / "pods"
        return sorted(f.stem for f in d.glob("*.json")) if d.exists() else []

    def host_local_ips(self):
        d = self.ipam_dir / "mascri-test"
        if not d.exists():
            return []
        return sorted(f.name for f in d.iterdir()
                      if f.name[0].isdigit() and not f.name.startswith("last_reserved"))


@pytest.fixture
def cni():
    tmp = Path(tempfile.mkdtemp(prefix="mascri-cni-"))
    n = CniNet(tmp)
    yield n
    n.cleanup()
    delete_link(CNI_BRIDGE)
    shutil.rmtree(tmp, ignore_errors=True)


RECORDER = r'''#!/usr/bin/python3
# Records how it was called, answers like a plugin. Behaviour from its file name.
import json, os, sys, time
name = os.path.basename(sys.argv[0])
cmd = os.environ.get("CNI_COMMAND", "")
data = sys.stdin.read()
conf = json.loads(data) if data.strip() else {}
env = {k: v for k, v in os.environ.items() if k.startswith("CNI_")}
with open(os.environ["RECORDER_LOG"], "a") as f:
    f.write(json.dumps({"plugin": name, "env": env, "stdin": conf}) + "\n")
if cmd == "VERSION":
    print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0"]}))
    sys.exit(0)
if name == "rec-fail" and cmd == "ADD":
    print(json.dumps({"cniVersion": "1.0.0", "code": 11, "msg": "boom: no luck",
                      "details": "the details"}))
    sys.exit(1)
if name == "rec-slow" and cmd == "ADD":
    time.sleep(30)
if cmd == "ADD":
    if "prevResult" in conf:
        res = conf["prevResult"]
        res.setdefault("dns", {})["nameservers"] = ["10.201.0.53"]
    else:
        res = {"cniVersion": "1.0.0",
               "interfaces": [{"name": "host0"}, {"name": "eth0", "sandbox": os.environ["CNI_NETNS"]}],
               "ips": [{"address": "10.201.0.9/24", "interface": 0},
                       {"address": "10.201.0.5/24", "gateway": "10.201.0.1", "interface": 1}]}
    print(json.dumps(res))
'''


def install_recorders(cni):
    for name in ("rec-a", "rec-b", "rec-fail", "rec-slow"):
        p = cni.bin_dir / name
        p.write_text(RECORDER)
        p.chmod(0o755)
    log = cni.tmp / "calls.log"
    return log


def calls(log, command=None):
    out = [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []
    return [c for c in out if command is None or c["env"].get("CNI_COMMAND") == command]


def test_not_ready_without_config(cni):
    st = cni.tool("status")
    assert st["ready"] is False and str(cni.conf_dir) in st["reason"]
    ns = cni.netns()
    with pytest.raises(ToolError) as e:
        cni.tool("setup", "--id", "p", "--netns", f"/run/netns/{ns}")
    assert "not ready" in e.value.stderr and "failed precondition" in e.value.stderr
    # A config appearing later is picked up without reopening.
    cni.write_conf("10-net.conflist", real_conflist(cni.ipam_dir))
    assert cni.tool("status")["ready"] is True


def test_not_ready_when_a_plugin_is_missing(cni):
    cni.write_conf("10-net.conflist", {"cniVersion": "1.0.0", "name": "x",
                                       "plugins": [{"type": "no-such-plugin"}]})
    st = cni.tool("status")
    assert st["ready"] is False and "no-such-plugin" in st["reason"]


def test_protocol_order_env_prev_result_runtime_config(cni, monkeypatch):
    log = install_recorders(cni)
    monkeypatch.setenv("RECORDER_LOG", str(log))
    cni.write_conf("10-rec.conflist", {
        "cniVersion": "1.0.0", "name": "recnet",
        "plugins": [{"type": "rec-a", "opt": 1},
                    {"type": "rec-b", "capabilities": {"portMappings": True}}]})
    ns = cni.netns()
    res = cni.tool("setup", "--id", "pod1", "--netns", f"/run/netns/{ns}", "--name", "web",
                   "--namespace", "prod", "--port", "tcp:8080:80", "--port", "udp:0:53")
    # The sandbox interface's address is the pod IP; DNS from the result.
    assert res["ipv4"] == "10.201.0.5" and res["gateway4"] == "10.201.0.1"
    assert res["prefix4"] == 24 and res["dnsServers"] == ["10.201.0.53"]
    adds = calls(log, "ADD")
    assert [c["plugin"] for c in adds] == ["rec-a", "rec-b"]
    env = adds[0]["env"]
    assert env["CNI_CONTAINERID"] == "pod1" and env["CNI_NETNS"] == f"/run/netns/{ns}"
    assert env["CNI_IFNAME"] == "eth0"
    assert "K8S_POD_NAME=web" in env["CNI_ARGS"] and "K8S_POD_NAMESPACE=prod" in env["CNI_ARGS"]
    assert "K8S_POD_INFRA_CONTAINER_ID=pod1" in env["CNI_ARGS"]
    assert str(cni.bin_dir) in env["CNI_PATH"].split(":")
    a_in, b_in = adds[0]["stdin"], adds[1]["stdin"]
    assert a_in["name"] == "recnet" and a_in["cniVersion"] == "1.0.0" and a_in["opt"] == 1
    assert "prevResult" not in a_in and "runtimeConfig" not in a_in
    assert b_in["prevResult"]["ips"][1]["address"] == "10.201.0.5/24"
    # Only mappings with a host port, only to the plugin with the capability.
    assert b_in["runtimeConfig"] == {"portMappings": [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}

    cni.tool("check", "--id", "pod1", "--netns", f"/run/netns/{ns}")
    checks = calls(log, "CHECK")
    assert [c["plugin"] for c in checks] == ["rec-a", "rec-b"]
    assert checks[0]["stdin"]["prevResult"]["dns"]["nameservers"] == ["10.201.0.53"]

    # DEL: reverse order, the cached final result as prevResult, same args; the config
    # cached at ADD is used even after the conf dir changed.
    (cni.conf_dir / "10-rec.conflist").unlink()
    cni.tool("teardown", "--id", "pod1", "--netns", f"/run/netns/{ns}")
    dels = calls(log, "DEL")
    assert [c["plugin"] for c in dels] == ["rec-b", "rec-a"]
    assert dels[0]["stdin"]["prevResult"]["dns"]["nameservers"] == ["10.201.0.53"]
    assert dels[0]["env"]["CNI_ARGS"] == env["CNI_ARGS"]
    assert "runtimeConfig" not in dels[1]["stdin"]
    assert cni.records() == []
    cni.tool("teardown", "--id", "pod1", "--netns", f"/run/netns/{ns}")
    assert len(calls(log, "DEL")) == 2


def test_runtime_config_capabilities(cni, monkeypatch):
    log = install_recorders(cni)
    monkeypatch.setenv("RECORDER_LOG", str(log))
    cni.write_conf("10-rec.conflist", {
        "cniVersion": "1.0.0", "name": "recnet",
        "plugins": [{"type": "rec-a", "capabilities": {"ips": True, "dns": True}},
                    {"type": "rec-b", "capabilities": {"bandwidth": True, "portMappings": False}}]})
    ns = cni.netns()
    cni.tool("setup", "--id", "caps", "--netns", f"/run/netns/{ns}", "--port", "udp:53:53:127.0.0.1",
             "--bandwidth", "1000000:2000000", "--dns-server", "10.0.0.10",
             "--dns-search", "svc.local", "--request-ip", "10.201.0.77/24")
    a_rc = calls(log, "ADD")[0]["stdin"]["runtimeConfig"]
    b_rc = calls(log, "ADD")[1]["stdin"]["runtimeConfig"]
    assert a_rc == {"ips": ["10.201.0.77/24"],
                    "dns": {"servers": ["10.0.0.10"], "searches": ["svc.local"], "options": []}}
    assert b_rc == {"bandwidth": {"ingressRate": 1000000, "ingressBurst": 1000000,
                                  "egressRate": 2000000, "egressBurst": 2000000}}


def test_plugin_error_is_passed_up_verbatim_and_undone(cni, monkeypatch):
    log = install_recorders(cni)
    monkeypatch.setenv("RECORDER_LOG", str(log))
    cni.write_conf("10-rec.conflist", {"cniVersion": "1.0.0", "name": "recnet",
                                       "plugins": [{"type": "rec-a"}, {"type": "rec-fail"}]})
    ns = cni.netns()
    with pytest.raises(ToolError) as e:
        cni.tool("setup", "--id", "bad", "--netns", f"/run/netns/{ns}")
    assert "boom: no luck; the details" in e.value.stderr
    # The runtime cleaned up with DEL over the whole list and kept no record.
    assert [c["plugin"] for c in calls(log, "DEL")] == ["rec-fail", "rec-a"]
    assert cni.records() == []


def test_cni_args_cannot_be_injected(cni, monkeypatch):
    log = install_recorders(cni)
    monkeypatch.setenv("RECORDER_LOG", str(log))
    cni.write_conf("10-rec.conflist", {"cniVersion": "1.0.0", "name": "recnet",
                                       "plugins": [{"type": "rec-a"}]})
    ns = cni.netns()
    with pytest.raises(ToolError) as e:
        cni.tool("setup", "--id", "inj", "--netns", f"/run/netns/{ns}", "--name", "a;IP=1.2.3.4")
    assert "invalid argument" in e.value.stderr
    assert calls(log, "ADD") == [] and cni.records() == []


def test_plugin_timeout(cni, monkeypatch):
    log = install_recorders(cni)
    monkeypatch.setenv("RECORDER_LOG", str(log))
    cni.write_conf("10-rec.conflist", {"cniVersion": "1.0.0", "name": "recnet",
                                       "plugins": [{"type": "rec-slow"}]})
    ns = cni.netns()
    with pytest.raises(ToolError) as e:
        cni.tool("setup", "--id", "slow", "--netns", f"/run/netns/{ns}",
                 opts=cni.opts + ["--plugin-timeout-ms", "500"], timeout=20)
    assert "timed out" in e.value.stderr and "deadline" in e.value.stderr


def test_first_config_wins_and_single_conf_works(cni):
    single = real_conflist(cni.ipam_dir, with_portmap=False)["plugins"][0]
    single.update({"cniVersion": "1.0.0", "name": "mascri-test"})
    cni.write_conf("10-first.conf", single)
    cni.write_conf("20-second.conflist", {"cniVersion": "1.0.0", "name": "other",
                                          "plugins": [{"type": "no-such-plugin"}]})
    assert cni.tool("status")["ready"] is True
    ns, r = cni.pod("single")
    assert r["ipv4"].startswith("10.198.")
    assert cni.ping(None, r["ipv4"])


def test_real_plugins_pods_gateway_httpd_and_host_port(cni):
    cni.write_conf("10-net.conflist", real_conflist(cni.ipam_dir))
    a, ra = cni.pod("cni-a", "--port", "tcp:18090:80")
    b, rb = cni.pod("cni-b")
    assert ra["ipv4"].startswith("10.198.") and ra["ipv4"] != rb["ipv4"]
    assert cni.ping(a, rb["ipv4"]) and cni.ping(b, ra["ipv4"])
    assert cni.ping(a, ra["gateway4"])
    cni.httpd(a, 80, "cni web")
    assert curl(f"http://{ra['ipv4']}/") == "cni web"
    assert curl(f"http://{ra['gateway4']}:18090/") == "cni web"
    assert sorted(cni.host_local_ips()) == sorted([ra["ipv4"], rb["ipv4"]])
    # Teardown is idempotent and frees the address and the veth.
    for _ in range(2):
        cni.tool("teardown", "--id", "cni-a", "--netns", f"/run/netns/{a}")
    assert cni.host_local_ips() == [rb["ipv4"]]
    assert len(links_on(CNI_BRIDGE)) == 1
    assert curl(f"http://{ra['gateway4']}:18090/") is None
    assert cni.records() == ["cni-b"]


def test_real_plugins_300_cycles_do_not_shrink_the_pool(cni):
    # A /27 has 29 addresses for host-local: any leak would exhaust it long before 300.
    cni.write_conf("10-net.conflist", real_conflist(cni.ipam_dir, subnet="10.198.5.0/27",
                                                    with_portmap=False))
    ns = cni.netns()
    cni.tool("cycle", "300", "--id", "cyc", "--netns", f"/run/netns/{ns}", timeout=900)
    assert cni.host_local_ips() == [] and cni.records() == []
    assert links_on(CNI_BRIDGE) == []


def test_real_plugins_crash_then_reconcile(cni):
    cni.write_conf("10-net.conflist", real_conflist(cni.ipam_dir, with_portmap=False))
    keep_ns, keep = cni.pod("keep")
    ns = cni.netns()
    rnd = random.Random(7)
    for _ in range(5):
        kill_after([TOOL] + cni.opts + ["cycle", "100000", "--id", "victim", "--netns",
                                        f"/run/netns/{ns}"], rnd.uniform(0.05, 0.5))
    cni.tool("open", "--live", "keep")
    assert cni.records() == ["keep"]
    # A kill before the record existed can leave host-local's file without a record only
    # if ADD had not been called yet, which cannot allocate: so only keep's address remains.
    assert cni.host_local_ips() == [keep["ipv4"]]
    assert len(links_on(CNI_BRIDGE)) == 1
    assert cni.ping(None, keep["ipv4"])
