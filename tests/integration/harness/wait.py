"""Polling until a condition holds, for the tests that watch processes, files and state."""
import time


def wait_for(cond, what="condition", timeout=30, interval=0.02):
    """Calls cond() every interval seconds until it returns something true and returns that;
    raises AssertionError naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
