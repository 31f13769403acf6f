"""pytest configuration for the integration tests: they run as root against real mascri
binaries (MASCRI_BUILD_DIR, default build/), a real local registry and the real kernel."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

pytest_plugins = [
    "harness.cri_client",
    "harness.daemon",
    "harness.registry",
    "harness.stalling_registry",
]


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        raise RuntimeError("the integration tests must run as root")
