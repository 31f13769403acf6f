"""OCI runtime hardening: attacks from a hostile rootfs or config that must fail
(runc/crun CVE classes: 2019-5736, 2021-30465, 2024-21626, masked-path and procfs races)."""
import errno
import fcntl
import os
import socket
import array
import time

import pytest

from runtime_bundle import Bundle, Runtime, bundle, rt, run  # noqa: F401 (fixtures)


def host_mounts():
    return open("/proc/self/mountinfo").read()


def test_symlinked_mount_target_stays_inside_rootfs(rt, bundle, tmp_path):
    """CVE-2021-30465 class: a mount destination that is a symlink to a host path."""
    host = tmp_path / "host-target"
    host.mkdir()
    (host / "marker").write_text("host")
    (bundle.rootfs / "evil").symlink_to(str(host))                 # absolute
    (bundle.rootfs / "evil2").symlink_to("../../../../../../" + str(host))  # climbing
    bundle.config["mounts"] += [
        {"destination": "/evil", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/evil2/sub", "type": "tmpfs", "source": "tmpfs"},
    ]
    bundle.config["root"]["readonly"] = False
    res = run(rt, bundle.sh(f"grep -c ' {host}' /proc/self/mountinfo; ls {host}"))
    assert res.returncode == 0, res.stderr
    # the mounts landed on <rootfs>/<host path>, inside the container's root
    assert res.stdout.splitlines()[0] == "2"
    assert (host / "marker").read_text() == "host"
    assert not (host / "sub").exists(), "nothing created through the symlink on the host"
    assert str(host) not in host_mounts()
    assert (bundle.rootfs / str(host).lstrip("/")).is_dir()


def test_leaked_fd_as_cwd_is_refused(rt, bundle, tmp_path):
    """CVE-2024-21626 class: cwd through an fd the runtime inherited from the host."""
    secret = tmp_path / "host-secret"
    secret.mkdir()
    fd = os.open(str(secret), os.O_RDONLY | os.O_DIRECTORY)
    try:
        bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
        res = run(rt, bundle.sh("ls"), pass_fds=(fd,))
    finally:
        os.close(fd)
    assert res.returncode != 0
    assert "outside the container root" in res.stderr


def test_no_host_fd_reaches_the_container(rt, bundle, tmp_path):
    low = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    fd = fcntl.fcntl(low, fcntl.F_DUPFD, 100)  # well above what `ls` itself opens
    os.close(low)
    try:
        res = run(rt, bundle.sh("ls /proc/self/fd"), pass_fds=(fd,))
    finally:
        os.close(fd)
    assert res.returncode == 0, res.stderr
    # 0, 1, 2 and the directory fd of `ls` itself
    assert len(res.stdout.split()) <= 4
    assert str(fd) not in res.stdout.split()


def test_masked_path_symlink_resolves_in_root(rt, bundle):
    (bundle.rootfs / "data").mkdir()
    (bundle.rootfs / "data" / "secret").write_text("in-rootfs-secret")
    (bundle.rootfs / "evil").symlink_to("/data/secret")
    (bundle.rootfs / "evil2").symlink_to("../../../../etc/hostname")
    (bundle.rootfs / "etc" / "hostname").write_text("rootfs-hostname")
    bundle.config["linux"]["maskedPaths"] += ["/evil", "/evil2"]
    res = run(rt, bundle.sh("cat /data/secret /etc/hostname | wc -c"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0"
    assert open("/etc/hostname").read().strip() != ""


def test_fake_dev_null_is_not_used_for_masking(rt, bundle):
    """/dev/null of the rootfs itself (no /dev tmpfs) must be the real null device."""
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if not m["destination"].startswith("/dev")]
    (bundle.rootfs / "dev" / "null").write_text("not a device")
    res = run(rt, bundle.set_args("true"))
    assert res.returncode != 0
    assert "not the null device" in res.stderr


def test_sysctl_key_cannot_escape_proc_sys(rt, bundle):
    bundle.config["linux"]["sysctl"] = {"kernel/../../sysrq-trigger": "h"}
    res = run(rt, bundle.set_args("true"))
    assert res.returncode != 0
    assert "invalid key" in res.stderr


def test_runtime_binary_seen_by_the_container_is_a_sealed_memfd(rt, bundle):
    """CVE-2019-5736 class: the init (the process a container can reach before exec) runs
    from a sealed memfd copy, so /proc/<pid>/exe cannot be opened for writing."""
    bundle.set_args("true").write()
    rt.cmd("create", "--bundle", str(bundle.path), bundle.id)
    pid = rt.state(bundle.id)["pid"]
    exe = f"/proc/{pid}/exe"
    assert os.readlink(exe).startswith("/memfd:mascri")
    with pytest.raises(OSError) as e:
        os.open(exe, os.O_WRONLY)
    assert e.value.errno in (errno.EPERM, errno.ETXTBSY, errno.EACCES)


def recv_fd(conn):
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    return fds[0]


def test_console_socket_gets_a_devpts_master(rt, bundle, tmp_path):
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    bundle.config["process"]["terminal"] = True
    bundle.sh("tty; echo from-tty").write()
    rt.cmd("run", "-d", "--console-socket", path, "--bundle", str(bundle.path), bundle.id)
    conn, _ = srv.accept()
    master = recv_fd(conn)
    out = b""
    deadline = time.monotonic() + 10
    while b"from-tty" not in out and time.monotonic() < deadline:
        try:
            out += os.read(master, 4096)
        except OSError:
            break
    os.close(master)
    conn.close()
    srv.close()
    assert b"/dev/pts/0" in out or b"/dev/console" in out
    assert b"from-tty" in out
