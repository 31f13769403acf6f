"""OCI runtime-tools behaviours checked directly (runtime-tools itself is Go and not built
here): `kill` delivers the requested signal even right after start, to a PID-namespace init
that installs its handler a moment later (validation/killsig), exactly once."""
import time

import pytest

from runtime_bundle import Bundle, Runtime, bundle, rt, run  # noqa: F401 (fixtures)


def wait_status(rt, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rt.state(cid)["status"] == want:
            return
        time.sleep(0.02)
    raise AssertionError(f"{cid} never became {want}")


@pytest.mark.parametrize("sig", ["TERM", "USR1", "USR2"])
def test_kill_right_after_start_reaches_a_late_handler(rt, bundle, sig):
    # The init (sh, PID 1 of its namespace) has no handler for 0.2 s: the kernel would drop a
    # signal sent then. The trap appends one line per delivery.
    bundle.config["root"]["readonly"] = False
    bundle.sh(f"sleep 0.2; trap 'echo x >> /{sig}; exit 0' {sig}; sleep 10 & wait $!").write()
    rt.cmd("create", "--bundle", str(bundle.path), bundle.id)
    rt.cmd("start", bundle.id)
    rt.cmd("kill", bundle.id, sig)
    wait_status(rt, bundle.id, "stopped", timeout=5)
    assert (bundle.rootfs / sig).read_text() == "x\n"
