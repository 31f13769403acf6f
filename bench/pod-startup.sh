#!/bin/sh
# Pod startup bench (partial, see bench/pod_startup.py). Usage: bench/pod-startup.sh [BUILD_DIR] [N]
cd "$(dirname "$0")/.." || exit 1
MASCRI_BUILD_DIR="$(realpath "${1:-build}")" exec /usr/bin/python3 bench/pod_startup.py "${2:-50}"
