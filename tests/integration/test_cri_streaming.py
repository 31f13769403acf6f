"""Exec, Attach and PortForward through mascrid's streaming server, driven by an independent
Python SPDY/3.1 client (harness/spdy.py) and WebSocket client (harness/ws.py) the way kubelet,
crictl and kubectl do: the RPC answers a URL with a single-use token, the client upgrades the
HTTP connection and speaks the remotecommand or portforward protocol."""
import json
import os
import time

import grpc
import pytest

from ctr_lib import code, pod_with_container, pull, stop
from harness import spdy


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
    res = spdy.remote_command(url)
    assert res["error"] == b'{"metadata":{},"status":"Success"}'
    with pytest.raises(spdy.HTTPError) as e:
        spdy.remote_command(url)
    assert e.value.status == 404


def test_exec_stdout_stderr_exit_code(sleeper):
    d, cri, pod, cid = sleeper
    url = exec_url(cri, cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    res = spdy.remote_command(url)
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
        res = spdy.remote_command(exec_url(cri, cid, ["sh", "-c", "echo hi; exit 2"]),
                                  protocols=[proto])
        assert res["protocol"] == proto and res["stdout"] == b"hi\n"
        assert b"exit code 2" in res["error"] and not res["error"].startswith(b"{")
    with pytest.raises(spdy.HTTPError) as e:
        spdy.remote_command(exec_url(cri, cid, ["true"]), protocols=["v9.channel.k8s.io"])
    assert e.value.status == 403


def test_exec_stdin(sleeper):
    d, cri, pod, cid = sleeper
    data = os.urandom(300 * 1024)
    url = exec_url(cri, cid, ["sh", "-c", "md5sum; echo done >&2"], stdin=True)
    res = spdy.remote_command(url, stdin=data)
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
    res = spdy.remote_command(url, stdin=b"", tty=True, resizes=[(123, 45)], close_stdin=False)
    # With a tty, stderr is merged into stdout (and newlines become CRLF).
    assert res["stdout"].replace(b"\r\n", b"\n") == b"45 123\nerr\n"
    st = json.loads(res["error"])
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]
