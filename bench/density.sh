#!/bin/sh
# Density bench of issue 15: per-call cost (pod start, List*, List*Stats), mascrid RSS and
# per-pod Pss at 0, 250, 500 and 1,000 running pods, mascrid vs containerd + runc (up to what
# memory allows), same grpcio client. See bench/density.py. Numbers only, never asserted.
# Usage (root): bench/density.sh [BUILD_DIR] [LEVELS] [more density.py options]
# BUILD_DIR defaults to $MASCRI_BUILD_DIR, else build/ of the source tree; LEVELS to
# 0,250,500,1000.
top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
build=$(realpath "${1:-${MASCRI_BUILD_DIR:-$top/build}}") || exit 1
levels=${2:-0,250,500,1000}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
cd "$top" || exit 1
exec /usr/bin/python3 bench/density.py --build-dir "$build" --levels "$levels" "$@"
