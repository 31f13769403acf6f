"""The streaming server's protocols apart from containers: build/tests/integration/tools/cri-stream-tool
runs src/cri/stream-*.c over a stand-in process side (host processes, host ports), driven here
by independent Python SPDY/3.1 and WebSocket clients (harness/spdy.py, harness/ws.py)."""
import hashlib
import http.server
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from harness import spdy, ws
from harness.paths import tool_path

TOOL = tool_path("cri-stream-tool")


class Tool:
    def __init__(self, *args):
        self.p = subprocess.Popen([str(TOOL)] + [str(a) for a in args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def exec(self, *argv, tty=False, stdin=False, stdout=True, stderr=True):
        flags = " ".join("1" if f else "0" for f in (tty, stdin, stdout, stderr))
        return self.cmd(f"exec {flags} " + " ".join(argv))

    def procs(self):
        return int(self.cmd("procs"))

    def fds(self):
        return len(os.listdir(f"/proc/{self.p.pid}/fd"))

    def threads(self):
        return len(os.listdir(f"/proc/{self.p.pid}/task"))

    def stop(self):
        self.p.stdin.close()
        self.p.wait(10)


@pytest.fixture
def tool():
    t = Tool()
    yield t
    t.stop()


def sh(script):
    # The tool splits commands on spaces: ${IFS} keeps a script one word.
    return ["sh", "-c", script.replace(" ", "${IFS}")]


def test_exec_outputs_and_exit_code(tool):
    res = spdy.remote_command(tool.exec(*sh("echo out; echo err >&2; exit 3")))
    assert res["protocol"] == "v4.channel.k8s.io"
    assert res["stdout"] == b"out\n" and res["stderr"] == b"err\n"
    st = json.loads(res["error"])
    assert st["status"] == "Failure" and st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    res = spdy.remote_command(tool.exec("true"))
    assert json.loads(res["error"]) == {"metadata": {}, "status": "Success"}
    assert res["goaway"] is not None


def test_older_protocols_and_negotiation(tool):
    for proto in ("v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"):
        res = spdy.remote_command(tool.exec(*sh("echo hi; exit 2")), protocols=[proto])
        assert res["protocol"] == proto and res["stdout"] == b"hi\n"
        assert b"exit code 2" in res["error"] and not res["error"].startswith(b"{")
        res = spdy.remote_command(tool.exec("true"), protocols=[proto])
        assert res["error"] == b""
    with pytest.raises(spdy.HTTPError) as e:
        spdy.remote_command(tool.exec("true"), protocols=["v9.channel.k8s.io"])
    assert e.value.status == 403


def test_stdin_and_large_output(tool):
    data = os.urandom(3 * 1024 * 1024)
    res = spdy.remote_command(tool.exec(*sh("md5sum; echo done >&2"), stdin=True), stdin=data)
    assert res["stdout"].split()[0].decode() == hashlib.md5(data).hexdigest()
    assert res["stderr"] == b"done\n"
    res = spdy.remote_command(tool.exec("head", "-c", "20000000", "/dev/zero"), timeout=60)
    assert res["stdout"] == b"\0" * 20000000


def test_flow_control_peer(tool):
    """A client that does SPDY flow control (sends WINDOW_UPDATEs) gets every byte too, and
    the server sends WINDOW_UPDATEs for the stdin it consumed."""
    conn = spdy.spdy_connect(tool.exec(*sh("head -c 1000000 /dev/zero; wc -c >&2"), stdin=True),
                             spdy.EXEC_PROTOCOLS, send_window_updates=True)
    try:
        err = conn.create_stream({"streamType": "error"})
        sin = conn.create_stream({"streamType": "stdin"})
        out = conn.create_stream({"streamType": "stdout"})
        serr = conn.create_stream({"streamType": "stderr"})
        conn.send_data(sin.id, b"x" * 200000)
        deadline = time.monotonic() + 10  # stdin consumed: the windows open again
        while not (any(sid == sin.id for sid, _ in conn.window_updates) and
                   any(sid == 0 for sid, _ in conn.window_updates)):
            assert time.monotonic() < deadline, conn.window_updates
            time.sleep(0.05)
        conn.send_data(sin.id, b"", fin=True)
        assert conn.wait_fin(out) == b"\0" * 1000000
        assert conn.wait_fin(serr).strip() == b"200000"
        assert json.loads(conn.wait_fin(err))["status"] == "Success"
    finally:
        conn.close()


def test_tty_and_resize(tool):
    url = tool.exec(*sh("sleep 0.5; stty size; echo err >&2; exit 5"), tty=True, stdin=True,
                    stderr=False)
    res = spdy.remote_command(url, stdin=b"", tty=True, resizes=[(123, 45)], close_stdin=False)
    assert res["stdout"].replace(b"\r\n", b"\n") == b"45 123\nerr\n"
    assert json.loads(res["error"])["details"]["causes"][0]["message"] == "5"


def test_tokens_single_use_kind_and_expiry():
    t = Tool(30000, 3600000, 1000)
    try:
        url = t.exec("true")
        base, token = url.rsplit("/", 1)
        assert len(token) >= 22
        with pytest.raises(spdy.HTTPError) as e:
            spdy.spdy_connect(base + "/" + "A" * len(token), spdy.EXEC_PROTOCOLS)
        assert e.value.status == 404
        with pytest.raises(spdy.HTTPError) as e:  # wrong endpoint: 404, token not spent
            spdy.spdy_connect(url.replace("/exec/", "/portforward/"), ["portforward.k8s.io"])
        assert e.value.status == 404
        spdy.remote_command(url)
        with pytest.raises(spdy.HTTPError) as e:
            spdy.remote_command(url)
        assert e.value.status == 404
        url = t.exec("true")
        time.sleep(1.5)
        with pytest.raises(spdy.HTTPError) as e:
            spdy.remote_command(url)
        assert e.value.status == 404
        # No upgrade at all.
        url = t.exec("true")
        s = socket.create_connection(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
        s.sendall(f"GET /{url.split('/', 3)[3]} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 400")
        s.close()
    finally:
        t.stop()


def test_creation_timeout():
    t = Tool(1000)
    try:
        conn = spdy.spdy_connect(t.exec("true"), spdy.EXEC_PROTOCOLS)
        err = conn.create_stream({"streamType": "error"})  # stdout and stderr never come
        assert b"timed out waiting for client to create streams" in conn.wait_fin(err, 10)
        conn.close()
        assert t.procs() == 0
    finally:
        t.stop()


def test_idle_timeout():
    t = Tool(30000, 1500)
    try:
        conn = spdy.spdy_connect(t.exec("sleep", "100"), spdy.EXEC_PROTOCOLS)
        conn.create_stream({"streamType": "error"})
        conn.create_stream({"streamType": "stdout"})
        conn.create_stream({"streamType": "stderr"})
        assert conn.closed.wait(6)
        deadline = time.monotonic() + 5
        while t.procs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert t.procs() == 0
    finally:
        t.stop()


def test_aborted_streams_leave_nothing(tool):
    # Warm up (lazy allocations, the first job thread), then count.
    spdy.remote_command(tool.exec("true"))
    fds, threads = tool.fds(), tool.threads()
    for i in range(200):
        conn = spdy.spdy_connect(tool.exec("sleep", "100", stdin=True), spdy.EXEC_PROTOCOLS)
        conn.create_stream({"streamType": "error"})
        conn.create_stream({"streamType": "stdin"})
        if i % 2:
            conn.create_stream({"streamType": "stdout"})
            conn.create_stream({"streamType": "stderr"})
        conn.close()
    deadline = time.monotonic() + 10
    while (tool.procs() or tool.fds() > fds or tool.threads() > threads) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert tool.procs() == 0
    assert tool.fds() <= fds and tool.threads() <= threads


def test_garbage_after_upgrade_is_refused(tool):
    sock, _, _, _ = spdy.http_upgrade(tool.exec("sleep", "100"), "SPDY/3.1",
                                      ["X-Stream-Protocol-Version: v4.channel.k8s.io"])
    sock.sendall(b"\x80\x03\x00\x01\x00\x00\x00\x0a" + b"\x00\x00\x00\x01garbage!!")
    sock.settimeout(5)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data[:4] == b"\x80\x03\x00\x07"  # GOAWAY, then the connection closes
    sock.close()


def test_websocket_exec_v4_and_v5(tool):
    c = ws.WSConnection(tool.exec(*sh("cat; echo err >&2; exit 4"), stdin=True),
                        ["v5.channel.k8s.io", "v4.channel.k8s.io"])
    assert c.protocol == "v5.channel.k8s.io"
    c.send(0, b"hello ws\n")
    c.close_channel(0)  # v5 close signal: EOF on stdin
    out = c.read_all()
    assert out[1] == b"hello ws\n" and out[2] == b"err\n"
    assert json.loads(out[3])["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]
    c.close()
    c = ws.WSConnection(tool.exec(*sh("echo v4; exit 0")), ["v4.channel.k8s.io"])
    assert c.protocol == "v4.channel.k8s.io"
    out = c.read_all()
    assert out[1] == b"v4\n" and json.loads(out[3])["status"] == "Success"
    c.close()
    # A tty with resize on channel 4.
    c = ws.WSConnection(tool.exec(*sh("sleep 0.5; stty size"), tty=True, stdin=True,
                                  stderr=False), ["v4.channel.k8s.io"])
    c.send(4, b'{"Width":77,"Height":22}')
    out = c.read_all()
    assert out[1] == b"22 77\r\n"
    c.close()
    with pytest.raises(spdy.HTTPError):
        ws.WSConnection(tool.exec("true"), ["v9.channel.k8s.io"])


def test_attach_echo(tool):
    url = tool.cmd("attach 0 1 1 1")
    res = spdy.remote_command(url, stdin=b"echoed back\n")
    assert res["stdout"] == b"echoed back\n"
    assert json.loads(res["error"])["status"] == "Success"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.payload if self.path == "/big" else b"hello from port %d" % \
            self.server.server_port
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        h = hashlib.sha256()
        while n:
            chunk = self.rfile.read(min(n, 1 << 20))
            h.update(chunk)
            n -= len(chunk)
        body = h.hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def web():
    servers = []
    for _ in range(2):
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        s.payload = os.urandom(100 * 1024 * 1024)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
    yield servers
    for s in servers:
        s.shutdown()


def pf_request(conn, rid, port, request, expect_len=None):
    err = conn.create_stream({"streamType": "error", "port": str(port), "requestID": str(rid)})
    data = conn.create_stream({"streamType": "data", "port": str(port), "requestID": str(rid)})
    conn.send_data(data.id, request)
    body = conn.wait_fin(data, 120)
    return body, conn.wait_fin(err, 10)


def test_portforward_spdy(tool, web):
    p1, p2 = (s.server_port for s in web)
    conn = spdy.spdy_connect(tool.cmd(f"portforward {p1}"), ["portforward.k8s.io"])
    try:
        assert conn.protocol == "portforward.k8s.io"
        body, err = pf_request(conn, 0, p1, b"GET / HTTP/1.0\r\n\r\n")
        assert body.endswith(b"hello from port %d" % p1) and err == b""
        body, err = pf_request(conn, 1, p2, b"GET / HTTP/1.0\r\n\r\n")
        assert body.endswith(b"hello from port %d" % p2)
        # Ten connections at once on one session.
        results = [None] * 10

        def one(i):
            results[i] = pf_request(conn, 10 + i, (p1, p2)[i % 2], b"GET / HTTP/1.0\r\n\r\n")[0]
        threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
        [t.start() for t in threads]
        [t.join(60) for t in threads]
        for i, r in enumerate(results):
            assert r.endswith(b"hello from port %d" % (p1, p2)[i % 2])
        # 100 MB each way through one connection, checksums equal.
        body, _ = pf_request(conn, 100, p1, b"GET /big HTTP/1.0\r\n\r\n")
        assert hashlib.sha256(body.split(b"\r\n\r\n", 1)[1]).digest() == \
            hashlib.sha256(web[0].payload).digest()
        up = os.urandom(100 * 1024 * 1024)
        body, _ = pf_request(conn, 101, p1, b"POST / HTTP/1.0\r\nContent-Length: %d\r\n\r\n"
                             % len(up) + up)
        assert body.split(b"\r\n\r\n", 1)[1].decode() == hashlib.sha256(up).hexdigest()
        # Nothing listening: the error stream says so.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
        s.close()
        body, err = pf_request(conn, 200, closed_port, b"")
        assert b"error forwarding port %d" % closed_port in err
    finally:
        conn.close()


def test_portforward_websocket(tool, web):
    p1, p2 = (s.server_port for s in web)
    url = tool.cmd("portforward") + f"?port={p1}&port={p2}"
    c = ws.WSConnection(url, ["v4.channel.k8s.io"])
    c.send(0, b"GET / HTTP/1.0\r\n\r\n")
    c.send(2, b"GET / HTTP/1.0\r\n\r\n")
    out = c.read_all()
    assert out[0][:2] == p1.to_bytes(2, "little") and out[1] == p1.to_bytes(2, "little")
    assert out[0].endswith(b"hello from port %d" % p1)
    assert out[2].endswith(b"hello from port %d" % p2)
    c.close()
    with pytest.raises(spdy.HTTPError) as e:  # no port
        ws.WSConnection(tool.cmd("portforward"), ["v4.channel.k8s.io"])
    assert e.value.status == 400
