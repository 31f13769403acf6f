"""Test images built by hand (python tarfile + hashlib, deterministic) from Debian's
static busybox, pushed to the harness registry over its HTTP API.

push_test_images(registry) -> {name: reference} with:
  busybox     plain image, one gzip layer (OCI manifest)
  gzip        same content as a Docker schema 2 image
  zstd        zstd-compressed layers (application/vnd.oci.image.layer.v1.tar+zstd)
  layered     several layers with whiteouts (.wh.NAME) and an opaque dir (.wh..wh..opq)
  index       OCI image index: linux/amd64 -> busybox, linux/arm64 -> another image
  user        config User "1000:1000" with matching /etc/passwd and /etc/group entries
  entrypoint  Entrypoint + Cmd + Env + WorkingDir set

Building blocks for other tests: Layer (hand-made tar entries, including malicious ones),
build_image(), push_image(), busybox_layer(), save_docker_archive(), save_oci_archive().
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from functools import lru_cache

from .registry import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, sha256_digest

BUSYBOX = "/bin/busybox"
MTIME = 1700000000

MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_MEDIA = {
    ("oci", "gzip"): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("oci", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("oci", "none"): "application/vnd.oci.image.layer.v1.tar",
    ("docker", "gzip"): "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ("docker", "none"): "application/vnd.docker.image.rootfs.diff.tar",
    ("docker", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
}


class Layer:
    """A layer tar made entry by entry. Paths are written exactly as given (so tests can
    add '../x', '/abs', '.wh.' and other hostile names)."""

    def __init__(self):
        self.entries = []  # (TarInfo, data or None)

    def _info(self, path, type_, mode, uid=0, gid=0, mtime=MTIME):
        ti = tarfile.TarInfo(path)
        ti.type = type_
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = mtime
        return ti

    def dir(self, path, mode=0o755, uid=0, gid=0, mtime=MTIME, xattrs=None):
        ti = self._info(path, tarfile.DIRTYPE, mode, uid, gid, mtime)
        if xattrs:
            ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
        self.entries.append((ti, None))
        return self

    def file(self, path, data=b"", mode=0o644, uid=0, gid=0, mtime=MTIME, xattrs=None):
        if isinstance(data, str):
            data = data.encode()
        ti = self._info(path, tarfile.REGTYPE, mode, uid, gid, mtime)
        ti.size = len(data)
        if xattrs:
            ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
        self.entries.append((ti, data))
        return self

    def symlink(self, path, target, uid=0, gid=0):
        ti = self._info(path, tarfile.SYMTYPE, 0o777, uid, gid)
        ti.linkname = target
        self.entries.append((ti, None))
        return self

    def hardlink(self, path, target):
        ti = self._info(path, tarfile.LNKTYPE, 0o644)
        ti.linkname = target
        self.entries.append((ti, None))
        return self

    def chardev(self, path, major, minor, mode=0o666):
        ti = self._info(path, tarfile.CHRTYPE, mode)
        ti.devmajor, ti.devminor = major, minor
        self.entries.append((ti, None))
        return self

    def fifo(self, path, mode=0o644):
        self.entries.append((self._info(path, tarfile.FIFOTYPE, mode), None))
        return self

    def whiteout(self, path):
        """Deletes path of a lower layer: an empty file named .wh.<basename>."""
        d, base = os.path.split(path.rstrip("/"))
        return self.file(os.path.join(d, ".wh." + base), b"", 0o600)

    def opaque(self, dirpath):
        """Hides everything lower layers have below dirpath."""
        return self.file(os.path.join(dirpath.rstrip("/"), ".wh..wh..opq"), b"", 0o600)

    def tar(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for ti, data in self.entries:
                t.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


def compress(data, compression):
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return subprocess.run(["zstd", "-q", "-3", "-c"], input=data, check=True,
                              capture_output=True).stdout
    if compression == "none":
        return data
    raise ValueError(compression)


@lru_cache(maxsize=None)
def busybox_layer_tar():
    """A minimal root filesystem: /bin/busybox, its applet links, /etc/passwd and
    /etc/group, /tmp, /root, /home, /var, /proc, /sys, /dev."""
    lay = Layer()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "var",
              "proc", "sys", "dev", "run", "var/tmp"):
        lay.dir(d, 0o700 if d == "root" else 0o755)
    lay.dir("tmp", 0o1777)
    with open(BUSYBOX, "rb") as f:
        lay.file("bin/busybox", f.read(), 0o755)
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    for a in sorted(set(applets)):
        if a != "bin/busybox":
            lay.symlink(a, "/bin/busybox")
    lay.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    lay.file("etc/group", "root:x:0:\nnogroup:x:65534:\n")
    lay.file("etc/hostname", "mascri-test\n")
    return lay.tar()


def busybox_layer():
    """(uncompressed tar bytes) of the busybox root filesystem."""
    return busybox_layer_tar()


class Image:
    """A built image: blobs (digest -> bytes), the manifest bytes/media type/digest, the
    config dict and digest, and the layers' diff IDs."""

    def __init__(self, blobs, manifest, media_type, config, config_digest, diff_ids, layer_digests):
        self.blobs = blobs
        self.manifest = manifest
        self.media_type = media_type
        self.digest = sha256_digest(manifest)
        self.config = config
        self.config_digest = config_digest
        self.image_id = config_digest
        self.diff_ids = diff_ids
        self.layer_digests = layer_digests


def build_image(layers, config=None, fmt="oci", compression="gzip", arch="amd64", os_="linux",
                raw_config=None, layer_media_types=None):
    """layers: list of uncompressed tar bytes (or (tar, compression) pairs).
    config: the image config's "config" member (Env, Cmd, ...). raw_config: bytes to use as
    the whole config blob instead (for malicious configs)."""
    blobs, descs, diff_ids, layer_digests = {}, [], [], []
    for i, lay in enumerate(layers):
        tar, comp = lay if isinstance(lay, tuple) else (lay, compression)
        blob = compress(tar, comp)
        d = sha256_digest(blob)
        blobs[d] = blob
        media = (layer_media_types or {}).get(i) or LAYER_MEDIA[(fmt, comp)]
        descs.append({"mediaType": media, "digest": d, "size": len(blob)})
        diff_ids.append(sha256_digest(tar))
        layer_digests.append(d)
    cfg = {
        "created": "2023-11-14T22:13:20Z",
        "architecture": arch,
        "os": os_,
        "config": config if config is not None else {"Cmd": ["/bin/sh"],
                                                      "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"mascri test layer {i}"}
                    for i in range(len(layers))],
    }
    cfg_bytes = raw_config if raw_config is not None else json.dumps(cfg, sort_keys=True).encode()
    cd = sha256_digest(cfg_bytes)
    blobs[cd] = cfg_bytes
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if fmt == "oci" else DOCKER_MANIFEST,
        "config": {"mediaType": MEDIA_OCI_CONFIG if fmt == "oci" else MEDIA_DOCKER_CONFIG,
                   "digest": cd, "size": len(cfg_bytes)},
        "layers": descs,
    }
    mbytes = json.dumps(manifest, indent=2).encode()
    return Image(blobs, mbytes, manifest["mediaType"], cfg, cd, diff_ids, layer_digests)


def push_image(registry_or_client, repo, tag, image):
    """Pushes an Image's blobs and manifest; returns the full reference host/repo:tag."""
    client = registry_or_client.client() if hasattr(registry_or_client, "client") else registry_or_client
    for d, data in image.blobs.items():
        client.push_blob(repo, data, d)
    client.push_manifest(repo, tag, image.manifest, image.media_type)
    host = client.url.split("://", 1)[1]
    return f"{host}/{repo}:{tag}"


def push_index(registry, repo, tag, entries):
    """entries: list of (Image, platform dict); pushes the images by digest and an OCI
    index over them. Returns (reference, index digest)."""
    client = registry.client()
    manifests = []
    for img, platform in entries:
        for d, data in img.blobs.items():
            client.push_blob(repo, data, d)
        client.push_manifest(repo, img.digest, img.manifest, img.media_type)
        manifests.append({"mediaType": img.media_type, "digest": img.digest,
                          "size": len(img.manifest), "platform": platform})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests},
                       indent=2).encode()
    d = client.push_manifest(repo, tag, index, OCI_INDEX)
    return f"{registry.host}/{repo}:{tag}", d


def layered_layers():
    """Four layers exercising overlay conversion: later layers delete files and dirs of
    earlier ones (whiteouts) and replace a directory's content (opaque)."""
    l1 = Layer().dir("data").file("data/keep", "keep\n").file("data/gone", "gone\n") \
        .dir("data/dir").file("data/dir/a", "a\n").file("data/dir/b", "b\n") \
        .dir("opq").file("opq/old1", "old1\n").file("opq/old2", "old2\n") \
        .dir("rmdir").file("rmdir/x", "x\n").file("layer", "1\n")
    l2 = Layer().dir("data").whiteout("data/gone").file("data/new", "new\n") \
        .dir("opq").opaque("opq").file("opq/fresh", "fresh\n").file("layer", "2\n")
    l3 = Layer().whiteout("rmdir").dir("data").dir("data/dir").whiteout("data/dir/a") \
        .file("data/hard-src", "linked\n").hardlink("data/hard-dst", "data/hard-src") \
        .symlink("data/link", "keep").file("data/suid", "#!/bin/sh\n", mode=0o4755) \
        .file("data/owned", "owned\n", uid=1234, gid=5678).file("layer", "3\n")
    l4 = Layer().dir("rmdir").file("rmdir/y", "y\n").file("layer", "4\n")
    return [l1.tar(), l2.tar(), l3.tar(), l4.tar()]


def _standard_images():
    bb = busybox_layer()
    env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
    users = Layer().dir("etc") \
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
              "app:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n") \
        .file("etc/group", "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n") \
        .dir("home").dir("home/app", uid=1000, gid=1000).tar()
    entry = Layer().dir("work").file("work/hello.txt", "hello from the image\n").tar()
    other = Layer().file("platform", "arm64\n").tar()
    return {
        "busybox": build_image([bb]),
        "gzip": build_image([bb], fmt="docker"),
        "zstd": build_image([bb, Layer().file("zstd-marker", "zstd\n").tar()], compression="zstd"),
        "layered": build_image([bb] + layered_layers()),
        "user": build_image([bb, users], config={"User": "1000:1000", "Env": env, "Cmd": ["id"]}),
        "entrypoint": build_image([bb, entry], config={
            "Entrypoint": ["/bin/echo", "entry"], "Cmd": ["cmd-arg"],
            "Env": env + ["GREETING=hello", "EMPTY="], "WorkingDir": "/work",
            "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}},
            "Labels": {"org.example.test": "yes"}, "StopSignal": "SIGINT"}),
        "arm64": build_image([bb, other], arch="arm64"),
    }


def push_test_images(registry):
    imgs = _standard_images()
    refs = {}
    for name, img in imgs.items():
        if name == "arm64":
            continue
        repo = "mascri-test/busybox" if name == "busybox" else f"mascri-test/{name}"
        refs[name] = push_image(registry, repo, "latest", img)
    refs["index"], _ = push_index(registry, "mascri-test/index", "latest", [
        (imgs["busybox"], {"os": "linux", "architecture": "amd64"}),
        (imgs["arm64"], {"os": "linux", "architecture": "arm64", "variant": "v8"}),
    ])
    return ImageRefs(refs, imgs)


class ImageRefs(dict):
    """The dict of references, plus .images (name -> Image) for digests and diff IDs."""

    def __init__(self, refs, images):
        super().__init__(refs)
        self.images = images


def save_docker_archive(ref, path, extra_tags=()):
    """Writes a `docker save`-style tarball of ref (on a plain-HTTP registry) with skopeo."""
    dest = f"docker-archive:{path}:{ref.split('/', 1)[1]}"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "-q", f"docker://{ref}", dest],
                   check=True, capture_output=True)
    return path


def save_oci_archive(ref, path, tag="latest"):
    """Writes an OCI image-layout tarball of ref with skopeo (tagged `tag`)."""
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "-q", f"docker://{ref}",
                    f"oci-archive:{path}:{tag}"], check=True, capture_output=True)
    return path
