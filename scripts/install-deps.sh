#!/usr/bin/env bash
# Installs everything mascri needs to build, run and test on Debian 12 (as root).
# Idempotent and non-interactive. Usage: scripts/install-deps.sh [build|test|bench]
set -euo pipefail

what=${1:-test}

build_pkgs=(
  build-essential meson ninja-build pkg-config clang-format
  libseccomp-dev libcap-dev libarchive-dev libcurl4-openssl-dev libyajl-dev
  libmnl-dev libcmocka-dev libprotobuf-c-dev protobuf-c-compiler libnghttp2-dev
  libssl-dev nettle-dev libsystemd-dev libzstd-dev zlib1g-dev libhttp-parser-dev libwslay-dev
)
test_pkgs=(
  python3 python3-grpcio python3-protobuf protobuf-compiler python3-pytest
  docker-registry skopeo umoci busybox-static iproute2 nftables
  containernetworking-plugins apache2-utils openssl attr zstd python3-cryptography
  iputils-ping iptables runc containerd podman
)
bench_pkgs=(hyperfine debootstrap)

pkgs=("${build_pkgs[@]}")
case "$what" in
  build) ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Packages such as docker-registry and containerd ship services; do not start them on install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
