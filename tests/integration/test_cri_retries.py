"""kubelet retries RunPodSandbox and CreateContainer after its own timeout, with the same
request. A retry that arrives while the first is still in flight must not find the name
stuck ("failed to reserve sandbox name"): it waits and answers with what the first made.
A name taken by a finished pod or container is ALREADY_EXISTS naming the holder."""
import json
import threading
import time

import grpc
import pytest

from ctr_lib import code, create, ctr_config, list_ctrs, pull
from pods_lib import pod_config

SLOW_PLUGIN = """#!/bin/sh
# A CNI plugin whose ADD takes two seconds (the first RunPodSandbox is still in flight
# when the retry comes); it attaches nothing.
cat > /dev/null
case "$CNI_COMMAND" in
ADD) sleep 2; echo '{"cniVersion": "1.0.0", "interfaces": [], "ips": []}' ;;
VERSION) echo '{"cniVersion": "1.0.0", "supportedVersions": ["1.0.0"]}' ;;
esac
exit 0
"""


@pytest.fixture
def slow_cni_daemon(daemon_factory, tmp_path):
    bin_dir, conf_dir = tmp_path / "cni-bin", tmp_path / "net.d"
    bin_dir.mkdir()
    conf_dir.mkdir()
    plugin = bin_dir / "slow"
    plugin.write_text(SLOW_PLUGIN)
    plugin.chmod(0o755)
    (conf_dir / "10-slow.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "slow", "plugins": [{"type": "slow"}]}))
    return daemon_factory(["--cni-conf-dir", str(conf_dir), "--cni-bin-dir", str(bin_dir)],
                          network="cni")


def test_retried_run_pod_sandbox_gets_the_first_ones_pod(slow_cni_daemon):
    cri = slow_cni_daemon.client
    pb = cri.pb
    pc = pod_config(pb, name="retried")
    first = {}

    def run_first():
        first["id"] = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc),
                                                timeout=60).pod_sandbox_id

    t = threading.Thread(target=run_first)
    t.start()
    time.sleep(0.5)  # the first is in its two-second network setup
    assert t.is_alive()
    retry = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc),
                                      timeout=60).pod_sandbox_id
    t.join()
    assert retry == first["id"]
    pods = cri.runtime.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items
    assert [p.id for p in pods] == [retry]
    # Once it has finished, the name is simply in use.
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60)
    assert code(e) == grpc.StatusCode.ALREADY_EXISTS and retry in e.value.details()
    # A different request for the same name while one is in flight is refused after it.
    pc2 = pod_config(pb, name="other")
    t = threading.Thread(target=lambda: cri.runtime.RunPodSandbox(
        pb.RunPodSandboxRequest(config=pc2), timeout=60))
    t.start()
    time.sleep(0.5)
    changed = pod_config(pb, name="other", hostname="changed")
    with pytest.raises(grpc.RpcError) as e:
        cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=changed), timeout=60)
    t.join()
    assert code(e) == grpc.StatusCode.ALREADY_EXISTS


def test_concurrent_create_container_makes_one(daemon, test_images):
    cri = daemon.client
    pb = cri.pb
    pull(cri, test_images["busybox"])
    pc = pod_config(pb, name="cc")
    pc.log_directory = str(daemon.log_dir / "cc")
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cfg = ctr_config(pb, test_images["busybox"], name="same", command=["sleep", "60"])
    out = [None, None]

    def one(i):
        try:
            out[i] = create(cri, pod, cfg, pc)
        except grpc.RpcError as err:
            out[i] = err

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [x for x in out if isinstance(x, str)]
    errs = [x for x in out if not isinstance(x, str)]
    ctrs = list(list_ctrs(cri))
    assert len(ctrs) == 1 and ids and all(i == ctrs[0].id for i in ids)
    # the loser, if it did not overlap the winner's creation, is told who holds the name
    for e in errs:
        assert e.code() == grpc.StatusCode.ALREADY_EXISTS and ctrs[0].id in e.details()
