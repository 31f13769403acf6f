"""Where the tests find mascri's build and sources."""
import os
from pathlib import Path

TOP = Path(__file__).resolve().parents[3]
BUILD_DIR = Path(os.environ.get("MASCRI_BUILD_DIR", TOP / "build")).resolve()
BIN_DIR = BUILD_DIR / "src"
# The test drivers (tests/integration/tools): built with the tests, never installed.
TOOLS_DIR = BUILD_DIR / "tests" / "integration" / "tools"
PROTO = TOP / "proto" / "api.proto"


def binary(name):
    """Path of a built mascri binary (mascri, mascrid, mascri-pause, mascri-monitor)."""
    return BIN_DIR / name


def tool_path(name):
    """Path of a test driver (netns-tool, cri-server-tool, ...)."""
    return TOOLS_DIR / name
