"""The process side of streaming (issue 13) through mascri-monitor's contract
(sandbox/monitor.h), without mascrid: `exec --interactive` (a streaming Exec: stdin, tty,
resize, stdin EOF, exit codes, the end of a process whose client went away), the attach
socket of create mode, and a TCP connect inside a pod's network namespace. The CRI
end-to-end tests (SPDY/WebSocket) live with the streaming server."""
import os
import re
import select
import signal
import socket
import time

import pytest

from harness.wait import wait_for
from test_monitor import MONITOR, WAIT_S, Env, alive, process_file


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    (e.bundle.rootfs / "bin" / "stty").symlink_to("busybox")
    yield e
    e.cleanup()


def running(env):
    env.bundle.set_args("sleep", "1000")
    env.create()
    env.start()


class Interactive:
    """`mascri-monitor exec --interactive` as mascrid starts it: in its own session, fd 0 a
    stdin pipe, 1 and 2 output pipes, 3 the status pipe, 4 the control pipe; the first
    process is reaped at once (the monitor forks away)."""

    def __init__(self, env, pfile, *extra):
        argv = [MONITOR, "exec", "--id", env.id, "--runtime-root", str(env.rt.root),
                "--process", str(pfile), "--interactive", *extra]
        in_r, self.stdin = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        st_r, st_w = os.pipe()
        ctl_r, self.ctl = os.pipe()
        theirs = [in_r, out_w, err_w, st_w, ctl_r]
        # dup everything above 4 first so that no dup2 overwrites another
        high = [os.dup(fd) for fd in theirs]
        for fd in theirs:
            os.close(fd)
        while min(high) <= 4:
            high = [os.dup(fd) if fd <= 4 else fd for fd in high]
        actions = [(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate(high)]
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
        for fd in high:
            os.close(fd)
        _, st = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(st) == 0  # the first process, forked away
        self.fds = [out_r, err_r, st_r]
        self.data = [b"", b"", b""]
        self.open = set(self.fds)

    def pump(self, timeout):
        r, _, _ = select.select(list(self.open), [], [], timeout)
        for fd in r:
            chunk = os.read(fd, 65536)
            if chunk:
                self.data[self.fds.index(fd)] += chunk
            else:
                self.open.discard(fd)
        return bool(r)

    def read_until(self, i, text, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while text not in self.data[i]:
            assert self.fds[i] in self.open, f"EOF before {text!r}: {self.data[i]!r}"
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on fd {i + 1}: {self.data[i]!r}"
            self.pump(left)

    def write(self, data):
        os.write(self.stdin, data)

    def close_stdin(self):
        if self.stdin >= 0:
            os.close(self.stdin)
            self.stdin = -1

    def resize(self, w, h):
        os.write(self.ctl, f"{w} {h}\n".encode())

    def client_gone(self):
        self.close_stdin()
        os.close(self.ctl)
        self.ctl = -1

    def finish(self, timeout=WAIT_S):
        """Reads every pipe to EOF; returns (stdout, stderr, status line)."""
        deadline = time.monotonic() + timeout
        while self.open:
            assert time.monotonic() < deadline, f"the exec helper hangs: {self.data!r}"
            self.pump(deadline - time.monotonic())
        for fd in self.fds:
            os.close(fd)
        self.close_stdin()
        if self.ctl >= 0:
            os.close(self.ctl)
        return self.data[0], self.data[1], self.data[2].decode()


def ps(env):
    import json
    return json.loads(env.rt.cmd("ps", "--format", "json", env.id).stdout)


def test_exec_stdin_stdout_stderr_and_exit_code(env, tmp_path):
    running(env)
    pfile = process_file(env, tmp_path, "sh", "-c", "cat; echo done >&2; exit 7")
    x = Interactive(env, pfile)
    x.write(b"hello\n")
    x.read_until(0, b"hello\n")  # streamed while it runs
    x.write(b"world")
    x.close_stdin()  # EOF ends cat
    assert x.finish() == (b"hello\nworld", b"done\n", "exit 7\n")


def test_exec_output_ends_when_the_process_closes_it(env, tmp_path):
    """The monitor keeps no copy of the pipes: EOF comes with the process's exit."""
    running(env)
    pfile = process_file(env, tmp_path, "sh", "-c", "echo hi")
    x = Interactive(env, pfile)
    assert x.finish(timeout=5) == (b"hi\n", b"", "exit 0\n")


def test_exec_tty_resize_and_stdin_eof(env, tmp_path):
    running(env)
    pfile = process_file(env, tmp_path, "sh", "-c",
                         "read a; stty size; read b; stty size; echo got $a $b >&2; cat",
                         terminal=True)
    x = Interactive(env, pfile, "--terminal")
    x.resize(123, 45)
    x.write(b"one\n")
    x.read_until(0, b"45 123")
    x.resize(77, 22)
    x.write(b"two\n")
    x.read_until(0, b"22 77")
    x.read_until(0, b"got one two")  # stderr merged into the pty's output
    x.write(b"three\n")
    x.read_until(0, b"three")
    x.close_stdin()  # VEOF: cat reads end-of-file and the shell exits 0
    out, err, status = x.finish(timeout=10)
    assert status == "exit 0\n", out
    assert err == b""


def test_exec_client_gone_sigterm(env, tmp_path):
    running(env)
    pfile = process_file(env, tmp_path, "sh", "-c", "echo started; exec sleep 1000")
    x = Interactive(env, pfile)
    x.read_until(0, b"started")
    assert len(ps(env)) == 2
    x.client_gone()
    assert x.finish(timeout=5)[2] == "exit 143\n"  # SIGTERM was enough
    assert len(ps(env)) == 1


def test_exec_client_gone_sigkill_after_the_grace(env, tmp_path):
    running(env)
    pfile = process_file(env, tmp_path, "sh", "-c",
                         "trap '' TERM HUP; echo started; while :; do sleep 0.1; done")
    x = Interactive(env, pfile)
    x.read_until(0, b"started")
    t0 = time.monotonic()
    x.client_gone()
    status = x.finish(timeout=10)[2]
    took = time.monotonic() - t0
    assert status == "exit 137\n"
    assert 1.5 < took < 6, took  # MASCRI_MONITOR_EXEC_GRACE_MS = 2000
    wait_for(lambda: len(ps(env)) == 1, "the shell's sleep to go")


def test_exec_client_gone_interactive_shell_on_a_tty(env, tmp_path):
    """An interactive shell ignores SIGTERM; the SIGHUP sent first ends it at once."""
    running(env)
    pfile = process_file(env, tmp_path, "sh", "-i", terminal=True)
    x = Interactive(env, pfile, "--terminal")
    # The tty echoes what is typed at once, before the shell may have started: wait for
    # output only the shell can make (the echo shows re""ady), so that it has set up its
    # signals (SIGTERM ignored) before the client goes.
    x.write(b'echo re""ady\n')
    x.read_until(0, b"ready")
    t0 = time.monotonic()
    x.client_gone()
    status = x.finish(timeout=10)[2]
    assert status in ("exit 129\n", "exit 137\n"), status
    assert time.monotonic() - t0 < 1.5 or status == "exit 137\n"


def test_exec_monitor_exits_when_mascrid_dies_with_the_pipes(env, tmp_path):
    """The control pipe closing is all it takes: a crashed mascrid leaves no process."""
    running(env)
    pfile = process_file(env, tmp_path, "sleep", "1000")
    x = Interactive(env, pfile)
    wait_for(lambda: len(ps(env)) == 2, "the exec'd sleep")
    for fd in x.fds:  # everything mascrid held, as a crash would close it
        os.close(fd)
    x.fds = []
    x.open = set()
    x.client_gone()
    wait_for(lambda: len(ps(env)) == 1, "the exec'd sleep to be killed", timeout=5)


def test_exec_start_error_on_the_status_pipe(env, tmp_path):
    running(env)
    pfile = process_file(env, tmp_path, "/no/such/binary")
    status = Interactive(env, pfile).finish()[2]
    assert re.match(r"^(error [A-Z_]+ .+|exit [1-9]\d*)\n$", status), status


# ---- the attach socket (create mode) ----

def attach_conn(env, role):
    """A connection to the monitor's attach socket with its role byte: (socket, answer)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(env.socket_dir / "attach"))
    s.send(role)
    return s, s.recv(1)


def test_attach_roles_and_refusals(env):
    env.bundle.set_args("sleep", "1000")
    env.create()  # no --stdin, no --terminal
    env.start()
    for role, answer in ((b"o", b"+"), (b"e", b"+"), (b"c", b"+"), (b"i", b"-"), (b"?", b"-")):
        s, got = attach_conn(env, role)
        assert got == answer, role
        if answer == b"-":
            assert s.recv(1) == b""  # closed after the refusal
        s.close()


def test_attach_slow_client_is_cut_off_never_waited_for(env):
    env.bundle.set_args("sh", "-c", "while :; do echo 0123456789abcdefghijklmnopqrstuvwxyz; done")
    mon, _ = env.create("--stdin")
    env.start()
    s, got = attach_conn(env, b"o")
    assert got == b"+"
    ctl, got = attach_conn(env, b"c")
    assert got == b"+"
    fds = len(os.listdir(f"/proc/{mon}/fd"))
    time.sleep(2)  # never reading: the monitor's send buffer fills up
    size = env.log.stat().st_size
    time.sleep(1)
    assert env.log.stat().st_size > size  # the log goes on regardless
    received = 0
    s.settimeout(5)
    while True:  # what was queued, then EOF: the monitor let the slow client go
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        received += len(chunk)
    assert 0 < received < 16 << 20
    assert len(os.listdir(f"/proc/{mon}/fd")) == fds - 1
    # the container's exit reaches the control connection, then its EOF
    env.rt.cmd("kill", env.id, "KILL")
    ctl.settimeout(10)
    data = b""
    while True:
        chunk = ctl.recv(100)
        if not chunk:
            break
        data += chunk
    assert data == b"exit 137\n"
