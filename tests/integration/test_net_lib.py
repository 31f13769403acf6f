"""Shared pieces of the pod networking tests (test_net.py, test_net_cni.py): network
namespaces made with `ip netns`, the netns-tool driver (tests/integration/tools) and
cleanup of every link, table, namespace and process a test creates. No tests here.

The names and CIDRs are distinct from mascrid's defaults (mascri0, 10.89.0.0/16, table
mascri) so the tests never touch a running daemon's network."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness.paths import tool_path

TOOL = tool_path("netns-tool")
TEST_BRIDGE = "mascri-t0"
TEST_TABLE = "mascri_t0"
TEST_CIDR = "10.199.0.0/16"
CNI_BRIDGE = "mascri-c0"
CNI_CIDR = "10.198.0.0/16"


@pytest.fixture(autouse=True)
def netns_tool():
    """Imported by the test modules (autouse there): a missing driver is a broken build, so
    every test fails instead of the whole module turning into skips."""
    assert TOOL.exists(), f"{TOOL} is missing: build with -Dtests=true (scripts/build.sh)"
    return TOOL


def run(*cmd, check=True, timeout=60, **kw):
    return subprocess.run([str(c) for c in cmd], check=check, timeout=timeout,
                          capture_output=True, text=True, **kw)


class ToolError(Exception):
    def __init__(self, stderr):
        super().__init__(stderr)
        self.stderr = stderr


class Net:
    """One test's network: its netns-tool options, namespaces, processes, state dirs."""

    def __init__(self, opts, tmp):
        self.opts = list(opts)
        self.tmp = tmp
        self.namespaces = []
        self.procs = []
        self.counter = 0

    def tool(self, *args, opts=None, timeout=300):
        cmd = [str(TOOL)] + (self.opts if opts is None else opts) + [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise ToolError(p.stderr)
        out = p.stdout.strip()
        return json.loads(out) if out.startswith("{") and "\n" not in out else out

    def netns(self):
        self.counter += 1
        name = f"mt-{os.getpid()}-{self.counter}"
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        return name

    def pod(self, pod_id, *extra):
        """A fresh netns with the pod's network set up; returns (netns name, result)."""
        ns = self.netns()
        res = self.tool("setup", "--id", pod_id, "--netns", f"/run/netns/{ns}",
                        "--name", pod_id, "--namespace", "test", *extra)
        return ns, res

    def in_ns(self, ns, *cmd, check=True, timeout=30):
        return run("ip", "netns", "exec", ns, *cmd, check=check, timeout=timeout)

    def ping(self, ns, ip):
        """True when ip answers a ping from ns (ns None: from the host)."""
        cmd = ["busybox", "ping", "-c", "1", "-W", "2", ip]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0

    def httpd(self, ns, port=80, text="hello from the pod"):
        """A busybox httpd in ns serving text on port; stopped at cleanup."""
        www = self.tmp / f"www-{ns}-{port}"
        www.mkdir()
        (www / "index.html").write_text(text + "\n")
        p = subprocess.Popen(["ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p",
                              str(port), "-h", str(www)])
        self.procs.append(p)
        for _ in range(100):
            if self.in_ns(ns, "busybox", "netstat", "-ltn").stdout.find(f":{port} ") >= 0:
                break
            time.sleep(0.05)
        return p

    def udp_echo(self, ns, port):
        code = ("import socket\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                f"s.bind(('0.0.0.0', {port}))\n"
                "while True:\n"
                "    d, a = s.recvfrom(100)\n"
                "    s.sendto(b'echo:' + d, a)\n")
        p = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code])
        self.procs.append(p)
        time.sleep(0.3)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for ns in self.namespaces:
            run("ip", "netns", "delete", ns, check=False)


FETCH = ("import sys, urllib.request\n"
         "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end='')\n")


def curl(url, ns=None):
    """Body of url (fetched from the host, or from inside ns), or None when it cannot be."""
    cmd = ["/usr/bin/python3", "-c", FETCH, url]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    return p.stdout.strip() if p.returncode == 0 else None


def udp_ask(host, port, msg=b"hi"):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(msg, (host, port))
        return s.recvfrom(100)[0]
    except OSError:
        return None
    finally:
        s.close()


def links_on(bridge):
    p = run("ip", "-o", "link", "show", "master", bridge, check=False)
    return [l.split(":")[1].strip().split("@")[0] for l in p.stdout.splitlines() if l.strip()]


def link_exists(name):
    return run("ip", "link", "show", name, check=False).returncode == 0


def delete_link(name):
    run("ip", "link", "delete", name, check=False)


def nft_table_json(table):
    p = run("nft", "-j", "list", "table", "inet", table, check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def nft_map_elements(table, name):
    p = run("nft", "-j", "list", "map", "inet", table, name, check=False)
    if p.returncode != 0:
        return None
    for item in json.loads(p.stdout)["nftables"]:
        if "map" in item:
            return item["map"].get("elem", [])
    return []


def kill_after(cmd, seconds):
    """Runs cmd and SIGKILLs it after seconds (a crash at an arbitrary step)."""
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    p.send_signal(signal.SIGKILL)
    p.wait()
    return p


def tool_available():
    return TOOL.exists()
