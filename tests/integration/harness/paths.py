"""Where the tests find mascri's build and sources."""
import os
from pathlib import Path

TOP = Path(__file__).resolve().parents[3]
BUILD_DIR = Path(os.environ.get("MASCRI_BUILD_DIR", TOP / "build")).resolve()
BIN_DIR = BUILD_DIR / "src"
PROTO = TOP / "proto" / "api.proto"


def binary(name):
    """Path of a built mascri binary (mascri, mascrid, mascri-pause, mascri-monitor)."""
    return BIN_DIR / name
