"""Exec, Attach and PortForward through mascrid's streaming server, driven by an independent
Python SPDY/3.1 client (harness/spdy.py) and WebSocket client (harness/ws.py) the way kubelet,
crictl and kubectl do: the RPC answers a URL with a single-use token, the client upgrades the
HTTP connection and speaks the remotecommand or portforward protocol."""
import json
import socket
import os
import time

import grpc
import pytest

from ctr_lib import code, create, ctr_config, pod_with_container, pull, start, stop
from harness import spdy, ws
from pods_lib import pod_config


def backend_built(res):
    """Skips the test while the process side (src/sandbox/stream.c) answers UNIMPLEMENTED."""
    if b"not built yet" in res.get("error", b""):
        pytest.skip("process side of streaming not built: " + res["error"].decode()[:200])
    return res


def exec_url(cri, cid, cmd, tty=False, stdin=False, stdout=True, stderr=True):
    pb = cri.pb
    return cri.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=cmd, tty=tty, stdin=stdin,
                                           stdout=stdout, stderr=stderr), timeout=10).url


@pytest.fixture
def sleeper(daemon, test_images):
    cri = daemon.client
    pull(cri, test_images["busybox"])
    pod, cid, _ = pod_with_container(cri, test_images["busybox"], command=["sleep", "3600"])
    return daemon, cri, pod, cid


def test_exec_rpc_validation(sleeper, test_images):
    d, cri, pod, cid = sleeper
    pb = cri.pb
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Exec(pb.ExecRequest(container_id="nonexistent", cmd=["true"], stdout=True))
    assert code(e) == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=[], stdout=True))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=["sh"], tty=True, stdout=True,
                                        stderr=True))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Attach(pb.AttachRequest(container_id="nonexistent", stdout=True))
    assert code(e) == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.PortForward(pb.PortForwardRequest(pod_sandbox_id="nonexistent", port=[80]))
    assert code(e) == grpc.StatusCode.NOT_FOUND
    url = exec_url(cri, cid, ["true"])
    assert url.startswith("http://127.0.0.1:") and "/exec/" in url
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 22  # >= 128 bits in base64url
    # A stopped container: FAILED_PRECONDITION.
    stop(cri, cid)
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Exec(pb.ExecRequest(container_id=cid, cmd=["true"], stdout=True))
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION


def test_bad_and_reused_tokens_get_404(sleeper):
    d, cri, pod, cid = sleeper
    url = exec_url(cri, cid, ["true"])
    base, token = url.rsplit("/", 1)
    with pytest.raises(spdy.HTTPError) as e:
        spdy.spdy_connect(base + "/" + "A" * len(token), spdy.EXEC_PROTOCOLS)
    assert e.value.status == 404
    # The right token on the wrong endpoint is no use either (and is not spent by it).
    with pytest.raises(spdy.HTTPError) as e:
        spdy.spdy_connect(url.replace("/exec/", "/attach/"), spdy.EXEC_PROTOCOLS)
    assert e.value.status == 404
    res = backend_built(spdy.remote_command(url))
    assert res["error"] == b'{"metadata":{},"status":"Success"}'
    with pytest.raises(spdy.HTTPError) as e:
        spdy.remote_command(url)
    assert e.value.status == 404


def test_exec_stdout_stderr_exit_code(sleeper):
    d, cri, pod, cid = sleeper
    url = exec_url(cri, cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    res = backend_built(spdy.remote_command(url))
    assert res["protocol"] == "v4.channel.k8s.io"
    assert res["stdout"] == b"out\n" and res["stderr"] == b"err\n"
    st = json.loads(res["error"])
    assert st["status"] == "Failure" and st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    res = spdy.remote_command(exec_url(cri, cid, ["true"]))
    assert json.loads(res["error"])["status"] == "Success"
    assert res["stdout"] == b"" and res["stderr"] == b""


def test_exec_older_protocols(sleeper):
    d, cri, pod, cid = sleeper
    for proto in ("v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"):
        res = backend_built(spdy.remote_command(
            exec_url(cri, cid, ["sh", "-c", "echo hi; exit 2"]), protocols=[proto]))
        assert res["protocol"] == proto and res["stdout"] == b"hi\n"
        assert b"exit code 2" in res["error"] and not res["error"].startswith(b"{")
    with pytest.raises(spdy.HTTPError) as e:
        spdy.remote_command(exec_url(cri, cid, ["true"]), protocols=["v9.channel.k8s.io"])
    assert e.value.status == 403


def test_exec_stdin(sleeper):
    d, cri, pod, cid = sleeper
    data = os.urandom(300 * 1024)
    url = exec_url(cri, cid, ["sh", "-c", "md5sum; echo done >&2"], stdin=True)
    res = backend_built(spdy.remote_command(url, stdin=data))
    import hashlib
    assert res["stdout"].split()[0].decode() == hashlib.md5(data).hexdigest()
    assert res["stderr"] == b"done\n"
    # Large output comes through whole (past every 64 KiB window).
    url = exec_url(cri, cid, ["sh", "-c", "head -c 3000000 /dev/zero"])
    res = spdy.remote_command(url)
    assert res["stdout"] == b"\0" * 3000000


def test_exec_tty_and_resize(sleeper):
    d, cri, pod, cid = sleeper
    url = exec_url(cri, cid, ["sh", "-c", "sleep 0.5; stty size; echo err >&2; exit 5"],
                   tty=True, stdin=True, stderr=False)
    res = backend_built(spdy.remote_command(url, stdin=b"", tty=True, resizes=[(123, 45)],
                                            close_stdin=False))
    # With a tty, stderr is merged into stdout (and newlines become CRLF).
    assert res["stdout"].replace(b"\r\n", b"\n") == b"45 123\nerr\n"
    st = json.loads(res["error"])
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]


def test_websocket_exec_v4_and_v5(sleeper):
    d, cri, pod, cid = sleeper
    c = ws.WSConnection(exec_url(cri, cid, ["sh", "-c", "cat; exit 4"], stdin=True),
                        ["v5.channel.k8s.io"])
    assert c.protocol == "v5.channel.k8s.io"
    c.send(0, b"over websocket\n")
    c.close_channel(0)
    out = c.read_all()
    c.close()
    backend_built({"error": out.get(3, b"")})
    assert out[1] == b"over websocket\n"
    assert json.loads(out[3])["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]
    c = ws.WSConnection(exec_url(cri, cid, ["echo", "v4"]), ["v4.channel.k8s.io"])
    out = c.read_all()
    c.close()
    assert out[1] == b"v4\n" and json.loads(out[3])["status"] == "Success"


def test_attach_echoes_stdin(daemon, test_images):
    cri = daemon.client
    pb = cri.pb
    pull(cri, test_images["busybox"])
    pc = pod_config(pb, name="attach")
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cfg = ctr_config(pb, test_images["busybox"], name="cat", command=["cat"])
    cfg.stdin = True
    cid = create(cri, pod, cfg, pc)
    start(cri, cid)
    url = cri.runtime.Attach(pb.AttachRequest(container_id=cid, stdin=True, stdout=True,
                                              stderr=True), timeout=10).url
    assert "/attach/" in url
    conn = spdy.spdy_connect(url, spdy.EXEC_PROTOCOLS)
    try:
        err = conn.create_stream({"streamType": "error"})
        sin = conn.create_stream({"streamType": "stdin"})
        out = conn.create_stream({"streamType": "stdout"})
        conn.create_stream({"streamType": "stderr"})
        conn.send_data(sin.id, b"through attach\n")
        try:
            got = conn.wait_data(out, len(b"through attach\n"), timeout=10)
        except TimeoutError:
            got = b""
        if not got and err.fin:
            backend_built({"error": bytes(err.data)})
        assert got == b"through attach\n"
    finally:
        conn.close()


def test_portforward_busybox_httpd(daemon, test_images, tmp_path):
    cri = daemon.client
    pb = cri.pb
    pull(cri, test_images["busybox"])
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello through port-forward")
    big = os.urandom(20 * 1024 * 1024)
    (www / "big").write_bytes(big)
    pc = pod_config(pb, name="pf")
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    for port in (8080, 8081):
        cfg = ctr_config(pb, test_images["busybox"], name=f"httpd{port}",
                         command=["httpd", "-f", "-p", str(port), "-h", "/www"],
                         mounts=[pb.Mount(container_path="/www", host_path=str(www),
                                          readonly=True)])
        start(cri, create(cri, pod, cfg, pc))
    url = cri.runtime.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[8080]),
                                  timeout=10).url
    conn = spdy.spdy_connect(url, ["portforward.k8s.io"])

    def get(rid, port, path):
        e = conn.create_stream({"streamType": "error", "port": str(port), "requestID": str(rid)})
        dstream = conn.create_stream({"streamType": "data", "port": str(port),
                                      "requestID": str(rid)})
        conn.send_data(dstream.id, f"GET {path} HTTP/1.0\r\n\r\n".encode())
        body = conn.wait_fin(dstream, 60)
        errtext = conn.wait_fin(e, 10)
        backend_built({"error": errtext})
        return body

    try:
        deadline = time.monotonic() + 10
        while b"hello through" not in get(0, 8080, "/") and time.monotonic() < deadline:
            time.sleep(0.2)  # httpd starting
        assert get(1, 8081, "/").endswith(b"hello through port-forward")
        import hashlib
        import threading
        results = {}
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(
            i, get(10 + i, (8080, 8081)[i % 2], "/"))) for i in range(10)]
        [t.start() for t in threads]
        [t.join(60) for t in threads]
        assert all(r.endswith(b"hello through port-forward") for r in results.values())
        assert len(results) == 10
        body = get(100, 8080, "/big")
        assert hashlib.sha256(body.split(b"\r\n\r\n", 1)[1]).digest() == \
            hashlib.sha256(big).digest()
    finally:
        conn.close()


def test_aborted_exec_streams_leave_nothing(sleeper):
    d, cri, pod, cid = sleeper
    backend_built(spdy.remote_command(exec_url(cri, cid, ["true"])))
    mascrid = d.proc.pid
    fds = len(os.listdir(f"/proc/{mascrid}/fd"))
    for i in range(100):
        conn = spdy.spdy_connect(exec_url(cri, cid, ["sleep", "1000"], stdin=True),
                                 spdy.EXEC_PROTOCOLS)
        for t in ("error", "stdin", "stdout", "stderr"):
            conn.create_stream({"streamType": t})
        conn.close()
    deadline = time.monotonic() + 20
    def sleepers():
        r = cri.runtime.ExecSync(cri.pb.ExecSyncRequest(
            container_id=cid, cmd=["sh", "-c", "ps | grep -c '[s]leep 1000' || true"]),
            timeout=30)
        return int(r.stdout.strip() or 0)
    while (sleepers() or len(os.listdir(f"/proc/{mascrid}/fd")) > fds) and \
            time.monotonic() < deadline:
        time.sleep(0.5)
    assert sleepers() == 0
    assert len(os.listdir(f"/proc/{mascrid}/fd")) <= fds


def test_stream_options(daemon_factory, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = daemon_factory(["--stream-address", "127.0.0.1", "--stream-port", str(port),
                        "--stream-idle-timeout", "90s"])
    pb = d.client.pb
    with pytest.raises(grpc.RpcError):  # the server answers (NOT_FOUND) on its own port
        d.client.runtime.Exec(pb.ExecRequest(container_id="x", cmd=["true"], stdout=True))
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    # The configuration file takes the same options.
    conf = tmp_path / "mascri.conf"
    conf.write_text(json.dumps({"stream-port": "0", "stream-idle-timeout": "4h"}))
    daemon_factory(["--config", str(conf)])
    # TLS is not built: refused at start rather than served in clear.
    bad = daemon_factory(["--stream-tls-cert", "/nonexistent"], start=False)
    with pytest.raises(RuntimeError) as e:
        bad.start(timeout=10)
    assert "TLS" in str(e.value)


# ---- Attach (the monitor's attach socket, sandbox/monitor.h) ----

def attach_container(cri, tmp_path, name, command, tty=False, stdin_once=False):
    """A started container with stdin (a `cat` or a shell) logging to tmp_path/logs."""
    pb = cri.pb
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    pc = pod_config(pb, name=name)
    pc.log_directory = str(logs)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cfg = ctr_config(pb, cri.busybox, name=name, command=command, tty=tty,
                     log_path=f"{name}.log")
    cfg.stdin = True
    cfg.stdin_once = stdin_once
    cid = create(cri, pod, cfg, pc)
    start(cri, cid)
    return cid, logs / f"{name}.log"


def attach_session(cri, cid, tty=False, stdin=True):
    """An open SPDY attach session: (conn, streams by name)."""
    pb = cri.pb
    url = cri.runtime.Attach(pb.AttachRequest(container_id=cid, stdin=stdin, stdout=True,
                                              stderr=not tty, tty=tty), timeout=10).url
    assert "/attach/" in url
    conn = spdy.spdy_connect(url, spdy.EXEC_PROTOCOLS)
    st = {"error": conn.create_stream({"streamType": "error"})}
    if stdin:
        st["stdin"] = conn.create_stream({"streamType": "stdin"})
    st["stdout"] = conn.create_stream({"streamType": "stdout"})
    if tty:
        st["resize"] = conn.create_stream({"streamType": "resize"})
    else:
        st["stderr"] = conn.create_stream({"streamType": "stderr"})
    return conn, st


def wait_text(conn, stream, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in bytes(stream.data):
        assert time.monotonic() < deadline, f"no {text!r} in {bytes(stream.data)!r}"
        assert not stream.fin, f"stream ended before {text!r}: {bytes(stream.data)!r}"
        conn.wait_data(stream, len(stream.data) + 1, timeout=max(0.1, deadline - time.monotonic()))


def ctr_state(cri, cid):
    return cri.runtime.ContainerStatus(cri.pb.ContainerStatusRequest(container_id=cid),
                                       timeout=10).status


def monitor_pid(daemon, cid):
    """The container's mascri-monitor (create mode), by its command line."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"create" in argv and cid.encode() in argv and b"--socket-dir" in argv:
            return int(pid)
    raise AssertionError(f"no monitor for {cid}")


@pytest.fixture
def acri(daemon, test_images):
    cri = daemon.client
    pull(cri, test_images["busybox"])
    cri.busybox = test_images["busybox"]
    return cri


def test_attach_output_on_stream_and_in_log_stdin_once(acri, tmp_path):
    cri = acri
    cid, log = attach_container(cri, tmp_path, "once", ["sh", "-c", "cat; echo bye >&2"],
                                stdin_once=True)
    conn, st = attach_session(cri, cid)
    try:
        conn.send_data(st["stdin"].id, b"line one\n")
        wait_text(conn, st["stdout"], b"line one\n")
        conn.send_data(st["stdin"].id, b"line two\n")
        wait_text(conn, st["stdout"], b"line two\n")
        # the CRI log has it too: the attach copy is besides the log, not instead of it
        deadline = time.monotonic() + 10
        while b"stdout F line two" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b"stdout F line one\n" in log.read_bytes()
        assert b"stdout F line two\n" in log.read_bytes()
        assert ctr_state(cri, cid).state == cri.pb.CONTAINER_RUNNING
        # stdin_once: the first session with stdin detaches -> the container reads EOF
        conn.send_data(st["stdin"].id, b"", fin=True)
        wait_text(conn, st["stderr"], b"bye\n")
        conn.wait_fin(st["error"], 10)
    finally:
        conn.close()
    deadline = time.monotonic() + 10
    while ctr_state(cri, cid).state != cri.pb.CONTAINER_EXITED:
        assert time.monotonic() < deadline, "stdin_once did not close the container's stdin"
        time.sleep(0.2)
    assert ctr_state(cri, cid).exit_code == 0
    assert b"stderr F bye\n" in log.read_bytes()
    # a stopped container: the RPC says so
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Attach(cri.pb.AttachRequest(container_id=cid, stdout=True), timeout=10)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION


def test_attach_without_stdin_once_keeps_stdin(acri, tmp_path):
    """Without stdin_once a detach leaves the container's stdin open: a second session
    goes on where the first stopped."""
    cri = acri
    cid, log = attach_container(cri, tmp_path, "keep", ["cat"])
    for word in (b"first\n", b"second\n"):
        conn, st = attach_session(cri, cid)
        try:
            conn.send_data(st["stdin"].id, word)
            wait_text(conn, st["stdout"], word)
            conn.send_data(st["stdin"].id, b"", fin=True)
        finally:
            conn.close()
        time.sleep(0.3)
        assert ctr_state(cri, cid).state == cri.pb.CONTAINER_RUNNING
    stop(cri, cid)


def test_attach_tty_and_resize(acri, tmp_path):
    cri = acri
    cid, log = attach_container(cri, tmp_path, "tty",
                                ["sh", "-c", "while read l; do stty size; echo got $l; done"],
                                tty=True)
    conn, st = attach_session(cri, cid, tty=True)
    try:
        conn.send_data(st["resize"].id, b'{"Width":123,"Height":45}\n')
        time.sleep(0.3)
        conn.send_data(st["stdin"].id, b"one\n")
        wait_text(conn, st["stdout"], b"45 123")
        wait_text(conn, st["stdout"], b"got one")
        conn.send_data(st["resize"].id, b'{"Width":77,"Height":22}\n')
        time.sleep(0.3)
        conn.send_data(st["stdin"].id, b"two\n")
        wait_text(conn, st["stdout"], b"22 77")
    finally:
        conn.close()
    assert b"got one" in log.read_bytes()
    assert ctr_state(cri, cid).state == cri.pb.CONTAINER_RUNNING


def test_attach_clients_vanishing_leave_container_and_monitor_clean(acri, daemon, tmp_path):
    cri = acri
    cid, log = attach_container(cri, tmp_path, "vanish",
                                ["sh", "-c", "while :; do echo tick; sleep 0.05; done & exec cat"])
    mon = monitor_pid(daemon, cid)
    conn, st = attach_session(cri, cid)
    wait_text(conn, st["stdout"], b"tick")
    conn.close()
    time.sleep(0.5)
    fds = len(os.listdir(f"/proc/{mon}/fd"))
    mascrid_fds = len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))
    for i in range(30):
        conn, st = attach_session(cri, cid)
        if i % 2:
            wait_text(conn, st["stdout"], b"tick")
            conn.send_data(st["stdin"].id, b"x" * 1000)
        conn.sock.shutdown(socket.SHUT_RDWR)  # gone mid-stream, without a goodbye
        conn.close()
    deadline = time.monotonic() + 20
    while (len(os.listdir(f"/proc/{mon}/fd")) > fds or
           len(os.listdir(f"/proc/{daemon.proc.pid}/fd")) > mascrid_fds) and \
            time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(os.listdir(f"/proc/{mon}/fd")) == fds
    assert len(os.listdir(f"/proc/{daemon.proc.pid}/fd")) <= mascrid_fds
    assert ctr_state(cri, cid).state == cri.pb.CONTAINER_RUNNING
    conn, st = attach_session(cri, cid)  # and attach still works
    try:
        conn.send_data(st["stdin"].id, b"still here\n")
        wait_text(conn, st["stdout"], b"still here\n")
    finally:
        conn.close()
    deadline = time.monotonic() + 10
    while len(os.listdir(f"/proc/{mon}/fd")) > fds and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(os.listdir(f"/proc/{mon}/fd")) == fds
    stop(cri, cid)


def test_attach_to_a_monitor_without_the_socket(acri, daemon, tmp_path):
    """A container of an older mascri-monitor (no attach socket): FAILED_PRECONDITION at
    the RPC, at once."""
    cri = acri
    cid, log = attach_container(cri, tmp_path, "old", ["cat"])
    socks = list(daemon.state.rglob(f"monitors/{cid}/attach"))
    assert len(socks) == 1
    socks[0].unlink()
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Attach(cri.pb.AttachRequest(container_id=cid, stdout=True), timeout=10)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    assert "attach socket" in e.value.details()
    assert time.monotonic() - t0 < 2
    stop(cri, cid)


CRICTL = os.environ.get("CRICTL", "/work/shared/tools/critest/crictl")


def test_crictl_attach(acri, daemon, tmp_path):
    """`crictl attach -i` (Go's SPDY client, as kubelet's path uses) with and without -t."""
    import subprocess
    if not os.access(CRICTL, os.X_OK):
        pytest.skip(f"no crictl at {CRICTL} (set CRICTL)")
    cri = acri
    base = [CRICTL, "--runtime-endpoint", f"unix://{daemon.socket}", "attach", "-i"]
    cid, log = attach_container(cri, tmp_path, "crictl", ["cat"], stdin_once=True)
    p = subprocess.run(base + [cid], input=b"hello from crictl attach\n", capture_output=True,
                       timeout=30)
    assert p.stdout == b"hello from crictl attach\n", p.stderr
    # -t needs a terminal on crictl's side: script(1) gives it one
    cid, log = attach_container(cri, tmp_path, "crictl-tty", ["sh"], tty=True)
    cmd = " ".join(base + ["-t", cid])
    p = subprocess.Popen(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    p.stdin.write(b"echo tty-ok-$((1+2))\n")
    p.stdin.flush()
    time.sleep(1.5)
    p.stdin.write(b"exit\n")
    p.stdin.flush()
    try:
        out, err = p.communicate(timeout=15)
    finally:
        p.kill()
    assert b"tty-ok-3" in out, (out, err)


def test_1000_aborted_streams_leave_nothing(acri, daemon, tmp_path):
    """1,000 clients that go away mid-stream (exec with its process running, attach with
    output flowing, port-forward with a connection open, and right after the upgrade) leave
    no fd, socket, thread or process behind, in mascrid or in the container's monitor."""
    cri = acri
    pb = cri.pb
    cid, log = attach_container(
        cri, tmp_path, "abort",
        ["sh", "-c", "while :; do echo tick; sleep 0.2; done & exec nc -ll -p 8000 -e cat"])
    pod_id = cri.runtime.ListContainers(pb.ListContainersRequest(), timeout=10).containers
    pod_id = [c.pod_sandbox_id for c in pod_id if c.id == cid][0]
    mascrid = daemon.proc.pid
    mon = monitor_pid(daemon, cid)

    def threads():
        """mascrid's threads but the CRI worker pools' (cri-fast-N, cri-slow-N: started on
        demand up to their maximum and kept, by design)."""
        names = []
        for t in os.listdir(f"/proc/{mascrid}/task"):
            try:
                names.append(open(f"/proc/{mascrid}/task/{t}/comm").read().strip())
            except OSError:
                pass
        return sorted(n for n in names if not n.startswith("cri-"))

    def counts():
        return (len(os.listdir(f"/proc/{mascrid}/fd")), len(threads()),
                len(os.listdir(f"/proc/{mon}/fd")))

    def sleepers():
        r = cri.runtime.ExecSync(pb.ExecSyncRequest(
            container_id=cid, cmd=["sh", "-c", "ps | grep -c '[s]leep 1000' || true"]),
            timeout=30)
        return int(r.stdout.strip() or 0)

    # one of each first: the lazily made threads and fds of the server are there before
    # the baseline is taken
    spdy.remote_command(exec_url(cri, cid, ["true"]))
    time.sleep(1)
    base = counts()
    for i in range(1000):
        kind = i % 4
        if kind == 0:  # exec, the process started, then the client vanishes
            conn = spdy.spdy_connect(exec_url(cri, cid, ["sleep", "1000"], stdin=True),
                                     spdy.EXEC_PROTOCOLS)
            for t in ("error", "stdin", "stdout", "stderr"):
                conn.create_stream({"streamType": t})
        elif kind == 1:  # attach with output flowing
            conn, st = attach_session(cri, cid)
            if i % 40 == 1:
                wait_text(conn, st["stdout"], b"tick")
        elif kind == 2:  # port-forward with a connection through it
            url = cri.runtime.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod_id,
                                                                port=[8000]), timeout=10).url
            conn = spdy.spdy_connect(url, ["portforward.k8s.io"])
            conn.create_stream({"streamType": "error", "port": "8000", "requestID": str(i)})
            d = conn.create_stream({"streamType": "data", "port": "8000", "requestID": str(i)})
            conn.send_data(d.id, b"ping\n")
            if i % 40 == 2:
                conn.wait_data(d, 5, timeout=10)
        else:  # gone right after the upgrade
            conn = spdy.spdy_connect(exec_url(cri, cid, ["true"]), spdy.EXEC_PROTOCOLS)
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = counts()
        if all(n <= b for n, b in zip(now, base)) and sleepers() == 0:
            break
        time.sleep(1)
    assert sleepers() == 0, "exec'd processes left behind"
    now = counts()
    assert now[0] <= base[0], f"mascrid fds {base[0]} -> {now[0]}"
    assert now[1] <= base[1], f"mascrid threads {base[1]} -> {now[1]}: {threads()}"
    assert now[2] <= base[2], f"monitor fds {base[2]} -> {now[2]}"
    assert ctr_state(cri, cid).state == pb.CONTAINER_RUNNING
    stop(cri, cid)
