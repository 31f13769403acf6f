"""Checks of the harness itself: the test client is generated from proto/ and speaks real
gRPC, independent of mascri's code."""
import grpc
import pytest

from harness.cri_client import CRIClient, api
from harness.paths import binary


def test_stubs_cover_every_cri_rpc():
    pb = api()
    rt = pb.DESCRIPTOR.services_by_name["RuntimeService"]
    img = pb.DESCRIPTOR.services_by_name["ImageService"]
    names = {m.name for m in rt.methods} | {m.name for m in img.methods}
    for rpc in ("Version", "RunPodSandbox", "CreateContainer", "ExecSync", "GetContainerEvents",
                "PullImage", "ListImages", "ImageFsInfo"):
        assert rpc in names
    assert pb.DESCRIPTOR.package == "runtime.v1"


def test_client_reports_unavailable_without_a_server(tmp_path):
    c = CRIClient(tmp_path / "nothing.sock")
    with pytest.raises(grpc.RpcError) as e:
        c.runtime.Version(c.pb.VersionRequest(), timeout=2)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    c.close()


@pytest.mark.parametrize("name", ["mascri", "mascrid", "mascri-pause", "mascri-monitor"])
def test_binaries_are_built(name):
    assert binary(name).is_file()
