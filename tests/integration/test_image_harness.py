"""Checks of the registry harness itself, with tools independent of mascri (skopeo)."""
import json
import subprocess

from harness.images import save_docker_archive, save_oci_archive
from harness.registry import OCI_INDEX


def skopeo_inspect(ref, raw=False):
    args = ["skopeo", "inspect", "--tls-verify=false"] + (["--raw"] if raw else []) + [f"docker://{ref}"]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def test_standard_images_are_pullable(test_images):
    for name in ("busybox", "layered", "gzip", "zstd", "index", "user", "entrypoint"):
        assert name in test_images
        info = skopeo_inspect(test_images[name])
        assert info["Os"] == "linux" and info["Architecture"] == "amd64", name
    assert skopeo_inspect(test_images["index"], raw=True)["mediaType"] == OCI_INDEX
    cfg = skopeo_inspect(test_images["user"])
    assert len(cfg["Layers"]) == 2


def test_skopeo_copies_and_unpacks_layered(test_images, tmp_path):
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "-q",
                    f"docker://{test_images['layered']}", f"oci:{tmp_path}/oci:latest"], check=True)
    subprocess.run(["umoci", "raw", "unpack", "--rootless", "--image", f"{tmp_path}/oci:latest",
                    str(tmp_path / "rootfs")], check=True, capture_output=True)
    root = tmp_path / "rootfs"
    assert (root / "data/keep").read_text() == "keep\n"
    assert not (root / "data/gone").exists()
    assert not (root / "opq/old1").exists() and (root / "opq/fresh").exists()
    assert not (root / "rmdir/x").exists() and (root / "rmdir/y").exists()
    assert (root / "layer").read_text() == "4\n"
    assert (root / "bin/busybox").is_file()


def test_archives(test_images, tmp_path):
    save_docker_archive(test_images["busybox"], tmp_path / "d.tar")
    save_oci_archive(test_images["busybox"], tmp_path / "o.tar")
    assert (tmp_path / "d.tar").stat().st_size > 100000
    assert (tmp_path / "o.tar").stat().st_size > 100000


def test_extra_registries(registry, registry_factory, test_images, tmp_path):
    from harness.registry import make_ca, make_htpasswd
    ca = make_ca(tmp_path / "ca")
    tls = registry_factory(storage=registry.storage, tls=(ca["cert"], ca["key"]))
    repo_tag = test_images["busybox"].split("/", 1)[1]
    subprocess.run(["skopeo", "inspect", f"--cert-dir={tmp_path}/certs-none", "--tls-verify=true",
                    f"docker://{tls.host}/{repo_tag}"], capture_output=True)
    # Trusting the CA explicitly works
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(ca["ca"].read_bytes())
    subprocess.run(["skopeo", "inspect", f"--cert-dir={certs}", f"docker://{tls.host}/{repo_tag}"],
                   check=True, capture_output=True)
    ht = make_htpasswd(tmp_path / "htpasswd", {"alice": "secret"})
    basic = registry_factory(storage=registry.storage, htpasswd=ht)
    r = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{basic.host}/{repo_tag}"],
                       capture_output=True)
    assert r.returncode != 0
    subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds", "alice:secret",
                    f"docker://{basic.host}/{repo_tag}"], check=True, capture_output=True)
