#!/usr/bin/env bash
# README command 1: install what is needed, build, and run mascrid in the foreground with
# embedded defaults (socket /run/mascri/mascri.sock, state /var/lib/mascri and /run/mascri).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
scripts/build.sh build
exec build/src/mascrid "$@"
