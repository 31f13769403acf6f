#!/bin/sh
# Pod startup bench of issue 6: mascrid vs containerd 1.6 + runc (when installed), same
# grpcio client; latency of RunPodSandbox -> CreateContainer -> StartContainer over N pods,
# daemon and per pod memory. See bench/pod_startup.py. Numbers only, never asserted.
# Usage (root): bench/pod-startup.sh [BUILD_DIR] [N] [more pod_startup.py options]
# BUILD_DIR defaults to $MASCRI_BUILD_DIR, else build/ of the source tree; N to 50.
top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
build=$(realpath "${1:-${MASCRI_BUILD_DIR:-$top/build}}") || exit 1
n=${2:-50}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
cd "$top" || exit 1
exec /usr/bin/python3 bench/pod_startup.py --build-dir "$build" -n "$n" "$@"
