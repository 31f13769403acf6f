"""The crictl golden path of a multi-layer image with whiteouts (pull, runp, create, start,
exec -s, logs, stop, rm, rmp, rmi), written to hold on every kernel mascri supports: on the
host here, and on Debian 12's 6.1 (no overlayfs lowerdir+, no ...) in the VM step of
scripts/test.sh (tests/vm/kernel-test.sh). A deep image takes the legacy overlay mount."""
from pathlib import Path

from ctr_lib import (create, cstatus, ctr_config, exec_sync, list_ctrs, log_records, pull,
                     remove, start, stop, wait_for)
from harness.images import build_image, busybox_layer, layered_layers, Layer, push_image
from pods_lib import pod_config
from pods_lib import remove as remove_pod
from pods_lib import stop as stop_pod


def run_image(cri, daemon, ref, name, command):
    pb = cri.pb
    pc = pod_config(pb, name=name)
    pc.log_directory = str(daemon.log_dir / name)
    pod = cri.runtime.RunPodSandbox(pb.RunPodSandboxRequest(config=pc), timeout=60).pod_sandbox_id
    cid = create(cri, pod, ctr_config(pb, ref, name="c", command=command), pc)
    start(cri, cid)
    return pod, cid


def finish(cri, pod, cid, ref):
    pb = cri.pb
    stop(cri, cid, timeout=1)
    assert cstatus(cri, cid).status.state == pb.CONTAINER_EXITED
    remove(cri, cid)
    stop_pod(cri, pod)
    remove_pod(cri, pod)
    assert list(list_ctrs(cri)) == []
    cri.image.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=ref)), timeout=30)
    assert not any(ref in i.repo_tags for i in
                   cri.image.ListImages(pb.ListImagesRequest(), timeout=30).images)


def test_multilayer_whiteouts_golden_path(cri, daemon, registry):
    img = build_image([busybox_layer()] + layered_layers())
    ref = push_image(registry, "mascri-test/kernel-layered", "v1", img)
    pull(cri, ref)
    pod, cid = run_image(cri, daemon, ref, "kern",
                         ["sh", "-c", "echo up; cat /layer; exec sleep 3600"])
    st = cstatus(cri, cid).status
    assert st.state == cri.pb.CONTAINER_RUNNING
    r = exec_sync(cri, cid, ["sh", "-c", "cat /data/keep /data/new; ls /opq; ls /rmdir; ls /data/dir; "
                             "test -e /data/gone || echo no-gone; echo w >/data/keep; cat /data/keep"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split() == [b"keep", b"new", b"fresh", b"y", b"b", b"no-gone", b"w"]
    log = Path(st.log_path)
    recs = wait_for(lambda: len(log_records(log)) >= 2 and log_records(log), what="logs")
    assert [c for _, _, _, c in recs][:2] == ["up", "4"]
    finish(cri, pod, cid, ref)


def test_deep_image_runs(cri, daemon, registry):
    """141 layers: past what fits a page of absolute lowerdir paths."""
    layers = [busybox_layer()] + [Layer().file(f"f{i:03d}", f"{i}\n").tar() for i in range(140)]
    ref = push_image(registry, "mascri-test/kernel-deep", "v1",
                     build_image(layers, compression="none"))
    pull(cri, ref)
    pod, cid = run_image(cri, daemon, ref, "deep", ["sleep", "3600"])
    r = exec_sync(cri, cid, ["sh", "-c", "cat /f000 /f139; ls / | grep -c '^f'"])
    assert r.exit_code == 0 and r.stdout.split() == [b"0", b"139", b"140"], r
    finish(cri, pod, cid, ref)
