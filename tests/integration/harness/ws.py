"""A small WebSocket client (RFC 6455) for the streaming tests, independent of mascri's code:
the handshake with subprotocols, masked client frames, and the Kubernetes channel framing
(first byte of each binary message: the channel; v5: [255, channel] closes a channel)."""
import base64
import hashlib
import os
import socket
import struct
from urllib.parse import urlparse

from .spdy import HTTPError


class WSConnection:
    def __init__(self, url, protocols, timeout=30):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + (("?" + u.query) if u.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {u.netloc}", "Connection: Upgrade",
                 "Upgrade: websocket", "Sec-WebSocket-Version: 13", f"Sec-WebSocket-Key: {key}"]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise HTTPError(0, buf)
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        status_line, *hdr = head.decode().split("\r\n")
        status = int(status_line.split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in hdr)}
        if status != 101:
            raise HTTPError(status, self.buf)
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == want, headers
        self.protocol = headers.get("sec-websocket-protocol", "")
        self.closed = False

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, channel, data):
        self.send_frame(2, bytes([channel]) + data)

    def close_channel(self, channel):
        self.send_frame(2, bytes([255, channel]))

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(262144)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        b0, b1 = self._exact(2)
        n = b1 & 0x7f
        if n == 126:
            n, = struct.unpack(">H", self._exact(2))
        elif n == 127:
            n, = struct.unpack(">Q", self._exact(8))
        assert not (b1 & 0x80), "server frames are not masked"
        return b0 & 0x0f, self._exact(n)

    def read_all(self):
        """Reads channel messages until the server closes: {channel: bytes}."""
        out = {}
        try:
            while True:
                op, payload = self.recv_frame()
                if op == 8:
                    self.closed = True
                    try:
                        self.send_frame(8, payload[:2])
                    except OSError:
                        pass
                    break
                if op == 2 and payload:
                    out[payload[0]] = out.get(payload[0], b"") + payload[1:]
        except (EOFError, OSError):
            pass
        return out

    def close(self):
        self.sock.close()
