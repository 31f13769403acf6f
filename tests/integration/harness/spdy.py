"""A small SPDY/3.1 client for the streaming tests, written from the SPDY/3 draft and the
Kubernetes remotecommand/portforward conventions, independent of mascri's C code: HTTP/1.1
upgrade, zlib header blocks with the SPDY/3 dictionary, SYN_STREAM/SYN_REPLY/data/RST/GOAWAY/
PING/WINDOW_UPDATE, a reader thread that collects every stream's data."""
import socket
import struct
import threading
import time
import zlib
from urllib.parse import urlparse

_WORDS = ("options head post put delete trace accept accept-charset accept-encoding "
          "accept-language accept-ranges age allow authorization cache-control connection "
          "content-base content-encoding content-language content-length content-location "
          "content-md5 content-range content-type date etag expect expires from host if-match "
          "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
          "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
          "server te trailer transfer-encoding upgrade user-agent vary via warning "
          "www-authenticate method get status").split() + [
              "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive",
              "origin"]
_TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502"
         "504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
         "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
         "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
         "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
         "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,"
         "publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = \
    1, 2, 3, 4, 6, 7, 8, 9
FIN = 1


class HTTPError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body!r}")
        self.status = status
        self.body = body


def http_upgrade(url, upgrade, extra_headers=(), method="POST", timeout=10):
    """Sends the upgrade request; returns (socket, status, headers dict (lowercase, lists),
    leftover bytes). Raises HTTPError for a non-101 answer."""
    u = urlparse(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
    path = u.path + (("?" + u.query) if u.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {u.netloc}", "Connection: Upgrade",
             f"Upgrade: {upgrade}", "Content-Length: 0"] + list(extra_headers)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise HTTPError(0, buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status_line, *hdr_lines = head.decode().split("\r\n")
    status = int(status_line.split()[1])
    headers = {}
    for line in hdr_lines:
        k, v = line.split(":", 1)
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    if status != 101:
        n = int(headers.get("content-length", ["0"])[0])
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        sock.close()
        raise HTTPError(status, rest)
    return sock, status, headers, rest


class Stream:
    def __init__(self, sid, headers):
        self.id = sid
        self.headers = headers
        self.data = bytearray()
        self.fin = False
        self.reset = None
        self.replied = threading.Event()
        self.cond = threading.Condition()


class SpdyConnection:
    """Client side of a SPDY/3.1 session over an upgraded socket."""

    def __init__(self, sock, leftover=b"", send_window_updates=False):
        self.sock = sock
        self.sock.settimeout(None)
        self.comp = zlib.compressobj(level=9, zdict=DICTIONARY)
        self.decomp = zlib.decompressobj(zdict=DICTIONARY)
        self.next_id = 1
        self.streams = {}
        self.peer_streams = []
        self.goaway = None
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.wlock = threading.Lock()
        self.window_updates = []  # (stream id, delta) received
        self.send_window_updates = send_window_updates
        self.pings = []
        self.buf = bytearray(leftover)
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    # --- writing ---
    def _send(self, data):
        with self.wlock:
            self.sock.sendall(data)

    def _headers_block(self, headers):
        raw = struct.pack(">I", len(headers))
        for k, v in headers.items():
            k, v = k.lower().encode(), v.encode()
            raw += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
        return self.comp.compress(raw) + self.comp.flush(zlib.Z_SYNC_FLUSH)

    def control(self, ftype, flags, payload, version=3):
        return struct.pack(">HHI", 0x8000 | version, ftype, (flags << 24) | len(payload)) + payload

    def create_stream(self, headers, fin=False, wait=True, timeout=10):
        with self.lock:
            sid = self.next_id
            self.next_id += 2
            st = Stream(sid, headers)
            self.streams[sid] = st
            payload = struct.pack(">IIBB", sid, 0, 0, 0) + self._headers_block(headers)
            self._send(self.control(SYN_STREAM, FIN if fin else 0, payload))
        if wait and not st.replied.wait(timeout):
            raise TimeoutError(f"no SYN_REPLY for stream {sid}")
        return st

    def send_data(self, sid, data, fin=False):
        for i in range(0, max(len(data), 1), 16384):
            chunk = data[i:i + 16384]
            last = fin and i + 16384 >= len(data)
            self._send(struct.pack(">II", sid & 0x7fffffff, ((FIN if last else 0) << 24) |
                                   len(chunk)) + chunk)

    def rst(self, sid, status=5):
        self._send(self.control(RST_STREAM, 0, struct.pack(">II", sid, status)))

    def ping(self, pid):
        self._send(self.control(PING, 0, struct.pack(">I", pid)))

    def window_update(self, sid, delta):
        self._send(self.control(WINDOW_UPDATE, 0, struct.pack(">II", sid, delta)))

    def raw(self, data):
        self._send(data)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    # --- reading ---
    def _recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(262144)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _parse_headers(self, block):
        raw = self.decomp.decompress(block)
        n, = struct.unpack(">I", raw[:4])
        pos, out = 4, {}
        for _ in range(n):
            ln, = struct.unpack(">I", raw[pos:pos + 4])
            k = raw[pos + 4:pos + 4 + ln].decode()
            pos += 4 + ln
            ln, = struct.unpack(">I", raw[pos:pos + 4])
            out[k] = raw[pos + 4:pos + 4 + ln].decode()
            pos += 4 + ln
        return out

    def _read_loop(self):
        try:
            while True:
                hdr = self._recv_exact(8)
                if hdr[0] & 0x80:
                    ftype, = struct.unpack(">H", hdr[2:4])
                    flags = hdr[4]
                    ln = struct.unpack(">I", hdr[4:8])[0] & 0xffffff
                    payload = self._recv_exact(ln)
                    self._on_control(ftype, flags, payload)
                else:
                    sid = struct.unpack(">I", hdr[:4])[0] & 0x7fffffff
                    flags = hdr[4]
                    ln = struct.unpack(">I", hdr[4:8])[0] & 0xffffff
                    payload = self._recv_exact(ln)
                    st = self.streams.get(sid)
                    if st is None:
                        continue
                    with st.cond:
                        st.data += payload
                        if flags & FIN:
                            st.fin = True
                        st.cond.notify_all()
                    if self.send_window_updates and payload:
                        self.window_update(sid, len(payload))
                        self.window_update(0, len(payload))
        except (EOFError, OSError):
            pass
        finally:
            self.closed.set()
            for st in list(self.streams.values()):
                with st.cond:
                    st.cond.notify_all()
                st.replied.set()

    def _on_control(self, ftype, flags, payload):
        if ftype == SYN_REPLY:
            sid = struct.unpack(">I", payload[:4])[0] & 0x7fffffff
            self._parse_headers(payload[4:])
            st = self.streams.get(sid)
            if st:
                st.replied.set()
                if flags & FIN:
                    with st.cond:
                        st.fin = True
                        st.cond.notify_all()
        elif ftype == SYN_STREAM:
            sid = struct.unpack(">I", payload[:4])[0] & 0x7fffffff
            self.peer_streams.append((sid, self._parse_headers(payload[10:])))
        elif ftype == HEADERS:
            self._parse_headers(payload[4:])
        elif ftype == RST_STREAM:
            sid, status = struct.unpack(">II", payload)
            st = self.streams.get(sid)
            if st:
                with st.cond:
                    st.reset = status
                    st.cond.notify_all()
                st.replied.set()
        elif ftype == GOAWAY:
            self.goaway = struct.unpack(">II", payload)
        elif ftype == PING:
            self.pings.append(struct.unpack(">I", payload)[0])
        elif ftype == WINDOW_UPDATE:
            self.window_updates.append(struct.unpack(">II", payload))

    def wait_fin(self, st, timeout=30):
        deadline = time.monotonic() + timeout
        with st.cond:
            while not st.fin and st.reset is None and not self.closed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"stream {st.id} did not end")
                st.cond.wait(left)
        return bytes(st.data)

    def wait_data(self, st, n, timeout=30):
        deadline = time.monotonic() + timeout
        with st.cond:
            while len(st.data) < n and not st.fin and not self.closed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"stream {st.id}: {len(st.data)} of {n} bytes")
                st.cond.wait(left)
        return bytes(st.data)


EXEC_PROTOCOLS = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                  "channel.k8s.io"]


def spdy_connect(url, protocols, **kw):
    extra = [f"X-Stream-Protocol-Version: {p}" for p in protocols]
    sock, _, headers, rest = http_upgrade(url, "SPDY/3.1", extra)
    conn = SpdyConnection(sock, rest, **kw)
    conn.protocol = headers.get("x-stream-protocol-version", [""])[0]
    return conn


def remote_command(url, stdin=None, stdout=True, stderr=True, tty=False, resizes=(),
                   protocols=EXEC_PROTOCOLS, timeout=30, close_stdin=True):
    """Runs an exec/attach session to its end: returns dict(stdout, stderr, error, protocol)."""
    conn = spdy_connect(url, protocols)
    try:
        streams = {"error": conn.create_stream({"streamType": "error"})}
        if stdin is not None:
            streams["stdin"] = conn.create_stream({"streamType": "stdin"})
        if stdout:
            streams["stdout"] = conn.create_stream({"streamType": "stdout"})
        if stderr and not tty:
            streams["stderr"] = conn.create_stream({"streamType": "stderr"})
        if tty and conn.protocol in ("v4.channel.k8s.io", "v3.channel.k8s.io"):
            streams["resize"] = conn.create_stream({"streamType": "resize"})
            for w, h in resizes:
                conn.send_data(streams["resize"].id,
                               ('{"Width":%d,"Height":%d}\n' % (w, h)).encode())
        if stdin is not None:
            if stdin:
                conn.send_data(streams["stdin"].id, stdin)
            if close_stdin:
                conn.send_data(streams["stdin"].id, b"", fin=True)
        out = {"protocol": conn.protocol}
        for name in ("stdout", "stderr"):
            if name in streams:
                out[name] = conn.wait_fin(streams[name], timeout)
        out["error"] = conn.wait_fin(streams["error"], timeout)
        out["goaway"] = conn.goaway
        return out
    finally:
        conn.close()
