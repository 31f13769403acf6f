#!/usr/bin/env bash
# Latency (p50/p99 of sequential calls) and throughput (8 client threads, one channel) of
# cheap CRI calls — Version, Status, ListImages, ImageFsInfo — over grpcio: mascrid vs
# containerd's CRI plugin (when containerd is installed), each on a private socket and
# state. Never asserted anywhere; numbers only.
# Usage: bench/cri-latency.sh [BUILD_DIR] [CALLS]   (root)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
n=${2:-2000}
work=$(mktemp -d /var/tmp/mascri-bench-cri.XXXXXX)
mascrid_pid= ctrd_pid=
cleanup() {
  [ -n "$mascrid_pid" ] && kill "$mascrid_pid" 2>/dev/null && wait "$mascrid_pid" 2>/dev/null || true
  [ -n "$ctrd_pid" ] && kill "$ctrd_pid" 2>/dev/null && wait "$ctrd_pid" 2>/dev/null || true
  grep -o " $work[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_socket() {
  for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
  echo "no socket $1" >&2; return 1
}

"$build/src/mascrid" --socket "$work/mascri/run/mascri.sock" --root "$work/mascri/root" \
  --state "$work/mascri/run" --network none --log-level error >"$work/mascrid.log" 2>&1 &
mascrid_pid=$!
wait_socket "$work/mascri/run/mascri.sock"
targets=("mascri=$work/mascri/run/mascri.sock")

if command -v containerd >/dev/null; then
  mkdir -p "$work/ctrd"
  cat > "$work/ctrd/config.toml" <<TOML
version = 2
root = "$work/ctrd/root"
state = "$work/ctrd/state"
[grpc]
  address = "$work/ctrd/sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  enable_cdi = false
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$work/ctrd/cni-bin"
  conf_dir = "$work/ctrd/cni-conf"
TOML
  containerd --config "$work/ctrd/config.toml" >"$work/ctrd/log" 2>&1 &
  ctrd_pid=$!
  wait_socket "$work/ctrd/sock"
  targets+=("containerd=$work/ctrd/sock")
else
  echo "(containerd not installed: mascri only)"
fi

/usr/bin/python3 "$top/bench/cri_latency.py" "$n" "${targets[@]}"
