"""ImageService through mascrid with a real grpcio client and the local test registry:
PullImage, ListImages (with and without a filter), ImageStatus (verbose, NOT_FOUND as an
empty answer), RemoveImage (idempotent), ImageFsInfo, errors for unknown images."""
import json

import grpc
import pytest


def spec(pb, ref):
    return pb.ImageSpec(image=ref)


def pull(cri, ref, **kw):
    pb = cri.pb
    return cri.image.PullImage(pb.PullImageRequest(image=spec(pb, ref), **kw), timeout=120)


def test_pull_list_status_remove(cri, test_images):
    pb = cri.pb
    ref = test_images["busybox"]
    want_id = test_images.images["busybox"].image_id
    r = pull(cri, ref)
    assert r.image_ref == want_id

    images = cri.image.ListImages(pb.ListImagesRequest(), timeout=30).images
    assert [i.id for i in images] == [want_id]
    img = images[0]
    assert ref in img.repo_tags
    assert any(d.startswith(ref.rsplit(":", 1)[0] + "@sha256:") for d in img.repo_digests)
    assert img.size > 0
    assert img.HasField("uid") and img.uid.value == 0
    assert not img.pinned

    st = cri.image.ImageStatus(pb.ImageStatusRequest(image=spec(pb, ref)), timeout=30)
    assert st.image.id == want_id
    assert len(st.info) == 0
    # By id too, and verbose gives the configuration.
    st = cri.image.ImageStatus(pb.ImageStatusRequest(image=spec(pb, want_id), verbose=True),
                               timeout=30)
    assert st.image.id == want_id
    info = json.loads(st.info["info"])
    assert info["id"] == want_id
    assert info["os"] == "linux"

    cri.image.RemoveImage(pb.RemoveImageRequest(image=spec(pb, ref)), timeout=30)
    assert list(cri.image.ListImages(pb.ListImagesRequest(), timeout=30).images) == []
    st = cri.image.ImageStatus(pb.ImageStatusRequest(image=spec(pb, ref)), timeout=30)
    assert not st.HasField("image")
    # Removing it again is fine (as with containerd).
    cri.image.RemoveImage(pb.RemoveImageRequest(image=spec(pb, ref)), timeout=30)


def test_list_images_filter(cri, test_images):
    pb = cri.pb
    pull(cri, test_images["busybox"])
    pull(cri, test_images["entrypoint"])
    all_ids = {i.id for i in cri.image.ListImages(pb.ListImagesRequest(), timeout=30).images}
    assert all_ids == {test_images.images["busybox"].image_id,
                       test_images.images["entrypoint"].image_id}
    flt = pb.ImageFilter(image=spec(pb, test_images["entrypoint"]))
    got = cri.image.ListImages(pb.ListImagesRequest(filter=flt), timeout=30).images
    assert [i.id for i in got] == [test_images.images["entrypoint"].image_id]
    flt = pb.ImageFilter(image=spec(pb, "127.0.0.1:1/nothing/here:latest"))
    assert list(cri.image.ListImages(pb.ListImagesRequest(filter=flt), timeout=30).images) == []


def test_image_user_fields(cri, test_images):
    pb = cri.pb
    pull(cri, test_images["user"])
    st = cri.image.ImageStatus(pb.ImageStatusRequest(image=spec(pb, test_images["user"])),
                               timeout=30)
    assert st.image.uid.value == 1000
    assert st.image.username == ""


def test_unknown_image(cri, registry):
    pb = cri.pb
    missing = registry.ref("mascri-test/does-not-exist")
    with pytest.raises(grpc.RpcError) as e:
        pull(cri, missing)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "mascri-test/does-not-exist" in e.value.details()
    st = cri.image.ImageStatus(pb.ImageStatusRequest(image=spec(pb, missing)), timeout=30)
    assert not st.HasField("image")
    cri.image.RemoveImage(pb.RemoveImageRequest(image=spec(pb, missing)), timeout=30)


def test_bad_requests(cri):
    pb = cri.pb
    with pytest.raises(grpc.RpcError) as e:
        cri.image.PullImage(pb.PullImageRequest(), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        pull(cri, "UPPER/Case::bad")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        cri.image.ImageStatus(pb.ImageStatusRequest(), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_pull_with_auth_config(cri, test_images):
    """Credentials in AuthConfig are accepted (the plain registry ignores them)."""
    pb = cri.pb
    auth = pb.AuthConfig(username="user", password="secret")
    r = pull(cri, test_images["busybox"], auth=auth)
    assert r.image_ref == test_images.images["busybox"].image_id


def test_image_fs_info(cri, test_images, daemon):
    pb = cri.pb
    before = cri.image.ImageFsInfo(pb.ImageFsInfoRequest(), timeout=30)
    assert len(before.image_filesystems) == 1
    fs = before.image_filesystems[0]
    assert fs.fs_id.mountpoint.startswith(str(daemon.root))
    assert fs.timestamp > 0
    pull(cri, test_images["layered"])
    after = cri.image.ImageFsInfo(pb.ImageFsInfoRequest(), timeout=30).image_filesystems[0]
    assert after.used_bytes.value > fs.used_bytes.value
    assert after.inodes_used.value > fs.inodes_used.value


def test_images_survive_restart(daemon, test_images):
    pb = daemon.client.pb
    pull(daemon.client, test_images["busybox"])
    daemon.restart()
    ids = [i.id for i in daemon.client.image.ListImages(pb.ListImagesRequest(), timeout=30).images]
    assert ids == [test_images.images["busybox"].image_id]


def test_pull_credentials_reach_the_registry(cri, registry_factory, registry, test_images,
                                             tmp_path):
    """A registry with Basic auth: AuthConfig's username/password (or `auth`) get the image,
    no or wrong credentials are refused."""
    import base64

    from harness.registry import make_htpasswd

    pb = cri.pb
    htpasswd = make_htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    locked = registry_factory(storage=registry.storage, htpasswd=htpasswd)
    ref = test_images["busybox"].replace(registry.host, locked.host)
    with pytest.raises(grpc.RpcError) as e:
        pull(cri, ref)
    assert e.value.code() in (grpc.StatusCode.PERMISSION_DENIED,
                              grpc.StatusCode.UNAUTHENTICATED), e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        pull(cri, ref, auth=pb.AuthConfig(username="alice", password="wrong"))
    assert e.value.code() in (grpc.StatusCode.PERMISSION_DENIED,
                              grpc.StatusCode.UNAUTHENTICATED), e.value.details()
    r = pull(cri, ref, auth=pb.AuthConfig(username="alice", password="s3cret"))
    assert r.image_ref == test_images.images["busybox"].image_id
    cri.image.RemoveImage(pb.RemoveImageRequest(image=spec(pb, ref)), timeout=30)
    token = base64.b64encode(b"alice:s3cret").decode()
    r = pull(cri, ref, auth=pb.AuthConfig(auth=token))
    assert r.image_ref == test_images.images["busybox"].image_id
