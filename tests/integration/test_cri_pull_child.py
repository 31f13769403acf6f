"""PullImage runs in a `mascri-image pull --sync-fd` child of mascrid (cri/pull-child.c):
the CRI credentials reach it on stdin, never in its argv or environment, and cancelling the
call stops it. Run against a registry that reads requests and never answers, so the child is
caught while it waits (no timing assumption: we wait for its request, then look)."""
import os
import secrets
import time

import grpc
import pytest


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _pull_children(daemon_pid):
    """pids of mascri-image processes whose parent is the daemon."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        stat = _read(f"/proc/{d}/stat")
        if not stat:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        try:
            exe = os.readlink(f"/proc/{d}/exe")
        except OSError:
            continue
        if ppid == daemon_pid and os.path.basename(exe) == "mascri-image":
            out.append(int(d))
    return out


def test_pull_child_gets_credentials_on_stdin_only(cri, daemon, stalling_registry):
    pb = cri.pb
    password = "pw-" + secrets.token_hex(12)
    token = "tok-" + secrets.token_hex(12)
    ident = "id-" + secrets.token_hex(12)
    auth = pb.AuthConfig(username="alice", password=password, registry_token=token,
                         identity_token=ident)
    ref = f"{stalling_registry.host}/quiet/image:latest"
    call = cri.image.PullImage.future(
        pb.PullImageRequest(image=pb.ImageSpec(image=ref), auth=auth), timeout=120)
    # The child has read its credentials and is talking to the registry.
    assert stalling_registry.requests.wait(60)
    children = _pull_children(daemon.proc.pid)
    assert len(children) == 1, children
    pid = children[0]
    cmdline = _read(f"/proc/{pid}/cmdline")
    environ = _read(f"/proc/{pid}/environ")
    assert cmdline is not None and environ is not None
    args = cmdline.split(b"\0")
    assert b"--auth-stdin" in args and b"--sync-fd" in args and ref.encode() in args
    for secret in (password, token, ident):
        assert secret.encode() not in cmdline
        assert secret.encode() not in environ
    # Its own process group (a stuck child is killed with its group).
    assert os.getpgid(pid) == pid
    # Cancelling the call stops the child (SIGTERM; it reports CANCELLED and exits).
    call.cancel()
    deadline = time.monotonic() + 60
    while pid in _pull_children(daemon.proc.pid):
        assert time.monotonic() < deadline, daemon.log_tail()
        time.sleep(0.05)
    cri.runtime.Version(pb.VersionRequest(), timeout=10)


def test_pull_child_errors_keep_their_kind(cri, registry):
    """The child's error kind survives the status line: an unknown repository is NOT_FOUND
    naming the reference, a malformed reference INVALID_ARGUMENT."""
    pb = cri.pb
    ref = registry.ref("no/such-image", "v1")
    with pytest.raises(grpc.RpcError) as e:
        cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=60)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert ref in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image="Bad//Ref::x")),
                            timeout=60)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_pulled_image_is_seen_by_the_daemon_at_once(cri, test_images):
    """The child writes the record; the daemon adopts it: status, list, and a tag moved from
    another image is gone from it here too."""
    pb = cri.pb
    ref = test_images["busybox"]
    r = cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=120)
    st = cri.image.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)), timeout=10)
    assert st.image.id == r.image_ref
    ids = [i.id for i in cri.image.ListImages(pb.ListImagesRequest(), timeout=10).images]
    assert r.image_ref in ids
    # pulling again (already present) gives the same id
    r2 = cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=120)
    assert r2.image_ref == r.image_ref


def test_tag_moved_by_a_pull_leaves_the_old_image_here_too(cri, registry, daemon):
    """repo:latest re-pushed with other content and pulled again: the child moves the tag
    on disk, and the daemon's index agrees at once and after a restart."""
    from harness.images import build_image, busybox_layer, push_image
    pb = cri.pb
    first = build_image([busybox_layer()], {"Cmd": ["/bin/sh"], "Env": ["V=1"]})
    second = build_image([busybox_layer()], {"Cmd": ["/bin/sh"], "Env": ["V=2"]})
    ref = push_image(registry, "mascri-test/moving", "latest", first)
    id1 = cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)),
                              timeout=120).image_ref
    push_image(registry, "mascri-test/moving", "latest", second)
    id2 = cri.image.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)),
                              timeout=120).image_ref
    assert id1 != id2

    def tags(client):
        imgs = client.image.ListImages(pb.ListImagesRequest(), timeout=10).images
        return {i.id: list(i.repo_tags) for i in imgs}

    now = tags(cri)
    assert now[id2] == [ref] and now[id1] == [], now
    st = cri.image.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)), timeout=10)
    assert st.image.id == id2
    daemon.restart()
    assert tags(daemon.client) == now
