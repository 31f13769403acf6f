"""mascri-monitor on its own (sandbox/monitor.h), without mascrid or the CRI spec builder:
busybox bundles from runtime_bundle.py, the monitor started the way mascrid starts it
(setsid, stdio /dev/null, a sync pipe on fd 3), the container started with
`mascri start` (same state root). Checks the sync line, the CRI log records, the
exit file, the control socket, the survival of the monitor past its spawner, and exec
mode (ExecSync)."""
import json
from datetime import datetime
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from harness.paths import binary
from harness.wait import wait_for
from runtime_bundle import Bundle, Runtime

MONITOR = str(binary("mascri-monitor"))
RECORD = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d) (stdout|stderr) ([FP]) (.*)$")
WAIT_S = 20


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class Env:
    """A runtime state root, a bundle, and the files one monitor uses."""

    def __init__(self, tmp_path):
        self.rt = Runtime(tmp_path / "state", "mascri")
        self.bundle = Bundle(tmp_path / "bundle", self.rt)
        self.short = Path(tempfile.mkdtemp(prefix="mmon", dir="/run"))  # sun_path is short
        self.socket_dir = self.short / "mon"
        self.log = tmp_path / "logs" / "ctr.log"
        self.log.parent.mkdir()
        self.exit_file = tmp_path / "exit"
        self.monitors = []

    @property
    def id(self):
        return self.bundle.id

    def create_argv(self, *extra):
        return [MONITOR, "create", "--id", self.id, "--bundle", str(self.bundle.path),
                "--runtime-root", str(self.rt.root), "--log-path", str(self.log),
                "--exit-file", str(self.exit_file), "--socket-dir", str(self.socket_dir),
                *extra]

    def spawn(self, argv, first_rc=0):
        """Like mascrid: setsid, stdio /dev/null, the sync pipe's write end on fd 3; reaps
        the first process and reads the sync line to EOF."""
        r, w = os.pipe()
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDWR, 0),
                   (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2),
                   (os.POSIX_SPAWN_DUP2, w, 3)]
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == first_rc
        # one line, as mascrid reads it: the init holds a copy of fd 3 until it execs
        with os.fdopen(r, "rb") as f:
            line = f.readline().decode()
        m = re.match(r"^ok (\d+) (\d+)\n$", line)
        if m:
            self.monitors.append(int(m.group(1)))
        return line

    def create(self, *extra):
        self.bundle.write()
        line = self.spawn(self.create_argv(*extra))
        m = re.match(r"^ok (\d+) (\d+)\n$", line)
        assert m, line
        return int(m.group(1)), int(m.group(2))

    def start(self):
        self.rt.cmd("start", self.id)

    def exit_info(self):
        wait_for(self.exit_file.exists, "the exit file")
        return json.loads(self.exit_file.read_text())

    def records(self, path=None):
        out = []
        for line in (path or self.log).read_text().splitlines():
            m = RECORD.match(line)
            assert m, f"not a CRI log record: {line!r}"
            out.append((m.group(2), m.group(3), m.group(4)))
        return out

    def ctl(self, req):
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(10)
            s.connect(str(self.socket_dir / "ctl"))
            s.send(req.encode())
            return s.recv(4096).decode()

    def cleanup(self):
        self.rt.cleanup()  # delete --force: kills the inits, the monitors then exit
        for pid in self.monitors:
            try:
                wait_for(lambda: not alive(pid), f"monitor {pid} to exit", timeout=5)
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.short, ignore_errors=True)


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    e.cleanup()


def test_create_start_log_records_and_exit_file(env):
    env.bundle.sh("echo out1; echo err1 >&2; s=xxxxxxxxxx; echo $s$s$s$s; "
                  "echo err2 >&2; echo -n tail; exit 3")
    mpid, ipid = env.create("--log-max-line", "16")
    assert alive(mpid) and alive(ipid)
    assert env.rt.state(env.id)["status"] == "created"
    assert env.rt.state(env.id)["pid"] == ipid
    assert ppid(ipid) == mpid  # the monitor is the init's parent
    assert env.ctl("ping") == f"ok {mpid} {ipid}"
    env.start()
    info = env.exit_info()
    assert info["exit_code"] == 3 and info["signal"] == 0 and info["oom_killed"] is False
    assert abs(info["finished_at"] / 1e9 - time.time()) < 600
    wait_for(lambda: not alive(mpid), "the monitor to exit")
    assert not env.socket_dir.exists()
    recs = env.records()
    out = [r for r in recs if r[0] == "stdout"]
    err = [r for r in recs if r[0] == "stderr"]
    assert out == [("stdout", "F", "out1"), ("stdout", "P", "x" * 16), ("stdout", "P", "x" * 16),
                   ("stdout", "F", "x" * 8), ("stdout", "F", "tail")]
    assert err == [("stderr", "F", "err1"), ("stderr", "F", "err2")]
    assert oct(env.log.stat().st_mode & 0o777) == "0o640"


def record_time(line):
    """The epoch seconds of a record's RFC3339Nano timestamp (nanoseconds cut to micro)."""
    stamp = line.split(" ", 1)[0]
    return datetime.fromisoformat(stamp[:26] + stamp[29:]).timestamp()


def test_idle_memory_release_keeps_the_log_and_the_socket(env):
    """After MONITOR_IDLE_MS (3 s) without an event the monitor gives pages back
    (monitor-mem.h); records, a partial line held across it, the control socket, the
    timestamps and the exit file are as without."""
    env.bundle.sh("echo one; printf par; sleep 4; echo t; echo err >&2; sleep 4; "
                  "echo two; exit 3")
    mpid, ipid = env.create()
    env.start()
    wait_for(lambda: env.log.exists() and ("stdout", "F", "part") in env.records(),
             "the held line")
    time.sleep(3.5)  # idle again
    assert env.ctl("ping") == f"ok {mpid} {ipid}"
    assert env.ctl("reopen") == "ok"
    info = env.exit_info()
    assert info["exit_code"] == 3
    assert env.records() == [("stdout", "F", "one"), ("stdout", "F", "part"),
                             ("stderr", "F", "err"), ("stdout", "F", "two")]
    lines = env.log.read_text().splitlines()
    stamps = [record_time(line) for line in lines]
    assert all(abs(t - time.time()) < 60 for t in stamps)
    assert stamps[-1] - stamps[0] > 7  # local time with its offset, as time.time() sees it
    # the text's offset is the local one of that instant
    for line, t in zip(lines, stamps):
        off = time.localtime(int(t)).tm_gmtoff
        sign = "-" if off < 0 else "+"
        assert line.split(" ", 1)[0][29:] == f"{sign}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"


def test_killed_container_exit_file_has_the_signal(env):
    env.bundle.set_args("sleep", "1000")
    mpid, _ = env.create()
    env.start()
    assert env.ctl("ping").startswith(f"ok {mpid} ")
    assert env.ctl("bogus") == "error unknown request"
    env.rt.cmd("kill", env.id, "KILL")
    info = env.exit_info()
    assert info["exit_code"] == 137 and info["signal"] == 9
    wait_for(lambda: not alive(mpid), "the monitor to exit")


def test_signals_to_the_monitor_are_ignored(env):
    env.bundle.sh("trap 'echo got-term; exit 7' TERM; echo ready; "
                  "while true; do sleep 0.05; done")
    mpid, _ = env.create()
    env.start()
    wait_for(lambda: ("stdout", "F", "ready") in env.records(), "ready")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        os.kill(mpid, sig)
    assert env.ctl("ping").startswith(f"ok {mpid} ")  # still serving after the signals
    env.rt.cmd("kill", env.id, "TERM")  # the container's handler is not inherited ignored
    info = env.exit_info()
    assert info["exit_code"] == 7
    assert ("stdout", "F", "got-term") in env.records()


def test_reopen_after_rename(env):
    env.bundle.sh("i=0; while true; do i=$((i+1)); echo line$i; sleep 0.02; done")
    env.create()
    env.start()
    wait_for(lambda: env.log.exists() and len(env.records()) >= 2, "some lines")
    rotated = env.log.with_suffix(".log.1")
    env.log.rename(rotated)
    assert env.ctl("reopen") == "ok"
    wait_for(lambda: env.log.exists() and len(env.records()) >= 2, "lines in the new file")
    old = [int(r[2][4:]) for r in env.records(rotated)]
    new = [int(r[2][4:]) for r in env.records()]
    assert old and new and max(old) < min(new)
    assert old == list(range(1, len(old) + 1))  # nothing lost or split across the rename
    assert new == list(range(new[0], new[0] + len(new)))
    env.rt.cmd("kill", env.id, "KILL")
    env.exit_info()


def test_reopen_error_is_reported(env):
    env.bundle.set_args("sleep", "1000")
    env.create()
    env.log.parent.rename(env.log.parent.with_name("gone"))
    reply = env.ctl("reopen")
    assert reply.startswith("error ") and str(env.log) in reply
    env.rt.cmd("kill", env.id, "KILL")
    env.exit_info()


def test_monitor_survives_its_spawner(env):
    """mascrid may restart: the monitor is detached from whoever started it."""
    env.bundle.sh("sleep 0.5; echo done")
    env.bundle.write()
    # the spawner: a shell (fd 3 = the sync pipe) that starts the monitor and exits at once
    r, w = os.pipe()
    argv = " ".join(f"'{a}'" for a in env.create_argv())
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDWR, 0),
               (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2),
               (os.POSIX_SPAWN_DUP2, w, 3)]
    sh = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", f"{argv} & exit 0"], os.environ,
                        file_actions=actions, setsid=True)
    os.close(w)
    _, st = os.waitpid(sh, 0)
    assert os.waitstatus_to_exitcode(st) == 0
    with os.fdopen(r, "rb") as f:
        line = f.readline().decode()
    m = re.match(r"^ok (\d+) (\d+)\n$", line)
    assert m, line
    mpid = int(m.group(1))
    env.monitors.append(mpid)
    assert alive(mpid) and ppid(mpid) != sh and ppid(mpid) != os.getpid()
    env.start()
    assert env.exit_info()["exit_code"] == 0
    assert ("stdout", "F", "done") in env.records()


def test_create_errors_are_reported_on_the_sync_fd(env):
    env.bundle.set_args("/no/such/command")
    env.bundle.write()
    line = env.spawn(env.create_argv())
    assert re.match(r"^error NOT_FOUND .*/no/such/command", line), line
    assert not env.socket_dir.exists()
    assert not (env.rt.root / env.id).exists()
    # a bundle without config.json
    (env.bundle.path / "config.json").unlink()
    line = env.spawn(env.create_argv())
    assert re.match(r"^error [A-Z_]+ .*config\.json", line), line
    # bad arguments
    line = env.spawn([MONITOR, "create", "--id", env.id], first_rc=1)  # before any fork
    assert line.startswith("error INVALID_ARGUMENT ") and "required" in line, line


def test_stdin_pipe_or_dev_null(env):
    env.bundle.sh("readlink /proc/self/fd/0")
    env.create()
    env.start()
    env.exit_info()
    assert env.records() == [("stdout", "F", "/dev/null")]


def test_stdin_held_open(env):
    env.bundle.sh("readlink /proc/self/fd/0; cat; echo after-cat")
    mpid, _ = env.create("--stdin")
    env.start()
    wait_for(lambda: env.log.exists() and env.records(), "the first record")
    assert re.match(r"^pipe:\[\d+\]$", env.records()[0][2])
    assert alive(mpid) and not env.exit_file.exists()  # cat still reads the held pipe
    env.rt.cmd("kill", env.id, "KILL")
    assert env.exit_info()["exit_code"] == 137
    assert ("stdout", "F", "after-cat") not in env.records()


def test_no_fds_leak_into_the_container(env):
    env.bundle.sh("ls /proc/self/fd")
    env.create("--stdin")
    env.start()
    env.exit_info()
    # ls lists 0 1 2 and its own directory fd
    fds = sorted(int(r[2]) for r in env.records())
    assert fds == [0, 1, 2, 3]


def test_terminal(env):
    env.bundle.sh("tty; echo hello")
    env.create("--terminal")
    env.start()
    assert env.exit_info()["exit_code"] == 0
    recs = env.records()
    assert all(r[0] == "stdout" for r in recs)
    text = [r[2].rstrip("\r") for r in recs]
    assert text[0].startswith("/dev/pts/") and "hello" in text


def process_file(env, tmp_path, *args, terminal=False):
    p = dict(env.bundle.config["process"])
    p["args"] = list(args)
    p["terminal"] = terminal
    path = tmp_path / f"process-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(p))
    return path


class Exec:
    """`mascri-monitor exec` as mascrid runs it: stdin /dev/null, stdout/stderr pipes, fd 3
    the status pipe."""

    def __init__(self, env, pfile, *extra):
        argv = [MONITOR, "exec", "--id", env.id, "--runtime-root", str(env.rt.root),
                "--process", str(pfile), *extra]
        pipes = [os.pipe() for _ in range(3)]
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)]
        actions += [(os.POSIX_SPAWN_DUP2, w, fd) for fd, (_, w) in zip((1, 2, 3), pipes)]
        self.pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        for _, w in pipes:
            os.close(w)
        self.fds = [r for r, _ in pipes]
        self.data = [b"", b"", b""]
        self.returncode = None

    def read_until(self, i, text):
        while text not in self.data[i]:
            r, _, _ = select.select([self.fds[i]], [], [], WAIT_S)
            assert r, f"no {text!r} on fd {i + 1}"
            chunk = os.read(self.fds[i], 65536)
            assert chunk, f"EOF before {text!r}"
            self.data[i] += chunk

    def finish(self):
        """Reads every pipe to EOF and reaps; returns (stdout, stderr, status line)."""
        open_ = list(self.fds)
        while open_:
            r, _, _ = select.select(open_, [], [], WAIT_S)
            assert r, "the exec helper hangs"
            for fd in r:
                chunk = os.read(fd, 65536)
                if chunk:
                    self.data[self.fds.index(fd)] += chunk
                else:
                    open_.remove(fd)
                    os.close(fd)
        _, st = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(st)
        return self.data[0], self.data[1], self.data[2].decode()


def running(env, tmp_path):
    env.bundle.set_args("sleep", "1000")
    env.create()
    env.start()


def test_exec_status_and_output(env, tmp_path):
    running(env, tmp_path)
    pfile = process_file(env, tmp_path, "sh", "-c", "echo o; echo e >&2; exit 5")
    x = Exec(env, pfile)
    assert x.finish() == (b"o\n", b"e\n", "exit 5\n")
    assert x.returncode == 0


def test_exec_terminal(env, tmp_path):
    running(env, tmp_path)
    pfile = process_file(env, tmp_path, "sh", "-c", "tty; echo hi", terminal=True)
    x = Exec(env, pfile, "--terminal")
    out, _, status = x.finish()
    assert status == "exit 0\n"
    lines = out.decode().replace("\r", "").splitlines()
    assert lines[0].startswith("/dev/pts/") and lines[1] == "hi"


def test_exec_sigterm_kills_the_process(env, tmp_path):
    running(env, tmp_path)
    pfile = process_file(env, tmp_path, "sh", "-c", "echo started; exec sleep 1000")
    x = Exec(env, pfile)
    x.read_until(0, b"started\n")
    os.kill(x.pid, signal.SIGTERM)
    assert x.finish()[2] == "exit 137\n"
    assert x.returncode == 0
    pids = env.rt.cmd("ps", "--format", "json", env.id).stdout
    assert len(json.loads(pids)) == 1  # only the init is left


def test_exec_errors(env, tmp_path):
    running(env, tmp_path)
    pfile = process_file(env, tmp_path, "/no/such/binary")
    line = Exec(env, pfile).finish()[2]
    assert line.startswith("exit ") or line.startswith("error "), line
    assert line != "exit 0\n"
    pfile = process_file(env, tmp_path, "true")
    env.bundle.id = "nosuch" + uuid.uuid4().hex[:6]
    x = Exec(env, pfile)
    assert re.match(r"^error NOT_FOUND ", x.finish()[2])
    assert x.returncode == 1
