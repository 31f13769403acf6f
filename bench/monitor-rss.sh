#!/bin/sh
# mascri-monitor memory per container (issue 6), see bench/monitor_rss.py. Numbers only,
# never asserted. Usage (root): bench/monitor-rss.sh [BUILD_DIR] [N] [monitor_rss.py options]
# BUILD_DIR defaults to $MASCRI_BUILD_DIR, else build/ of the source tree; N to 10.
top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
build=$(realpath "${1:-${MASCRI_BUILD_DIR:-$top/build}}") || exit 1
n=${2:-10}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
cd "$top" || exit 1
exec /usr/bin/python3 bench/monitor_rss.py --build-dir "$build" -n "$n" "$@"
