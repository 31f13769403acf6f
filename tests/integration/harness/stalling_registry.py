"""A registry that never answers in time: an HTTP server on 127.0.0.1 that reads each
request and answers nothing until release() (then every request gets 404) or close().
Pulls against it are caught while they wait, with no timing assumption: wait for
.requests (set at the first request), then look."""
import socket
import threading

import pytest


class StallingRegistry:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests = threading.Event()
        self.released = threading.Event()
        self.closed = False
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                self.requests.set()
                self.released.wait()
                if self.closed:
                    return
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                             b"Content-Type: text/plain\r\n\r\n")
        except OSError:
            pass

    def release(self):
        """From now on every request is answered 404."""
        self.released.set()

    def close(self):
        """Drops every connection unanswered and stops listening."""
        self.closed = True
        self.released.set()
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def stalling_registry():
    s = StallingRegistry()
    yield s
    s.close()
