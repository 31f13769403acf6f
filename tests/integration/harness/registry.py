"""A real local OCI registry for the integration tests: Debian's `docker-registry`
(distribution 2.8) started on 127.0.0.1 with filesystem storage in a temporary directory,
plus a small client to push hand-made blobs and manifests over the registry HTTP API.

Fixtures:
  registry          (session) the shared plain-HTTP registry; .host is "127.0.0.1:PORT"
  registry_factory  (function) make_registry(storage=None, tls=None, htpasswd=None,
                    token=None) -> extra registries (TLS, Basic auth, token auth) that are
                    stopped after the test; pass storage=registry.storage to serve the
                    images already pushed to the shared registry behind another front.
  test_images       (session) name -> full reference, see harness/images.py
                    (.images[name] is the built Image: image_id, digest, layer_digests...)

Helpers: make_ca(dir) (CA + server cert for 127.0.0.1), make_htpasswd(path, users),
TokenServer(dir, users, refresh_tokens=...) (Bearer tokens for `auth: token` registries),
Registry.tamper_blob(digest) (serve bytes that no longer match), RegistryClient.push_blob /
push_manifest (hand-made content, e.g. malicious layers: see harness/images.py Layer).
"""
import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REGISTRY_BIN = "/usr/bin/docker-registry"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _yaml(obj, indent=0):
    """Enough YAML for the registry config (nested dicts of scalars)."""
    out = []
    for k, v in obj.items():
        pad = "  " * indent
        if isinstance(v, dict):
            out.append(f"{pad}{k}:")
            out.append(_yaml(v, indent + 1))
        elif isinstance(v, bool):
            out.append(f"{pad}{k}: {'true' if v else 'false'}")
        else:
            out.append(f"{pad}{k}: {json.dumps(v) if isinstance(v, str) else v}")
    return "\n".join(x for x in out if x)


class Registry:
    """One docker-registry process.

    tls: (cert_path, key_path) to serve HTTPS.
    htpasswd: path of an htpasswd (bcrypt) file for Basic auth.
    token: dict(realm=URL, service=NAME, issuer=NAME, rootcertbundle=PATH) for Bearer auth.
    storage: an existing storage directory to share (default: a new one, removed at stop).
    """

    def __init__(self, storage=None, tls=None, htpasswd=None, token=None):
        self.tmp = Path(tempfile.mkdtemp(prefix="mascri-registry-"))
        self.own_storage = storage is None
        self.storage = Path(storage) if storage else self.tmp / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://{self.host}"
        self.proc = None
        cfg = {
            "version": "0.1",
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)},
                        "delete": {"enabled": True},
                        "cache": {"blobdescriptor": "inmemory"},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            "http": {"addr": self.host, "secret": "mascri-test-secret"},
        }
        if tls:
            cfg["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
        if htpasswd:
            cfg["auth"] = {"htpasswd": {"realm": "mascri-test", "path": str(htpasswd)}}
        if token:
            cfg["auth"] = {"token": dict(token)}
        self.config_path = self.tmp / "config.yml"
        self.config_path.write_text(_yaml(cfg) + "\n")
        self.log_path = self.tmp / "registry.log"

    def start(self, timeout=30):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(self.config_path)],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        ctx = ssl._create_unverified_context() if self.tls else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited:\n{self.log_path.read_text()}")
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=2, context=ctx)
                return self
            except urllib.error.HTTPError:
                return self  # 401 from an auth-protected registry: it is up
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        shutil.rmtree(self.tmp, ignore_errors=True)  # holds the storage unless shared

    def ref(self, repo, tag="latest"):
        return f"{self.host}/{repo}:{tag}"

    def blob_path(self, digest):
        """Where the registry keeps a blob on disk (to tamper with it in tests)."""
        algo, hexd = digest.split(":", 1)
        return self.storage / "docker/registry/v2/blobs" / algo / hexd[:2] / hexd / "data"

    def tamper_blob(self, digest, data=None):
        """Replaces a stored blob's bytes so the registry serves content that no longer
        matches its digest (same length by default: one byte flipped in the middle)."""
        p = self.blob_path(digest)
        old = p.read_bytes()
        if data is None:
            mid = len(old) // 2
            data = old[:mid] + bytes([old[mid] ^ 0xFF]) + old[mid + 1:]
        p.write_bytes(data)
        return old

    def client(self, auth=None):
        return RegistryClient(self.url, auth=auth, verify=False)


class RegistryClient:
    """Pushes blobs and manifests over the distribution HTTP API with urllib.
    auth: None, ("user", "password") for Basic, or "Bearer TOKEN"."""

    def __init__(self, url, auth=None, verify=True):
        self.url = url.rstrip("/")
        self.auth = auth
        self.ctx = None if verify else ssl._create_unverified_context()

    def _request(self, method, path_or_url, data=None, headers=None):
        url = path_or_url if path_or_url.startswith("http") else self.url + path_or_url
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if isinstance(self.auth, tuple):
            cred = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {cred}")
        elif isinstance(self.auth, str):
            req.add_header("Authorization", self.auth)
        return urllib.request.urlopen(req, timeout=60, context=self.ctx)

    def has_blob(self, repo, digest):
        try:
            self._request("HEAD", f"/v2/{repo}/blobs/{digest}")
            return True
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return False
            raise

    def push_blob(self, repo, data, digest=None):
        """Uploads data (monolithic POST + PUT); returns its digest. digest may be given
        to push a blob under a digest of your choice (the registry checks it)."""
        digest = digest or sha256_digest(data)
        if self.has_blob(repo, digest):
            return digest
        r = self._request("POST", f"/v2/{repo}/blobs/uploads/", data=b"")
        loc = r.headers["Location"]
        if not loc.startswith("http"):
            loc = self.url + loc
        sep = "&" if "?" in loc else "?"
        self._request("PUT", f"{loc}{sep}digest={digest}", data=data,
                      headers={"Content-Type": "application/octet-stream",
                               "Content-Length": str(len(data))})
        return digest

    def push_manifest(self, repo, ref, body, media_type):
        """PUTs a manifest (bytes or dict) under a tag or digest; returns its digest."""
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body, separators=(",", ":")).encode()
        self._request("PUT", f"/v2/{repo}/manifests/{ref}", data=body,
                      headers={"Content-Type": media_type})
        return sha256_digest(body)

    def get_manifest(self, repo, ref, accept=(OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)):
        r = self._request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ", ".join(accept)})
        return r.read(), r.headers.get("Content-Type")


def make_ca(directory, names=("127.0.0.1", "localhost")):
    """A CA and a server certificate signed by it for the given names, made with openssl.
    Returns dict(ca=PATH, cert=PATH, key=PATH)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=mascri test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))
    sans = ",".join(("IP:" if n.replace(".", "").isdigit() else "DNS:") + n for n in names)
    (d / "ext.cnf").write_text(f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\n")
    run("openssl", "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"),
        "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext.cnf"),
        "-out", str(d / "server.crt"))
    return {"ca": d / "ca.crt", "cert": d / "server.crt", "key": d / "server.key"}


def make_htpasswd(path, users):
    """An htpasswd file with bcrypt hashes (what docker-registry accepts)."""
    path = Path(path)
    first = True
    for user, password in users.items():
        args = ["htpasswd", "-B", "-b"] + (["-c"] if first else []) + [str(path), user, password]
        subprocess.run(args, check=True, capture_output=True)
        first = False
    return path


@pytest.fixture(scope="session")
def registry():
    """The shared plain-HTTP registry (session scope)."""
    r = Registry().start()
    yield r
    r.stop()


@pytest.fixture
def registry_factory():
    made = []

    def make(**kw):
        r = Registry(**kw)
        made.append(r)
        return r.start()

    yield make
    for r in made:
        r.stop()


@pytest.fixture(scope="session")
def test_images(registry):
    """name -> reference of the standard test images, built and pushed once per run."""
    from .images import push_test_images
    return push_test_images(registry)


class TokenServer:
    """A small Bearer token issuer for docker-registry's `auth: token` mode: RS256 JWTs
    with the signing certificate in x5c, granted for `users` (name -> password); anonymous
    requests get a token without access (the registry then refuses them).

    registry_factory(storage=..., token=ts.registry_config()) makes a registry using it."""

    def __init__(self, directory, users, service="mascri-registry", issuer="mascri-test-issuer",
                 refresh_tokens=None):
        import http.server
        import threading
        from cryptography.hazmat.primitives import serialization

        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.users = dict(users)
        self.refresh_tokens = dict(refresh_tokens or {})  # OAuth2 refresh token -> user
        self.service, self.issuer = service, issuer
        self.requests = []
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=mascri token signer", "-keyout", str(self.dir / "token.key"),
                        "-out", str(self.dir / "token.crt")], check=True, capture_output=True)
        self.key = serialization.load_pem_private_key((self.dir / "token.key").read_bytes(), None)
        pem = (self.dir / "token.crt").read_text()
        der_b64 = "".join(pem.strip().splitlines()[1:-1])
        self.x5c = [der_b64]
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                server._answer(self)

            def do_POST(self):
                server._answer(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def registry_config(self):
        return {"realm": self.realm, "service": self.service, "issuer": self.issuer,
                "rootcertbundle": str(self.dir / "token.crt")}

    def _user(self, handler):
        h = handler.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None, False
        user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        return user, self.users.get(user) == pw

    def _answer(self, handler):
        import urllib.parse
        q = urllib.parse.urlparse(handler.path)
        params = dict(urllib.parse.parse_qsl(q.query))
        user, ok = self._user(handler)
        if handler.command == "POST":  # OAuth2: grant_type=refresh_token (identity tokens)
            n = int(handler.headers.get("Content-Length", "0"))
            params.update(urllib.parse.parse_qsl(handler.rfile.read(n).decode()))
            rt = params.get("refresh_token")
            user = self.refresh_tokens.get(rt) if params.get("grant_type") == "refresh_token" else None
            ok = user is not None
            if not ok:
                handler.send_response(401)
                handler.end_headers()
                return
        self.requests.append({"user": user, "params": params})
        if user is not None and not ok:
            handler.send_response(401)
            handler.end_headers()
            return
        access = []
        scope = params.get("scope", "")
        if ok and scope.startswith("repository:"):
            _, name, actions = scope.split(":", 2)
            access = [{"type": "repository", "name": name, "actions": actions.split(",")}]
        token = self.make_token(user or "", access)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def make_token(self, subject, access):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        sig = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing + "." + b64(sig)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
