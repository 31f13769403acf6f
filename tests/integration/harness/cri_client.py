"""A CRI client independent of mascri's code: stubs are compiled from proto/api.proto with
Debian's protoc at test time and calls go through python3-grpcio, exactly as kubelet's
generated client would put them on the wire."""
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import pytest

from .paths import PROTO

_api = None


def api():
    """The api_pb2 module generated from proto/api.proto (compiled once per run)."""
    global _api
    if _api is None:
        out = Path(tempfile.mkdtemp(prefix="mascri-pb2-"))
        subprocess.run(["protoc", f"--proto_path={PROTO.parent}", f"--python_out={out}", PROTO.name],
                       check=True)
        spec = importlib.util.spec_from_file_location("api_pb2", out / "api_pb2.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["api_pb2"] = mod
        spec.loader.exec_module(mod)
        _api = mod
    return _api


class _Service:
    """Callables for every method of one service, made from its descriptor."""

    def __init__(self, channel, service):
        pb = api()
        for m in service.methods:
            proto = m.__class__  # noqa: F841 (kept for readability)
            from google.protobuf import descriptor_pb2
            mp = descriptor_pb2.MethodDescriptorProto()
            m.CopyToProto(mp)
            req = getattr(pb, m.input_type.name)
            resp = getattr(pb, m.output_type.name)
            path = f"/{service.full_name}/{m.name}"
            kind = channel.unary_stream if mp.server_streaming else channel.unary_unary
            setattr(self, m.name, kind(path, request_serializer=req.SerializeToString,
                                       response_deserializer=resp.FromString))


class CRIClient:
    """client.runtime.Version(pb.VersionRequest()), client.image.PullImage(...);
    client.pb is the generated message module."""

    def __init__(self, socket_path, max_message=16 * 1024 * 1024 + 4096):
        self.pb = api()
        self.socket_path = str(socket_path)
        opts = [("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", max_message)]
        self.channel = grpc.insecure_channel(f"unix://{self.socket_path}", options=opts)
        services = self.pb.DESCRIPTOR.services_by_name
        self.runtime = _Service(self.channel, services["RuntimeService"])
        self.image = _Service(self.channel, services["ImageService"])

    def close(self):
        self.channel.close()


def status_code(exc_info):
    """The grpc.StatusCode of a pytest.raises(grpc.RpcError) result."""
    return exc_info.value.code()


@pytest.fixture(scope="session")
def pb():
    """The generated CRI message module (runtime.v1)."""
    return api()
