"""mascrid's transport and RuntimeService basics, through a real grpcio client on the
daemon's unix socket: Version, Status, RuntimeConfig, UNIMPLEMENTED, malformed and oversize
messages, concurrency on one and several channels, slow calls not holding up fast ones,
deadlines, graceful shutdown and the single-instance lock."""
import ipaddress
import json
import os
import shutil
import socket
import stat
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from harness.cri_client import CRIClient, api
from harness.daemon import expected_cgroup_manager, host_cgroup_manager
from harness.paths import binary, tool_path
from pods_lib import net_args, remove, run_pod, status, stop  # noqa: F401 (net_args)


def raw_call(daemon, path, payload, timeout=10):
    """A unary call with hand-made request bytes (answer bytes returned as is)."""
    ch = grpc.insecure_channel(f"unix://{daemon.socket}")
    try:
        fn = ch.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        return fn(payload, timeout=timeout)
    finally:
        ch.close()


def test_version(cri):
    v = cri.runtime.Version(cri.pb.VersionRequest(version="v1"), timeout=10)
    assert v.version == "0.1.0"
    assert v.runtime_name == "mascri"
    assert v.runtime_api_version == "v1"
    out = subprocess.run([str(binary("mascrid")), "--version"], capture_output=True, text=True,
                         check=True)
    assert v.runtime_version in out.stdout


def test_status(cri):
    st = cri.runtime.Status(cri.pb.StatusRequest(), timeout=10)
    conds = {c.type: c for c in st.status.conditions}
    assert conds["RuntimeReady"].status
    assert "NetworkReady" in conds
    assert len(st.info) == 0
    verbose = cri.runtime.Status(cri.pb.StatusRequest(verbose=True), timeout=10)
    cfg = json.loads(verbose.info["config"])
    assert cfg["network"] == "none"
    assert cfg["cgroupManager"] == expected_cgroup_manager()


def test_status_network_not_ready(daemon_factory, tmp_path):
    """CNI mode without a config: NetworkReady false with a reason, runtime still ready."""
    conf = tmp_path / "net.d"
    conf.mkdir()
    d = daemon_factory(network="cni", extra_args=["--cni-conf-dir", str(conf),
                                                  "--cni-bin-dir", str(tmp_path / "bin")])
    st = d.client.runtime.Status(d.client.pb.StatusRequest(), timeout=10)
    conds = {c.type: c for c in st.status.conditions}
    assert conds["RuntimeReady"].status
    assert not conds["NetworkReady"].status
    assert conds["NetworkReady"].reason == "NetworkPluginNotReady"
    assert conds["NetworkReady"].message


def test_runtime_config_cgroup_driver(daemon_factory, pb):
    # The default (auto) follows the host: systemd when systemd is PID 1 (what sd_booted
    # checks), so kubelet's cgroupDriver check passes without configuration.
    host = pb.SYSTEMD if host_cgroup_manager() == "systemd" else pb.CGROUPFS
    for args, want in [((), host), (["--cgroup-manager", "auto"], host),
                       (["--cgroup-manager", "cgroupfs"], pb.CGROUPFS),
                       (["--cgroup-manager", "systemd"], pb.SYSTEMD)]:
        d = daemon_factory(extra_args=args, pin_cgroup_manager=False)
        rc = d.client.runtime.RuntimeConfig(pb.RuntimeConfigRequest(), timeout=10)
        assert rc.linux.cgroup_driver == want, args


def test_update_runtime_config(daemon_factory, net_args):
    """kubelet hands the node's pod CIDR over with UpdateRuntimeConfig: the pods started
    after it get their address there; an empty request changes nothing."""
    args, _, first = net_args
    d = daemon_factory(args, network="builtin")
    cri, pb = d.client, d.client.pb
    pod = run_pod(cri, name="before")
    assert ipaddress.ip_address(status(cri, pod).status.network.ip) in first
    stop(cri, pod)
    remove(cri, pod)
    # Another /24 of this test's own: 10.90.<n>.0/24 beside net_args' 10.89.<n>.0/24.
    second = ipaddress.ip_network(f"10.90.{first.network_address.packed[2]}.0/24")
    cfg = pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr=str(second)))
    cri.runtime.UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(runtime_config=cfg),
                                    timeout=10)
    cri.runtime.UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(), timeout=10)
    pods = [run_pod(cri, name=f"after-{i}") for i in range(2)]
    for p in pods:
        assert ipaddress.ip_address(status(cri, p).status.network.ip) in second
    for p in pods:
        stop(cri, p)
        remove(cri, p)
    bad = pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr="10.90.0.0/99"))
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(runtime_config=bad),
                                        timeout=10)
    assert e.value.code() != grpc.StatusCode.OK


def test_update_runtime_config_without_pod_network(cri):
    """With pod networking off the CIDR has no use: the call still succeeds."""
    cfg = cri.pb.RuntimeConfig(network_config=cri.pb.NetworkConfig(pod_cidr="10.77.0.0/16"))
    cri.runtime.UpdateRuntimeConfig(cri.pb.UpdateRuntimeConfigRequest(runtime_config=cfg),
                                    timeout=10)
    assert cri.runtime.Status(cri.pb.StatusRequest(), timeout=10).status.conditions


def test_unimplemented_methods(cri, daemon):
    pb = cri.pb
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.CheckpointContainer(pb.CheckpointContainerRequest(), timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "checkpoint" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        raw_call(daemon, "/runtime.v1.RuntimeService/NoSuchMethod", b"")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "NoSuchMethod" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        raw_call(daemon, "/runtime.v1alpha2.RuntimeService/Version", b"")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    # The server is still fine afterwards.
    cri.runtime.Version(pb.VersionRequest(), timeout=10)


def test_malformed_request_is_invalid_argument(cri, daemon):
    # Field 1 (string) declared 16 bytes long with none following: not a valid message.
    with pytest.raises(grpc.RpcError) as e:
        raw_call(daemon, "/runtime.v1.RuntimeService/Version", b"\x0a\x10ab")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A valid hand-made request works on the same path.
    raw = raw_call(daemon, "/runtime.v1.RuntimeService/Version", b"\x0a\x02v1")
    assert cri.pb.VersionResponse.FromString(raw).runtime_name == "mascri"


def test_oversize_request_is_resource_exhausted(cri):
    big = cri.pb.VersionRequest(version="x" * (16 * 1024 * 1024 + 16))
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.Version(big, timeout=30)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in e.value.details()  # mascrid's answer, not the client's
    cri.runtime.Version(cri.pb.VersionRequest(), timeout=10)


def test_garbage_on_the_socket_closes_only_that_connection(cri, daemon):
    for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
                 b"\xff" * 64, b"\x00" * 100000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(str(daemon.socket))
        try:
            s.sendall(junk)
        except OSError:
            pass
        # The server ends the connection (perhaps after a GOAWAY).
        while True:
            try:
                if not s.recv(65536):
                    break
            except ConnectionResetError:
                break
        s.close()
    cri.runtime.Version(cri.pb.VersionRequest(), timeout=10)


def test_many_concurrent_calls_one_channel(cri):
    """300 calls in flight on one HTTP/2 connection: each gets its own, right answer."""
    pb = cri.pb
    images = sorted(i.id for i in cri.image.ListImages(pb.ListImagesRequest(), timeout=60).images)
    futures = []
    for i in range(300):
        if i % 3 == 0:
            futures.append(("version", cri.runtime.Version.future(pb.VersionRequest(), timeout=60)))
        elif i % 3 == 1:
            futures.append(("status", cri.runtime.Status.future(pb.StatusRequest(), timeout=60)))
        else:
            futures.append(("images",
                            cri.image.ListImages.future(pb.ListImagesRequest(), timeout=60)))
    for kind, f in futures:
        r = f.result()
        if kind == "version":
            assert r.runtime_name == "mascri" and r.runtime_api_version == "v1"
        elif kind == "status":
            conds = {c.type: c.status for c in r.status.conditions}
            assert conds["RuntimeReady"] is True
        else:
            assert sorted(i.id for i in r.images) == images


def test_concurrent_calls_several_channels(daemon):
    clients = [CRIClient(daemon.socket) for _ in range(6)]
    try:
        pb = clients[0].pb

        def work(c):
            for _ in range(40):
                assert c.runtime.Version(pb.VersionRequest(), timeout=60).runtime_name == "mascri"
            return True

        with ThreadPoolExecutor(len(clients)) as ex:
            assert all(ex.map(work, clients))
    finally:
        for c in clients:
            c.close()


def test_slow_pull_does_not_block_fast_calls(cri, daemon, stalling_registry):
    """A pull stuck on a registry that never answers ends with DEADLINE_EXCEEDED, while
    Version and ListImages issued after it complete before it does."""
    pb = cri.pb
    order = []
    lock = threading.Lock()

    def done(name):
        def cb(_f):
            with lock:
                order.append(name)
        return cb

    ref = f"{stalling_registry.host}/stall/image:latest"
    pulls = [cri.image.PullImage.future(pb.PullImageRequest(image=pb.ImageSpec(image=ref)),
                                        timeout=3) for _ in range(2)]
    for i, p in enumerate(pulls):
        p.add_done_callback(done(f"pull{i}"))
    assert stalling_registry.requests.wait(30)
    fast = [cri.runtime.Version.future(pb.VersionRequest(), timeout=60),
            cri.image.ListImages.future(pb.ListImagesRequest(), timeout=60),
            cri.runtime.Status.future(pb.StatusRequest(), timeout=60)]
    for i, f in enumerate(fast):
        f.add_done_callback(done(f"fast{i}"))
    for f in fast:
        f.result()
    for p in pulls:
        with pytest.raises(grpc.RpcError) as e:
            p.result()
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    with lock:
        assert set(order[:3]) == {"fast0", "fast1", "fast2"}, order
        assert set(order[3:]) == {"pull0", "pull1"}, order
    # The deadline reached the pulls themselves: their workers return (the registry never
    # answers, so only the cancellation ends them).
    finished = "/runtime.v1.ImageService/PullImage: handler finished after the call was answered"
    deadline = time.monotonic() + 60
    while daemon.log_tail(10000).count(finished) < 2:
        assert time.monotonic() < deadline, daemon.log_tail()
        time.sleep(0.05)
    # The daemon keeps serving after the cancelled pulls.
    cri.runtime.Version(pb.VersionRequest(), timeout=10)


def test_sigterm_shuts_down_cleanly(daemon):
    assert stat.S_ISSOCK(os.stat(daemon.socket).st_mode)
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o660
    assert stat.S_IMODE(os.stat(daemon.state).st_mode) == 0o700
    rc = daemon.stop()
    assert rc == 0, daemon.log_tail()
    assert not daemon.socket.exists()
    assert "mascrid stopped" in daemon.log_tail()


def test_shutdown_lets_in_flight_call_finish(daemon, stalling_registry):
    """SIGTERM while a pull waits on the registry: the socket goes away at once, the pull
    still gets its own answer once the registry replies, then mascrid exits 0."""
    pb = daemon.client.pb
    ref = f"{stalling_registry.host}/stall/image:latest"
    fut = daemon.client.image.PullImage.future(pb.PullImageRequest(image=pb.ImageSpec(image=ref)),
                                               timeout=120)
    assert stalling_registry.requests.wait(30)
    proc = daemon.proc
    proc.send_signal(15)
    deadline = time.monotonic() + 30
    while daemon.socket.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not daemon.socket.exists()
    assert proc.poll() is None, "mascrid exited before its in-flight call finished"
    stalling_registry.release()
    with pytest.raises(grpc.RpcError) as e:
        fut.result()
    # The registry's 404, not a transport error from the shutdown.
    assert e.value.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), \
        e.value.details()
    assert proc.wait(60) == 0
    assert daemon.stop() == 0


def test_second_daemon_on_same_state_fails_clearly(daemon):
    cmd = [str(binary("mascrid")), "--socket", str(daemon.state / "other.sock"),
           "--root", str(daemon.root), "--state", str(daemon.state), "--network", "none"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "another mascrid" in r.stderr
    assert str(daemon.proc.pid) in r.stderr
    assert not (daemon.state / "other.sock").exists()
    # The first one is untouched.
    daemon.client.runtime.Version(daemon.client.pb.VersionRequest(), timeout=10)


def test_systemd_notification(daemon_factory, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    try:
        d = daemon_factory(env={"NOTIFY_SOCKET": path})
        msgs = []
        while not any("READY=1" in m for m in msgs):
            msgs.append(sock.recv(4096).decode())
        # STATUS= lines say where a slow start is, before READY=1 (systemctl status).
        assert any(m.startswith("STATUS=") for m in msgs[:-1]), msgs
        assert "READY=1" in msgs[-1]
        d.client.runtime.Version(d.client.pb.VersionRequest(), timeout=10)
        assert d.stop() == 0
        assert "STOPPING=1" in sock.recv(4096).decode()
    finally:
        sock.close()


def test_json_log_format(daemon_factory):
    d = daemon_factory(extra_args=["--log-format", "json"])
    assert d.stop() == 0
    lines = [l for l in d.log_path.read_text().splitlines() if l.strip()]
    assert lines
    recs = [json.loads(l) for l in lines]
    assert any("ready" in json.dumps(r) for r in recs)


def test_container_events_stream_ends_ok_at_shutdown(daemon):
    """GetContainerEvents stays open (server streaming) and ends with OK when mascrid stops."""
    pb = daemon.client.pb
    stream = daemon.client.runtime.GetContainerEvents(pb.GetEventsRequest(), timeout=120)
    result = {}

    def reader():
        result["events"] = list(stream)
        result["code"] = stream.code()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    # Version on the same channel answers while the stream is open.
    daemon.client.runtime.Version(pb.VersionRequest(), timeout=10)
    time.sleep(0.2)
    assert t.is_alive()
    daemon.proc.send_signal(15)
    t.join(30)
    assert result.get("code") == grpc.StatusCode.OK
    assert result["events"] == []
    assert daemon.stop() == 0


def test_bad_flags_fail(tmp_path):
    r = subprocess.run([str(binary("mascrid")), "--network", "bogus"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert "--network" in r.stderr
    r = subprocess.run([str(binary("mascrid")), "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0
    for flag in ("--socket", "--root", "--state", "--log-level", "--log-format", "--network",
                 "--cni-conf-dir", "--cni-bin-dir", "--pod-cidr", "--bridge", "--nft-table",
                 "--cgroup-manager", "--cgroup-parent", "--registries-config"):
        assert flag in r.stdout


def test_bad_nft_table_name_fails(tmp_path):
    """The table name goes into nft scripts: anything but an identifier is refused."""
    r = subprocess.run([str(binary("mascrid")), "--network", "builtin", "--root",
                        str(tmp_path / "root"), "--state", str(tmp_path / "run"),
                        "--nft-table", "x; flush ruleset"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert "nftables table name" in r.stderr


# The transport alone: tests/integration/tools/cri-server-tool.c serves a method table of its own.

class Tool:
    def __init__(self, tmp, max_send=None):
        self.socket = tmp / "tool.sock"
        self.log_path = tmp / "tool.log"
        exe = tool_path("cri-server-tool")
        args = [str(exe), str(self.socket)] + ([str(max_send)] if max_send else [])
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            assert self.proc.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "cri-server-tool did not start"
            time.sleep(0.02)
        self.channel = grpc.insecure_channel(f"unix://{self.socket}", options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024)])
        self.pb = api()

    def call(self, path, arg="", timeout=30, method=None):
        fn = self.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=self.pb.VersionResponse.FromString)
        return fn(self.pb.VersionRequest(version=str(arg)), timeout=timeout)

    def future(self, path, arg="", timeout=30):
        fn = self.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=self.pb.VersionResponse.FromString)
        return fn.future(self.pb.VersionRequest(version=str(arg)), timeout=timeout)

    def cancelled(self):
        return int(self.call("/test.Tool/Cancelled").version)

    def wait_cancelled(self, n):
        deadline = time.monotonic() + 30
        while self.cancelled() < n:
            assert time.monotonic() < deadline, f"handlers saw {self.cancelled()} cancellations"
            time.sleep(0.02)

    def stop(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def tool(tmp_path):
    t = Tool(tmp_path)
    yield t
    rc = t.stop()
    assert rc == 0, t.log_path.read_text()[-3000:]


def test_transport_handler_errors_keep_kind_and_message(tool):
    for kind, code in [(1, grpc.StatusCode.NOT_FOUND), (2, grpc.StatusCode.ALREADY_EXISTS),
                       (3, grpc.StatusCode.INVALID_ARGUMENT),
                       (4, grpc.StatusCode.FAILED_PRECONDITION),
                       (5, grpc.StatusCode.DEADLINE_EXCEEDED), (0, grpc.StatusCode.INTERNAL)]:
        with pytest.raises(grpc.RpcError) as e:
            tool.call("/test.Tool/Fail", kind)
        assert e.value.code() == code
        # Percent-encoded on the wire, decoded by the client.
        assert e.value.details() == "failure: 100% caf\u00e9\nline two"
    with pytest.raises(grpc.RpcError) as e:
        tool.call("/test.Tool/NoResponse")
    assert e.value.code() == grpc.StatusCode.INTERNAL
    with pytest.raises(grpc.RpcError) as e:
        tool.call("/test.Tool/Missing")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert e.value.details() == "the tool does not do this"


def test_transport_deadline_cancels_the_handler(tool):
    with pytest.raises(grpc.RpcError) as e:
        tool.call("/test.Tool/Sleep", 60000, timeout=0.3)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    tool.wait_cancelled(1)
    # A client that cancels (RST_STREAM) cancels the handler too.
    f = tool.future("/test.Tool/Sleep", 60000, timeout=60)
    time.sleep(0.2)
    f.cancel()
    tool.wait_cancelled(2)
    # A call that finishes in time is answered normally.
    assert tool.call("/test.Tool/Sleep", 10).version == "slept"


def test_transport_client_gone_while_handler_runs(tmp_path):
    """A connection that closes while its call runs: the late completion is dropped."""
    t = Tool(tmp_path)
    try:
        other = grpc.insecure_channel(f"unix://{t.socket}")
        fn = other.unary_unary("/test.Tool/Sleep",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=t.pb.VersionResponse.FromString)
        futs = [fn.future(t.pb.VersionRequest(version="400"), timeout=60) for _ in range(5)]
        time.sleep(0.1)
        other.close()
        for f in futs:
            with pytest.raises(grpc.RpcError):
                f.result()
        # The handlers ran to their end or saw the cancellation; the server goes on.
        time.sleep(0.6)
        assert t.call("/runtime.v1.RuntimeService/Version").runtime_name == "server-tool"
    finally:
        assert t.stop() == 0, t.log_path.read_text()[-3000:]


def test_transport_slow_pool_does_not_hold_fast_calls(tool):
    order = []
    lock = threading.Lock()
    slow = [tool.future("/test.Tool/Sleep", 1500, timeout=60) for _ in range(10)]
    for f in slow:
        f.add_done_callback(lambda _f: order.append("slow"))
    fast = tool.future("/runtime.v1.RuntimeService/Version")
    fast.add_done_callback(lambda _f: order.append("fast"))
    fast.result()
    for f in slow:
        assert f.result().version == "slept"
    with lock:
        assert order[0] == "fast", order


def test_transport_large_responses(tool):
    for size in (0, 1, 65535, 3 * 1024 * 1024, 12 * 1024 * 1024):
        r = tool.call("/test.Tool/Big", size, timeout=60)
        assert len(r.version) == size
    # Several large answers at once on one connection share its flow-control windows.
    futs = [tool.future("/test.Tool/Big", 5 * 1024 * 1024, timeout=120) for _ in range(6)]
    for f in futs:
        assert len(f.result().version) == 5 * 1024 * 1024


def test_transport_response_over_limit(tmp_path):
    t = Tool(tmp_path, max_send=1000)
    try:
        assert len(t.call("/test.Tool/Big", 900).version) == 900
        with pytest.raises(grpc.RpcError) as e:
            t.call("/test.Tool/Big", 2000)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        assert t.stop() == 0


def test_transport_server_streaming(tool):
    """Subscribers get every published message in order; the streams end OK at shutdown."""
    pb = tool.pb
    events = tool.channel.unary_stream(
        "/test.Tool/Events", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=pb.ContainerEventResponse.FromString)
    publish = tool.channel.unary_unary(
        "/test.Tool/Publish", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=pb.VersionResponse.FromString)
    streams = [events(pb.GetEventsRequest(), timeout=120) for _ in range(2)]
    got = [[], []]
    codes = [None, None]

    def reader(n):
        try:
            for msg in streams[n]:
                got[n].append(msg.container_id)
        finally:
            codes[n] = streams[n].code()

    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()

    def wait_until(pred, what):
        deadline = time.monotonic() + 30
        while not pred():
            assert time.monotonic() < deadline, f"{what}: {got}"
            time.sleep(0.02)

    # A stream subscribes once the server has its request: probe until both are in.
    def subscribed():
        publish(pb.ContainerEventResponse(container_id="probe"), timeout=10)
        return all("probe" in g for g in got)

    wait_until(subscribed, "subscription")
    for i in range(50):
        publish(pb.ContainerEventResponse(container_id=f"c{i}",
                                          container_event_type=pb.CONTAINER_STARTED_EVENT,
                                          created_at=i), timeout=10)
    wait_until(lambda: all(len([x for x in g if x != "probe"]) == 50 for g in got), "events")
    for g in got:
        assert [x for x in g if x != "probe"] == [f"c{i}" for i in range(50)]
    tool.proc.send_signal(15)
    for t in threads:
        t.join(30)
    assert codes == [grpc.StatusCode.OK, grpc.StatusCode.OK]
    assert tool.proc.wait(30) == 0


def test_missing_registries_config_is_an_error(tmp_path):
    cmd = [str(binary("mascrid")), "--socket", str(tmp_path / "run/s.sock"),
           "--root", str(tmp_path / "root"), "--state", str(tmp_path / "run"),
           "--network", "none", "--registries-config", str(tmp_path / "nope.json")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "nope.json" in r.stderr
    assert not (tmp_path / "run/s.sock").exists()


def test_transport_stream_cancelled_by_client(tool):
    """A subscriber that goes away is dropped; publishing goes on for the others."""
    pb = tool.pb
    events = tool.channel.unary_stream(
        "/test.Tool/Events", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=pb.ContainerEventResponse.FromString)
    publish = tool.channel.unary_unary(
        "/test.Tool/Publish", request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=pb.VersionResponse.FromString)
    for _ in range(3):
        s = events(pb.GetEventsRequest(), timeout=60)
        deadline = time.monotonic() + 30
        while True:
            publish(pb.ContainerEventResponse(container_id="x" * 1000), timeout=10)
            if next(s).container_id:
                break
            assert time.monotonic() < deadline
        s.cancel()
        for _ in range(20):
            publish(pb.ContainerEventResponse(container_id="y" * 5000), timeout=10)
    assert tool.call("/runtime.v1.RuntimeService/Version").runtime_name == "server-tool"


def test_random_request_bytes_never_hurt_the_daemon(cri, daemon):
    """Random payloads (seeded) on the read-only methods: any answer but a crash."""
    import random

    rnd = random.Random(20261122)
    paths = ["/runtime.v1.RuntimeService/Version", "/runtime.v1.RuntimeService/Status",
             "/runtime.v1.RuntimeService/RuntimeConfig", "/runtime.v1.ImageService/ListImages",
             "/runtime.v1.ImageService/ImageStatus", "/runtime.v1.ImageService/ImageFsInfo"]
    ch = grpc.insecure_channel(f"unix://{daemon.socket}")
    try:
        for i in range(600):
            path = paths[i % len(paths)]
            n = rnd.choice([0, 1, 2, 5, 17, 64, 300])
            payload = bytes(rnd.getrandbits(8) for _ in range(n))
            if i % 3 == 0 and 0 < n < 128:  # a plausible field 1 (string or message) with random content
                payload = b"\x0a" + bytes([n]) + payload
            fn = ch.unary_unary(path, request_serializer=lambda b: b,
                                response_deserializer=lambda b: b)
            try:
                fn(payload, timeout=30)
            except grpc.RpcError as e:
                assert e.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                    grpc.StatusCode.INTERNAL), (path, payload, e.details())
    finally:
        ch.close()
    assert daemon.proc.poll() is None
    cri.runtime.Version(cri.pb.VersionRequest(), timeout=10)


def test_socket_path_as_authority(daemon):
    """grpc-go (kubelet, crictl) sends the unix socket's path as :authority; nghttp2's strict
    HTTP checks would reset such streams with PROTOCOL_ERROR."""
    pb = api()
    path = str(daemon.socket)
    for authority in (path, "%2Frun%2Fmascri%2Fmascri.sock", "localhost"):
        ch = grpc.insecure_channel(f"unix://{path}", options=[("grpc.default_authority",
                                                               authority)])
        try:
            call = ch.unary_unary("/runtime.v1.RuntimeService/Version",
                                  request_serializer=pb.VersionRequest.SerializeToString,
                                  response_deserializer=pb.VersionResponse.FromString)
            assert call(pb.VersionRequest(), timeout=10).runtime_name == "mascri", authority
        finally:
            ch.close()


def test_missing_nft_is_an_error_naming_the_package(tmp_path):
    """A host without nftables (a fresh Debian 12 before scripts/run.sh installed the run
    list): the built-in network cannot start, and the error says which package to install.
    nft is hidden by a bind mount of /dev/null (not executable) in a private mount ns."""
    nft = shutil.which("nft") or "/usr/sbin/nft"
    script = ('mount --make-rprivate / && mount --bind /dev/null "$1" && shift && '
              'PATH=/usr/bin:/bin exec "$@"')
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", nft, str(binary("mascrid")),
                        "--network", "builtin", "--socket", str(tmp_path / "s.sock"),
                        "--root", str(tmp_path / "root"), "--state", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "apt-get install nftables" in r.stderr, r.stderr


def test_daemon_links_no_tls_archive_or_http_client_library():
    # Pulls run in a mascri-image child so that curl, libarchive and OpenSSL (about 3 MB of
    # resident pages) stay out of the long-lived daemon; a stray dependency must show here.
    out = subprocess.run(["readelf", "-d", binary("mascrid")], capture_output=True, text=True,
                         check=True).stdout
    needed = [l.split("[", 1)[1].rstrip("]") for l in out.splitlines() if "(NEEDED)" in l]
    assert needed, out
    for lib in ("libcurl", "libarchive", "libcrypto", "libssl"):
        assert not any(n.startswith(lib) for n in needed), needed
