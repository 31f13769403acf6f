"""`mascri image` against the harness registry: pulls (plain HTTP, TLS, Basic and token
auth, mirrors, zstd, indexes), the overlay view of layered images, refusal of tampered and
hostile content, crash safety, concurrency, and tag/remove semantics."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness.images import Layer, build_image, busybox_layer, push_image
from harness.paths import binary
from harness.registry import TokenServer, make_ca, make_htpasswd


def _mounts_under(prefix):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp.startswith(str(prefix) + "/"):
                out.append(mp)
    return sorted(out, key=len, reverse=True)


class Store:
    """A temporary mascri image store driven through the CLI."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="mascri-img-"))

    def run(self, *args, check=True, **kw):
        cmd = [str(binary("mascri")), "image", "--root", str(self.root)] + [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, text=True, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def pull(self, ref, *opts, check=True):
        r = self.run("pull", *opts, ref, check=check)
        return r.stdout.strip().splitlines()[-1] if r.returncode == 0 else r

    def inspect(self, name):
        return json.loads(self.run("inspect", name).stdout)[0]

    def ids(self):
        return self.run("ls", "-q").stdout.split()

    def layers(self):
        return sorted(os.listdir(self.root / "layers"))

    def tmp_entries(self):
        return os.listdir(self.root / "tmp")

    def cleanup(self):
        for mp in _mounts_under(self.root):
            subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def store():
    s = Store()
    yield s
    s.cleanup()


def repo_of(ref):
    return ref.split("/", 1)[1].rsplit(":", 1)[0]


def test_pull_standard_images(store, test_images):
    bb = store.pull(test_images["busybox"])
    assert bb == test_images.images["busybox"].image_id
    info = store.inspect(test_images["busybox"])
    assert info["repoTags"] == [test_images["busybox"]]
    assert info["repoDigests"][0].endswith("@" + test_images.images["busybox"].digest)
    assert info["size"] > 1_000_000
    # Docker schema 2 with the same config: same image, one more tag
    assert store.pull(test_images["gzip"]) == bb
    # the index resolves to the amd64 entry, which is the busybox image
    assert store.pull(test_images["index"]) == bb
    assert store.pull(test_images["index"], "--platform", "linux/arm64") != bb
    r = store.pull(test_images["index"], "--platform", "linux/s390x", check=False)
    assert r.returncode != 0 and "no image for platform linux/s390x" in r.stderr
    z = store.pull(test_images["zstd"])
    assert z == test_images.images["zstd"].image_id
    assert len(store.inspect(z)["layers"]) == 2
    user = store.inspect(store.pull(test_images["user"]))
    assert user["user"] == "1000:1000"
    ep = store.inspect(store.pull(test_images["entrypoint"]))
    assert ep["entrypoint"] == ["/bin/echo", "entry"] and ep["cmd"] == ["cmd-arg"]
    assert "GREETING=hello" in ep["env"] and ep["workingDir"] == "/work"
    assert ep["exposedPorts"] == ["8080/tcp"] and ep["volumes"] == ["/data"]
    assert ep["labels"] == ["org.example.test=yes"] and ep["stopSignal"] == "SIGINT"
    # lookups by id, short id, digest
    assert store.inspect(bb[7:19])["id"] == bb
    assert store.inspect(bb)["id"] == bb
    assert store.inspect(info["repoDigests"][0])["id"] == bb
    assert store.tmp_entries() == []
    path, used, inodes = store.run("fsinfo").stdout.split()
    assert path == str(store.root / "layers") and int(used) > 1_900_000 and int(inodes) > 280


def test_zstd_only_image_unpacks(store, registry):
    marker = Layer().file("only-zstd", "z\n").tar()
    img = build_image([busybox_layer(), marker], compression="zstd")
    ref = push_image(registry, "mascri-test/zstd-only", "v1", img)
    assert store.pull(ref) == img.image_id
    store.run("rootfs", "create", "z1", ref)
    mp = Path(store.run("rootfs", "mount", "z1").stdout.strip())
    try:
        assert (mp / "only-zstd").read_text() == "z\n"
        assert os.access(mp / "bin/busybox", os.X_OK)
    finally:
        store.run("rootfs", "rm", "z1")


def test_layered_image_as_overlay_sees_it(store, test_images):
    ref = test_images["layered"]
    store.pull(ref)
    store.run("rootfs", "create", "ctr1", ref)
    mp = Path(store.run("rootfs", "mount", "ctr1").stdout.strip())
    try:
        assert (mp / "data/keep").read_text() == "keep\n"
        assert not (mp / "data/gone").exists()          # whiteout
        assert (mp / "data/new").read_text() == "new\n"
        assert sorted(os.listdir(mp / "opq")) == ["fresh"]  # opaque dir
        assert sorted(os.listdir(mp / "rmdir")) == ["y"]    # whited-out dir made again
        assert sorted(os.listdir(mp / "data/dir")) == ["b"]
        assert (mp / "layer").read_text() == "4\n"
        st = os.stat(mp / "data/suid")
        assert st.st_mode & 0o7777 == 0o4755
        assert (st.st_uid, st.st_gid) == (0, 0)
        st = os.stat(mp / "data/owned")
        assert (st.st_uid, st.st_gid) == (1234, 5678)
        assert os.stat(mp / "data/hard-src").st_ino == os.stat(mp / "data/hard-dst").st_ino
        assert os.readlink(mp / "data/link") == "keep"
        assert os.stat(mp / "data/keep").st_mtime == 1700000000
        # writes go to the container's upper dir, never into shared layers
        (mp / "data/keep").write_text("changed\n")
        assert (store.root / "rootfs/ctr1/upper/data/keep").read_text() == "changed\n"
        # an image in use is not removed, its layers stay
        r = store.run("rm", ref, check=False)
        assert r.returncode != 0 and "in use" in r.stderr
        store.run("rm", "-f", ref)
        assert (mp / "data/new").exists()
        assert len(store.layers()) == 5
        store.run("rootfs", "umount", "ctr1")
        assert str(mp) not in _mounts_under(store.root)
    finally:
        store.run("rootfs", "rm", "ctr1")
    assert store.layers() == []            # the last user went: layers collected
    assert os.listdir(store.root / "l") == []


def test_tls_registry_with_ca(store, registry, registry_factory, test_images, tmp_path):
    ca = make_ca(tmp_path / "ca")
    tls = registry_factory(storage=registry.storage, tls=(ca["cert"], ca["key"]))
    ref = f"{tls.host}/{repo_of(test_images['busybox'])}:latest"
    # 127.0.0.1 is plain HTTP by default: a TLS registry on loopback needs --ca-file
    r = store.run("pull", "--ca-file", f"{tls.host}=/nonexistent", ref, check=False)
    assert r.returncode != 0
    bad_ca = make_ca(tmp_path / "other")
    r = store.run("pull", "--ca-file", f"{tls.host}={bad_ca['ca']}", ref, check=False)
    assert r.returncode != 0 and "certificate" in r.stderr.lower()
    assert store.pull(ref, "--ca-file", f"{tls.host}={ca['ca']}") == test_images.images["busybox"].image_id
    # configured insecure: HTTPS without verification first, then plain HTTP
    store.run("rm", ref)
    assert store.pull(ref, "--insecure-registry", tls.host)
    plain = test_images["busybox"]
    assert store.pull(plain, "--insecure-registry", plain.split("/")[0])


def test_basic_auth(store, registry, registry_factory, test_images, tmp_path):
    ht = make_htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    basic = registry_factory(storage=registry.storage, htpasswd=ht)
    ref = f"{basic.host}/{repo_of(test_images['busybox'])}:latest"
    r = store.pull(ref, check=False)
    assert r.returncode != 0 and "authentication required" in r.stderr
    r = store.pull(ref, "--creds", "alice:wrong", check=False)
    assert r.returncode != 0 and "denied" in r.stderr
    assert store.pull(ref, "--creds", "alice:s3cret") == test_images.images["busybox"].image_id
    # credentials from a Docker config.json
    cfg = tmp_path / "config.json"
    import base64
    cfg.write_text(json.dumps({"auths": {basic.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}))
    store.run("rm", ref)
    assert store.pull(ref, "--docker-config", cfg)


def test_token_auth(store, registry, registry_factory, test_images, tmp_path):
    ts = TokenServer(tmp_path / "token", {"bob": "hunter2"}, refresh_tokens={"rt-123": "bob"})
    try:
        reg = registry_factory(storage=registry.storage, token=ts.registry_config())
        ref = f"{reg.host}/{repo_of(test_images['layered'])}:latest"
        r = store.pull(ref, check=False)
        assert r.returncode != 0 and "denied" in r.stderr       # anonymous: no access
        r = store.pull(ref, "--creds", "bob:nope", check=False)
        assert r.returncode != 0 and "refused" in r.stderr
        n = len(ts.requests)
        assert store.pull(ref, "--creds", "bob:hunter2") == test_images.images["layered"].image_id
        # one token for the manifest, config and all five layers (cached per scope)
        assert len(ts.requests) - n == 1
        assert ts.requests[-1]["params"]["scope"] == f"repository:{repo_of(ref)}:pull"
        assert ts.requests[-1]["params"]["service"] == "mascri-registry"
        # an identity (refresh) token, as CRI's AuthConfig.identity_token carries it
        store.run("rm", ref)
        assert store.pull(ref, "--identity-token", "rt-123")
        assert ts.requests[-1]["params"]["grant_type"] == "refresh_token"
        r = store.pull(ref.replace(":latest", ":nope"), "--identity-token", "wrong", check=False)
        assert r.returncode != 0 and "refused" in r.stderr
        # a registry token used as is
        tok = ts.make_token("bob", [{"type": "repository", "name": repo_of(ref), "actions": ["pull"]}])
        store.run("rm", ref)
        n = len(ts.requests)
        assert store.pull(ref, "--registry-token", tok)
        assert len(ts.requests) == n
    finally:
        ts.stop()


def test_mirror_in_order_with_fallback(store, registry, test_images):
    repo = repo_of(test_images["busybox"])
    upstream = f"upstream.invalid/{repo}:latest"
    dead = "127.0.0.1:1"
    id_ = store.pull(upstream, "--mirror", f"upstream.invalid={dead}",
                     "--mirror", f"upstream.invalid={registry.host}")
    assert id_ == test_images.images["busybox"].image_id
    info = store.inspect(upstream)
    assert info["repoTags"] == [upstream]
    # a mirror without the image falls back to the next, then to the upstream (unreachable)
    r = store.pull(f"upstream.invalid/mascri-test/absent:latest", "--mirror",
                   f"upstream.invalid={registry.host}", check=False)
    assert r.returncode != 0


def test_tampered_blob_refused(store, registry):
    lay = Layer().file("payload", os.urandom(64 * 1024)).tar()
    img = build_image([busybox_layer(), lay])
    ref = push_image(registry, "mascri-test/tampered", "v1", img)
    original = registry.tamper_blob(img.layer_digests[1])
    try:
        r = store.pull(ref, check=False)
        assert r.returncode != 0 and "digest mismatch" in r.stderr
        assert store.ids() == []
        assert store.tmp_entries() == []
        assert len(store.layers()) == 1   # the good busybox layer may stay; no bad one
        # a tampered config is refused too
        registry.tamper_blob(img.layer_digests[1], original)
        registry.tamper_blob(img.config_digest)
        r = store.pull(ref, check=False)
        assert r.returncode != 0 and "digest mismatch" in r.stderr
        assert store.ids() == []
    finally:
        registry.blob_path(img.layer_digests[1]).write_bytes(original)


def test_lying_diff_id_refused(store, registry):
    """A config whose diff ID does not match the layer content must not poison the
    store's layer (keyed by that diff ID) for other images."""
    real = Layer().file("a", "real\n").tar()
    fake = Layer().file("a", "evil\n").tar()
    img = build_image([fake])
    cfg = json.loads(img.blobs[img.config_digest])
    from harness.registry import sha256_digest
    cfg["rootfs"]["diff_ids"] = [sha256_digest(real)]
    raw = json.dumps(cfg).encode()
    img2 = build_image([fake], raw_config=raw)
    ref = push_image(registry, "mascri-test/liar", "v1", img2)
    r = store.pull(ref, check=False)
    assert r.returncode != 0 and "diff ID" in r.stderr
    assert store.layers() == [] and store.tmp_entries() == []


MALICIOUS = {
    "dotdot": lambda: Layer().file("a/../../escaped", "x"),
    "absolute": lambda: Layer().file("/tmp/mascri-escaped", "x"),
    "symlink-parent": lambda: Layer().symlink("up", "/tmp").file("up/mascri-escaped", "x"),
    "symlink-parent-rel": lambda: Layer().symlink("up", "../../../../../../tmp").file("up/mascri-escaped", "x"),
    "hardlink-out": lambda: Layer().hardlink("pw", "../../../../../../etc/passwd"),
    "hardlink-abs": lambda: Layer().hardlink("pw", "/etc/passwd"),
    "hardlink-via-symlink": lambda: Layer().symlink("e", "/etc").hardlink("pw", "e/passwd"),
    "bare-whiteout": lambda: Layer().dir("d").file("d/.wh.", ""),
    "whiteout-dotdot": lambda: Layer().file(".wh...", ""),
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_malicious_layer_refused(store, registry, name):
    passwd = Path("/etc/passwd").read_bytes()
    lay = MALICIOUS[name]().file("zz-after", "after\n").tar()
    img = build_image([lay])
    ref = push_image(registry, f"mascri-test/evil-{name}", "v1", img)
    r = store.pull(ref, check=False)
    assert r.returncode != 0, r.stdout
    assert "layer" in r.stderr
    assert store.ids() == [] and store.layers() == [] and store.tmp_entries() == []
    assert not Path("/tmp/mascri-escaped").exists()
    assert not (store.root.parent / "escaped").exists()
    assert Path("/etc/passwd").read_bytes() == passwd


def test_malicious_config_volume_refused(store, registry):
    img = build_image([busybox_layer()], config={"Volumes": {"/data/../../../etc": {}}})
    ref = push_image(registry, "mascri-test/evil-volume", "v1", img)
    r = store.pull(ref, check=False)
    assert r.returncode != 0 and "volume" in r.stderr
    assert store.ids() == []


def test_schema1_refused(store):
    """docker-registry 2.8 no longer stores schema 1, so a tiny server answers with one."""
    import http.server
    import threading
    body = json.dumps({"schemaVersion": 1, "name": "old/app", "tag": "v1", "architecture": "amd64",
                       "fsLayers": [], "history": [], "signatures": []}).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = store.pull(f"127.0.0.1:{srv.server_address[1]}/old/app:v1", check=False)
        assert r.returncode != 0 and "schema 1" in r.stderr and "not supported" in r.stderr
    finally:
        srv.shutdown()
        srv.server_close()


class SlowProxy:
    """Forwards to the registry, sending big blob bodies slowly (so a pull can be killed in
    the middle of a layer); with cut_after, the first big blob answer is cut after that many
    bytes, and Range requests are honoured (206) so a client can resume."""

    def __init__(self, upstream, chunk=16384, delay=0.02, cut_after=None, honour_range=True):
        import http.server
        import threading
        import urllib.request
        proxy = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                req = urllib.request.Request(f"http://{upstream}{self.path}",
                                             headers={k: v for k, v in self.headers.items()
                                                      if k.lower() in ("accept", "authorization")})
                try:
                    resp = urllib.request.urlopen(req)
                except urllib.error.HTTPError as e:
                    resp = e
                data = resp.read()
                code = resp.status if hasattr(resp, "status") else resp.code
                big = "/blobs/" in self.path and len(data) > 1_000_000
                rng = self.headers.get("Range")
                start = 0
                if big and rng and honour_range and code == 200:
                    proxy.ranges.append(rng)
                    start = int(rng.split("=")[1].split("-")[0])
                    code = 206
                self.send_response(code)
                for k in ("Content-Type", "Docker-Content-Digest"):
                    if resp.headers.get(k):
                        self.send_header(k, resp.headers[k])
                if code == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                cut = None
                if big and proxy.cut_after is not None and not proxy.cut_done:
                    proxy.cut_done = True
                    cut = proxy.cut_after
                try:
                    for i in range(0, len(body), chunk):
                        if cut is not None and i >= cut:
                            self.close_connection = True
                            self.connection.shutdown(2)
                            return
                        self.wfile.write(body[i:i + chunk])
                        if big:
                            proxy.sent += chunk
                            time.sleep(delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.sent = 0
        self.ranges = []
        self.cut_after = cut_after
        self.cut_done = False
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("honour_range", [True, False])
def test_cut_transfer_resumes(store, registry, honour_range):
    big = Layer().file("big", os.urandom(2 * 1024 * 1024)).tar()
    img = build_image([busybox_layer(), big])
    push_image(registry, "mascri-test/resume", "v1", img)
    proxy = SlowProxy(registry.host, delay=0, cut_after=256 * 1024, honour_range=honour_range)
    try:
        r = store.run("pull", f"{proxy.host}/mascri-test/resume:v1")
        assert r.stdout.strip().splitlines()[-1] == img.image_id
        assert "resuming at byte" in r.stderr
        if honour_range:
            assert proxy.ranges and proxy.ranges[0].startswith("bytes=") and proxy.ranges[0] != "bytes=0-"
        assert store.tmp_entries() == []
    finally:
        proxy.stop()


def test_pull_killed_half_way_then_retried(store, registry):
    big = Layer().file("big", os.urandom(3 * 1024 * 1024)).tar()
    img = build_image([busybox_layer(), big], compression="none")
    push_image(registry, "mascri-test/big", "v1", img)
    proxy = SlowProxy(registry.host)
    try:
        ref = f"{proxy.host}/mascri-test/big:v1"
        cmd = [str(binary("mascri")), "image", "--root", str(store.root), "pull", ref]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while proxy.sent < 512 * 1024 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        assert p.poll() is None, "the pull finished before it could be killed"
        p.send_signal(signal.SIGKILL)
        p.communicate()
        assert store.tmp_entries() != []        # a partial layer was being written
        # the next start cleans temporary state; no half image is visible
        assert store.ids() == []
        assert store.tmp_entries() == []
        assert store.pull(ref) == img.image_id
        assert len(store.layers()) == 2
    finally:
        proxy.stop()


def test_store_check_at_open_repairs_without_wiping(store, test_images):
    bb = store.pull(test_images["busybox"])
    lay = store.pull(test_images["user"])
    # a dangling short link and a half-made tmp entry, as a crash would leave them
    os.symlink("../layers/0000/diff", store.root / "l/DANGLING")
    (store.root / "tmp/layer-crashed/diff").mkdir(parents=True)
    # a layer of the user image lost (e.g. disk trouble): that image is hidden, not wiped
    user_layers = store.inspect(lay)["layers"]
    victim = user_layers[-1].split(":")[1]
    os.rename(store.root / "layers" / victim, store.root / "lost-layer")
    ids = store.ids()
    assert bb in ids and lay not in ids
    assert not (store.root / "l/DANGLING").is_symlink()
    assert store.tmp_entries() == []
    assert (store.root / "images" / (lay.split(":")[1] + ".json")).exists()
    # putting the layer back makes the image visible again
    os.rename(store.root / "lost-layer", store.root / "layers" / victim)
    assert lay in store.ids()
    # a lost short link is restored and the image still mounts
    link = (store.root / "layers" / victim / "link").read_text()
    os.unlink(store.root / "l" / link)
    store.run("rootfs", "create", "chk", lay)
    try:
        mp = Path(store.run("rootfs", "mount", "chk").stdout.strip())
        assert (mp / "bin/busybox").exists()
    finally:
        store.run("rootfs", "rm", "chk")


def test_concurrent_pulls_share_layers(store, test_images):
    refs = [test_images[n] for n in ("busybox", "user", "entrypoint", "layered", "zstd")]
    procs = [subprocess.Popen([str(binary("mascri")), "image", "--root", str(store.root), "pull",
                               "-q", r], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in refs]
    outs = [p.communicate() for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    assert len(store.ids()) == 5
    # busybox base + user + entrypoint + 4 layered + zstd marker
    assert len(store.layers()) == 8
    assert len(os.listdir(store.root / "l")) == 8
    assert store.tmp_entries() == []


def test_tags_and_removal(store, test_images):
    bb = store.pull(test_images["busybox"])
    store.run("tag", bb, "example.com/other:v2")
    store.run("tag", bb, "short")
    info = store.inspect(bb)
    assert set(info["repoTags"]) == {test_images["busybox"], "example.com/other:v2",
                                     "docker.io/library/short:latest"}
    assert store.inspect("short")["id"] == bb
    # removing one tag keeps the image
    store.run("rm", "example.com/other:v2")
    assert bb in store.ids()
    r = store.run("inspect", "example.com/other:v2", check=False)
    assert r.returncode != 0 and "not found" in r.stderr
    # moving a tag to another image takes it from the first
    u = store.pull(test_images["user"])
    store.run("tag", u, "short")
    assert store.inspect("short")["id"] == u
    assert "docker.io/library/short:latest" not in store.inspect(bb)["repoTags"]
    # removal by id removes all tags, layers it alone used are collected
    n = len(store.layers())
    store.run("rm", u)
    assert u not in store.ids() and len(store.layers()) == n - 1
    # by digest
    digest_ref = store.inspect(bb)["repoDigests"][0]
    store.run("rm", digest_ref)
    assert store.ids() == [] and store.layers() == []
    r = store.run("rm", "nothing:here", check=False)
    assert r.returncode != 0 and "not found" in r.stderr
    r = store.pull("Not/Valid", check=False)
    assert r.returncode != 0 and "invalid image reference" in r.stderr


def test_prune_removes_untagged(store, test_images):
    u = store.pull(test_images["user"])
    store.run("rm", test_images["user"])
    assert store.layers() == []
    bb = store.pull(test_images["busybox"])
    store.run("tag", bb, "keep:me")
    store.run("rm", test_images["busybox"])
    store.run("prune")
    assert store.ids() == [bb]


def test_import_skopeo_docker_archive(store, test_images, tmp_path):
    from harness.images import save_docker_archive
    path = save_docker_archive(test_images["layered"], tmp_path / "layered.tar")
    ids = store.run("import", path).stdout.split()
    assert ids == [test_images.images["layered"].image_id]
    info = store.inspect(ids[0])
    assert info["repoTags"] == ["docker.io/mascri-test/layered:latest"]
    store.run("rootfs", "create", "imp1", ids[0])
    mp = Path(store.run("rootfs", "mount", "imp1").stdout.strip())
    try:
        assert not (mp / "data/gone").exists() and sorted(os.listdir(mp / "opq")) == ["fresh"]
    finally:
        store.run("rootfs", "rm", "imp1")
    assert store.tmp_entries() == []


def test_import_oci_archive_from_stdin(store, test_images, tmp_path):
    from harness.images import save_oci_archive
    path = save_oci_archive(test_images["user"], tmp_path / "user.tar", tag="example.com/team/user:v1")
    with open(path, "rb") as f:
        ids = store.run("import", "-", stdin=f).stdout.split()
    assert ids == [test_images.images["user"].image_id]
    info = store.inspect("example.com/team/user:v1")
    assert info["user"] == "1000:1000"
    assert info["repoDigests"][0].startswith("example.com/team/user@sha256:")
    # a bare tag gets a local name
    path2 = save_oci_archive(test_images["busybox"], tmp_path / "bb.tar", tag="v7")
    store.run("import", path2)
    assert store.inspect("localhost/imported:v7")["id"] == test_images.images["busybox"].image_id


def test_import_refuses_garbage_and_hostile_archives(store, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(10000))
    r = store.run("import", junk, check=False)
    assert r.returncode != 0
    evil = tmp_path / "evil.tar"
    evil.write_bytes(Layer().file("../../evil-import", "x").tar())
    r = store.run("import", evil, check=False)
    assert r.returncode != 0 and "\"..\"" in r.stderr
    assert not (store.root.parent / "evil-import").exists()
    assert store.ids() == [] and store.tmp_entries() == []


def test_save_round_trips_through_skopeo_and_umoci(store, test_images, tmp_path):
    store.pull(test_images["layered"])
    store.run("tag", test_images["layered"], "example.com/saved:v1")
    out = tmp_path / "saved.tar"
    store.run("save", "-o", out, "example.com/saved:v1")
    # an independent reader: skopeo converts it, umoci unpacks it, whiteouts applied
    subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{out}", f"oci:{tmp_path}/oci:v1"],
                   check=True, capture_output=True)
    subprocess.run(["umoci", "raw", "unpack", "--image", f"{tmp_path}/oci:v1", str(tmp_path / "rootfs")],
                   check=True, capture_output=True)
    root = tmp_path / "rootfs"
    assert (root / "data/keep").read_text() == "keep\n"
    assert not (root / "data/gone").exists()
    assert sorted(os.listdir(root / "opq")) == ["fresh"]
    assert sorted(os.listdir(root / "rmdir")) == ["y"]
    assert os.stat(root / "data/suid").st_mode & 0o7777 == 0o4755
    # and mascri imports its own archives
    other = Store()
    try:
        ids = other.run("import", out).stdout.split()
        assert other.inspect("example.com/saved:v1")["id"] == ids[0]
    finally:
        other.cleanup()


def test_user_resolution_never_reads_host_files(store, registry, test_images):
    # the "user" image: names and ids from its own /etc/passwd and /etc/group
    store.pull(test_images["user"])
    store.run("rootfs", "create", "u1", test_images["user"])
    store.run("rootfs", "mount", "u1")
    try:
        assert store.run("rootfs", "user", "u1", "app").stdout.split() == ["1000", "1000"]
        assert store.run("rootfs", "user", "u1", "1000:1000").stdout.split() == ["1000", "1000"]
        r = store.run("rootfs", "user", "u1", "root", check=False)
        assert r.returncode == 0
    finally:
        store.run("rootfs", "rm", "u1")
    # an image whose /etc/passwd and /etc/group point at host files (CVE-2024-9676 class)
    host_pw = Path(tempfile.mkdtemp(prefix="mascri-hostpw-")) / "passwd"
    host_pw.write_text("hostonly:x:4242:4242::/:/bin/sh\n")
    evil = Layer().dir("etc").symlink("etc/passwd", str(host_pw)) \
        .symlink("etc/group", "/proc/self/root" + str(host_pw)).tar()
    img = build_image([busybox_layer(), evil], config={"User": "hostonly"})
    ref = push_image(registry, "mascri-test/evil-passwd", "v1", img)
    store.pull(ref)
    store.run("rootfs", "create", "u2", ref)
    store.run("rootfs", "mount", "u2")
    try:
        # the link resolves inside the container root, where it leads nowhere
        r = store.run("rootfs", "user", "u2", "hostonly", check=False)
        assert r.returncode != 0 and "not found" in r.stderr
        # the magic link through /proc is never followed to the host either
        r = store.run("rootfs", "user", "u2", "0:hostonly", check=False)
        assert r.returncode != 0 and "4242" not in r.stdout
    finally:
        store.run("rootfs", "rm", "u2")
        shutil.rmtree(host_pw.parent)


def test_threads_pulling_shared_layers_download_them_once(store, registry):
    base = Layer().file("shared", os.urandom(2 * 1024 * 1024)).tar()
    refs, imgs = [], []
    for i in range(4):
        img = build_image([busybox_layer(), base, Layer().file(f"own{i}", str(i)).tar()])
        refs.append(push_image(registry, f"mascri-test/shared{i}", "v1", img))
        imgs.append(img)
    out = store.run("pull", *refs).stdout.splitlines()
    assert out[-4:] == [img.image_id for img in imgs]
    shared = imgs[0].layer_digests[1].split(":")[1][:12]
    lines = [l for l in out if l.startswith(shared + ":")]
    assert sum("done" in l for l in lines) == 1, lines
    assert sum("already present" in l for l in lines) == 3, lines
    assert len(store.layers()) == 6


def test_registries_config_file(store, registry, registry_factory, test_images, tmp_path):
    ht = make_htpasswd(tmp_path / "htpasswd", {"carol": "pw"})
    basic = registry_factory(storage=registry.storage, htpasswd=ht)
    repo = repo_of(test_images["busybox"])
    cfg = tmp_path / "registries.json"
    cfg.write_text(json.dumps({"registries": {
        "mirrored.invalid": {"mirrors": ["127.0.0.1:1", f"http://{basic.host}"]},
        basic.host: {"username": "carol", "password": "pw"},
    }, "max_parallel": 2}))
    assert store.pull(f"mirrored.invalid/{repo}:latest", "--registries-config", cfg) == \
        test_images.images["busybox"].image_id
    assert store.pull(f"{basic.host}/{repo}:latest", "--registries-config", cfg)
    cfg.write_text('{"registries": {"x": {"mirrors": "not-a-list"}}}')
    r = store.run("ls", "--registries-config", cfg, check=False)
    assert r.returncode != 0 and "mirrors" in r.stderr


def test_pull_by_digest_through_a_mirror(store, registry, test_images, tmp_path):
    """What critest's digest spec does, with the digest of an image this registry holds."""
    repo = repo_of(test_images["busybox"])
    digest = test_images.images["busybox"].digest
    cfg = tmp_path / "registries.json"
    cfg.write_text(json.dumps({"registries": {
        "pinned.invalid": {"mirrors": ["127.0.0.1:1", f"http://{registry.host}"]}}}))
    ref = f"pinned.invalid/{repo}@{digest}"
    assert store.pull(ref, "--registries-config", cfg) == \
        test_images.images["busybox"].image_id
    assert store.inspect(ref)["repoDigests"] == [ref]
    # a digest the mirror does not have is an error, not another image
    other = "sha256:" + "0" * 64
    r = store.pull(f"pinned.invalid/{repo}@{other}", "--registries-config", cfg, check=False)
    assert not isinstance(r, str) and r.returncode != 0, r


def test_many_layers_mount(store, registry):
    """More lowerdirs than fit a page of mount options with long paths."""
    layers = [busybox_layer()] + [Layer().file(f"f{i:03d}", f"{i}\n").tar() for i in range(140)]
    img = build_image(layers, compression="none")
    ref = push_image(registry, "mascri-test/many-layers", "v1", img)
    store.pull(ref)
    store.run("rootfs", "create", "many", ref)
    mp = Path(store.run("rootfs", "mount", "many").stdout.strip())
    try:
        assert (mp / "f000").read_text() == "0\n" and (mp / "f139").read_text() == "139\n"
        assert len([n for n in os.listdir(mp) if n.startswith("f")]) == 140
    finally:
        store.run("rootfs", "rm", "many")


def test_interrupted_pull_cleans_up(store, registry):
    """SIGINT (the CLI's cancel; the daemon cancels through the same flag on deadlines)
    stops a pull at once and leaves nothing behind, without waiting for the next start."""
    big = Layer().file("big", os.urandom(3 * 1024 * 1024)).tar()
    img = build_image([busybox_layer(), big], compression="none")
    push_image(registry, "mascri-test/big-int", "v1", img)
    proxy = SlowProxy(registry.host, delay=0.05)
    try:
        ref = f"{proxy.host}/mascri-test/big-int:v1"
        cmd = [str(binary("mascri")), "image", "--root", str(store.root), "pull", ref]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while proxy.sent < 256 * 1024 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        assert p.poll() is None
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 128 + signal.SIGINT
        assert "cancelled" in err
        assert os.listdir(store.root / "tmp") == []
        assert not (store.root / "images").exists() or os.listdir(store.root / "images") == []
    finally:
        proxy.stop()


def test_import_docker25_oci_flavoured_save(store, test_images, tmp_path):
    """Docker 25+ `docker save`: an OCI layout plus manifest.json pointing into blobs/."""
    import io
    import tarfile
    from harness.images import save_oci_archive
    oci = save_oci_archive(test_images["entrypoint"], tmp_path / "oci.tar", tag="latest")
    with tarfile.open(oci) as t:
        members = {m.name: t.extractfile(m).read() if m.isfile() else None for m in t.getmembers()}
    index = json.loads(members["index.json"])
    manifest = json.loads(members["blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]])
    docker_manifest = [{
        "Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1],
        "RepoTags": ["example.org/ep:25"],
        "Layers": ["blobs/sha256/" + l["digest"].split(":")[1] for l in manifest["layers"]],
    }]
    out = tmp_path / "docker25.tar"
    with tarfile.open(out, "w") as t:
        for name, data in list(members.items()) + [("manifest.json", json.dumps(docker_manifest).encode())]:
            if data is None:
                continue
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    ids = store.run("import", out).stdout.split()
    assert ids == [test_images.images["entrypoint"].image_id]
    assert store.inspect("example.org/ep:25")["entrypoint"] == ["/bin/echo", "entry"]


def test_gc_in_another_process_spares_layers_of_a_running_pull(store, registry):
    x = build_image([busybox_layer(), Layer().file("x", "x\n").tar()])
    ref_x = push_image(registry, "mascri-test/gc-x", "v1", x)
    big = Layer().file("big", os.urandom(3 * 1024 * 1024)).tar()
    y = build_image([busybox_layer(), big], compression="none")
    push_image(registry, "mascri-test/gc-y", "v1", y)
    store.pull(ref_x)
    proxy = SlowProxy(registry.host, delay=0.03)
    try:
        ref_y = f"{proxy.host}/mascri-test/gc-y:v1"
        p = subprocess.Popen([str(binary("mascri")), "image", "--root", str(store.root), "pull",
                              "-q", ref_y], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while proxy.sent < 256 * 1024 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        assert p.poll() is None
        # the only record naming the busybox layer goes while the pull relies on that layer
        store.run("rm", ref_x)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    finally:
        proxy.stop()
    store.run("rootfs", "create", "gcy", ref_y)
    try:
        mp = Path(store.run("rootfs", "mount", "gcy").stdout.strip())
        assert (mp / "bin/busybox").is_file() and (mp / "big").stat().st_size == 3 * 1024 * 1024
    finally:
        store.run("rootfs", "rm", "gcy")
    # the layer only x used is collected by the next GC
    store.run("prune")
    assert len(store.layers()) == 2


def test_blob_redirects_do_not_leak_credentials(store, registry, test_images):
    """Registries often redirect blob downloads to object storage on another host: the
    download follows, and the registry credentials are not sent there."""
    import base64
    import http.server
    import threading
    import urllib.request
    seen = []

    class Storage(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            data = urllib.request.urlopen(f"http://{registry.host}{self.path}").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    storage = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Storage)
    want = "Basic " + base64.b64encode(b"dave:pw").decode()

    class Front(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="front"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if "/blobs/" in self.path:
                self.send_response(307)
                self.send_header("Location", f"http://127.0.0.1:{storage.server_address[1]}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            req = urllib.request.Request(f"http://{registry.host}{self.path}",
                                         headers={"Accept": self.headers.get("Accept", "*/*")})
            resp = urllib.request.urlopen(req)
            data = resp.read()
            self.send_response(200)
            self.send_header("Content-Type", resp.headers["Content-Type"])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    front = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
    for srv in (storage, front):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        ref = f"127.0.0.1:{front.server_address[1]}/{repo_of(test_images['layered'])}:latest"
        assert store.pull(ref, "--creds", "dave:pw") == test_images.images["layered"].image_id
        assert len(seen) == 6          # config + five layers, all through the redirect
        assert seen == [None] * 6      # and never with the registry's credentials
    finally:
        for srv in (storage, front):
            srv.shutdown()
            srv.server_close()
