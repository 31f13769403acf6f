"""`meson install` as a packager or admin runs it: a DESTDIR staged install puts the
binaries, the systemd units (verified by systemd-analyze), the tmpfiles.d entry and the
commented configuration where systemd and mascrid look; and mascrid under socket activation
(a listening socket passed as systemd does: fd 3, LISTEN_FDS, LISTEN_PID)."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import pytest

from harness.cri_client import CRIClient
from harness.daemon import umount_under
from harness.paths import BUILD_DIR, TOP, binary

BINARIES = ["mascrid", "mascri", "mascri-image", "mascri-monitor",
            "mascri-pause"]


def meson_install(destdir):
    r = subprocess.run(["meson", "install", "-C", str(BUILD_DIR), "--no-rebuild", "--destdir",
                        str(destdir)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    meson_install(dest)
    return dest


def test_binaries_installed_and_run(staged):
    for name in BINARIES:
        p = staged / "usr/local/bin" / name
        assert p.is_file() and os.access(p, os.X_OK), name
    r = subprocess.run([str(staged / "usr/local/bin/mascrid"), "--version"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr


def test_units_installed_and_verified(staged, tmp_path):
    unit_dir = staged / "usr/local/lib/systemd/system"
    service = (unit_dir / "mascri.service").read_text()
    assert re.search(r"^ExecStart=/usr/local/bin/mascrid$", service, re.M), service
    for line in ["Type=notify", "Delegate=yes", "KillMode=process", "TasksMax=infinity",
                 "OOMScoreAdjust=-999", "Restart=on-failure"]:
        assert re.search(rf"^{line}$", service, re.M), line
    assert re.search(r"^LimitNOFILE=\d+$", service, re.M)
    sock = (unit_dir / "mascri.socket").read_text()
    assert re.search(r"^ListenStream=/run/mascri/mascri.sock$", sock, re.M)
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart exists: point it at the staged binary.
    (tmp_path / "mascri.service").write_text(
        service.replace("ExecStart=/usr/local/bin/", f"ExecStart={staged}/usr/local/bin/"))
    shutil.copy(unit_dir / "mascri.socket", tmp_path / "mascri.socket")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(tmp_path / "mascri.service"), str(tmp_path / "mascri.socket")],
                       capture_output=True, text=True, timeout=120)
    # verify exits 0 on unknown keys too; it warns on stderr.
    assert r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "", r.stderr


def test_tmpfiles_entry_creates_the_state_dir(staged, tmp_path):
    conf = staged / "usr/local/lib/tmpfiles.d/mascri.conf"
    assert conf.is_file()
    if shutil.which("systemd-tmpfiles") is None:
        pytest.skip("systemd-tmpfiles is not installed")
    root = tmp_path / "root"
    root.mkdir()
    r = subprocess.run(["systemd-tmpfiles", "--create", f"--root={root}", str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    st = os.stat(root / "run/mascri")
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0


def options_of_help():
    r = subprocess.run([str(binary("mascrid")), "--help"], capture_output=True, text=True,
                       timeout=30)
    opts = set(re.findall(r"^\s+--([a-z-]+)", r.stdout, re.M))
    return opts - {"config", "version", "help"}


def test_config_explains_every_option_and_parses(staged):
    conf = staged / "etc/mascri/mascri.conf"
    text = conf.read_text()
    assert text == (staged / "usr/local/share/doc/mascri/mascri.conf").read_text()
    for opt in options_of_help():
        assert f'// "{opt}":' in text, f"mascri.conf does not document {opt}"
    # As installed (all commented out): mascrid accepts it (yajl skips the comments).
    r = subprocess.run([str(binary("mascrid")), "--config", str(conf), "--network", "bogus"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--network" in r.stderr and "mascri.conf" not in r.stderr, \
        r.stderr


def test_config_with_a_setting_uncommented_takes_effect(staged, daemon_factory, tmp_path):
    text = (staged / "etc/mascri/mascri.conf").read_text()
    text = text.replace('// "log-format": "text"', '"log-format": "json"')
    conf = tmp_path / "mascri.conf"
    conf.write_text(text)
    d = daemon_factory(["--config", str(conf)])
    assert d.log_path.read_text().lstrip().startswith("{"), d.log_tail()


def test_reinstall_keeps_the_admins_config(tmp_path):
    meson_install(tmp_path)
    conf = tmp_path / "etc/mascri/mascri.conf"
    conf.write_text('{"log-level": "debug"}\n')
    meson_install(tmp_path)
    assert conf.read_text() == '{"log-level": "debug"}\n'


class Activated:
    """mascrid started as systemd starts it for mascri.socket: the bound, listening socket
    as fd 3, LISTEN_FDS=1 and LISTEN_PID naming mascrid itself."""

    def __init__(self, tmp, listener):
        self.tmp = tmp
        self.listener = listener
        self.log = tmp / "mascrid.log"
        self.proc = None

    def start(self, extra_env=None):
        fd = self.listener.fileno()
        extra_env = extra_env or {}

        def child():
            os.dup2(fd, 3)
            os.environ["LISTEN_FDS"] = "1"
            os.environ["LISTEN_PID"] = str(os.getpid())
            os.environ.update(extra_env)

        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(binary("mascrid")), "--socket", str(self.tmp / "run/mascri.sock"),
                 "--root", str(self.tmp / "root"), "--state", str(self.tmp / "run"),
                 "--network", "none"],
                stdout=log, stderr=subprocess.STDOUT, pass_fds=(3,), preexec_fn=child)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


def version(path, timeout=30):
    c = CRIClient(path)
    try:
        return c.runtime.Version(c.pb.VersionRequest(), timeout=timeout)
    finally:
        c.close()


def test_socket_activation(tmp_path):
    (tmp_path / "run").mkdir()
    path = tmp_path / "run/mascri.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    a = Activated(tmp_path, listener)
    try:
        a.start()
        assert version(path).runtime_name
        log = a.log.read_text()
        assert "socket passed by systemd" in log, log
        # The socket is systemd's: mascrid leaves it at exit, and a client that connects
        # while no mascrid runs is served by the next one (the backlog keeps it).
        assert a.stop() == 0
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        c = CRIClient(path)
        fut = c.runtime.Version.future(c.pb.VersionRequest(), timeout=60)
        time.sleep(0.5)
        a.start()
        assert fut.result().runtime_name
        c.close()
        assert a.stop() == 0
    finally:
        if a.proc and a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()
        listener.close()
        umount_under(tmp_path)


def test_socket_activation_rejects_a_non_listening_fd(tmp_path):
    (tmp_path / "run").mkdir()
    with open(tmp_path / "not-a-socket", "w") as f:
        a = Activated(tmp_path, f)
        a.start()
        try:
            assert a.proc.wait(30) == 1
        finally:
            umount_under(tmp_path)
    assert "not a listening unix stream socket" in a.log.read_text()
