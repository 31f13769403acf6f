#!/usr/bin/env bash
# Pull + unpack of a multi-layer image (>= 100 MB unpacked, files of Debian packages) from a
# local docker-registry: mascri vs skopeo copy + umoci unpack, and vs containerd's ctr (pull
# with unpack into the overlayfs snapshotter) when containerd is installed.
# Usage: bench/image-pull.sh [BUILD_DIR] [RUNS]   (root; prints medians and ratios)
# MASCRI_BENCH_ROOTFS=DIR uses a debootstrap'd root filesystem instead (e.g. made with
# `debootstrap --variant=minbase bookworm DIR`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
runs=${2:-3}
mascri=$build/src/mascri
work=$(mktemp -d /var/tmp/mascri-bench-image.XXXXXX)
coproc REG { /usr/bin/python3 "$top/bench/image_pull_registry.py"; }
ctrd_pid=
cleanup() {
  [ -n "$ctrd_pid" ] && kill "$ctrd_pid" 2>/dev/null && wait "$ctrd_pid" 2>/dev/null || true
  exec {REG[1]}>&- 2>/dev/null || true
  wait "$REG_PID" 2>/dev/null || true
  grep -o " $work[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
read -r ref bytes nlayers <&"${REG[0]}"
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "image: $ref  ($nlayers layers, $mb MB of file data unpacked)"

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

run_mascri() {
  rm -rf "$work/mascri"
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local t0; t0=$(now)
  "$mascri" image --root "$work/mascri" pull -q "$ref" >/dev/null
  awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f\n", a - b }'
}

run_skopeo_umoci() {
  rm -rf "$work/oci" "$work/bundle"
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local t0; t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:v1" >/dev/null
  umoci unpack --image "$work/oci:v1" "$work/bundle" >/dev/null
  awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f\n", a - b }'
}

start_containerd() {
  mkdir -p "$work/ctrd"
  cat > "$work/ctrd/config.toml" <<TOML
version = 2
root = "$work/ctrd/root"
state = "$work/ctrd/state"
[grpc]
  address = "$work/ctrd/sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
TOML
  containerd --config "$work/ctrd/config.toml" >"$work/ctrd/log" 2>&1 &
  ctrd_pid=$!
  for _ in $(seq 100); do [ -S "$work/ctrd/sock" ] && return 0; sleep 0.1; done
  return 1
}

run_ctr() {
  ctr -a "$work/ctrd/sock" -n bench images rm "$ref" >/dev/null 2>&1 || true
  ctr -a "$work/ctrd/sock" -n bench content prune references >/dev/null 2>&1 || true
  for s in $(ctr -a "$work/ctrd/sock" -n bench snapshots ls 2>/dev/null | awk 'NR > 1 { print $1 }'); do
    ctr -a "$work/ctrd/sock" -n bench snapshots rm "$s" >/dev/null 2>&1 || true
  done
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local t0; t0=$(now)
  ctr -a "$work/ctrd/sock" -n bench images pull --plain-http --snapshotter overlayfs "$ref" >/dev/null
  awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f\n", a - b }'
}

declare -A res
for tool in mascri skopeo_umoci; do
  for _ in $(seq "$runs"); do "run_$tool"; done > "$work/$tool.times"
  res[$tool]=$(median < "$work/$tool.times")
done
if command -v containerd >/dev/null && command -v ctr >/dev/null && start_containerd; then
  for _ in $(seq "$runs"); do run_ctr; done > "$work/ctr.times"
  res[ctr]=$(median < "$work/ctr.times")
fi

printf '%-22s %8s %10s %12s\n' tool "median s" "MB/s" "vs mascri"
for tool in mascri skopeo_umoci ctr; do
  [ -n "${res[$tool]:-}" ] || continue
  awk -v t="${res[$tool]}" -v m="${res[mascri]}" -v b="$bytes" -v n="$tool" \
    'BEGIN { printf "%-22s %8.2f %10.1f %11.2fx\n", n, t, b / 1e6 / t, t / m }'
done
