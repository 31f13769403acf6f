#!/usr/bin/env bash
# Installs everything mascri needs to build, run and test on Debian 12 (as root).
# Idempotent and non-interactive. Usage: scripts/install-deps.sh [build|run|test|bench]
#   build: to compile; run: build + what mascrid execs or needs at run time (scripts/run.sh);
#   test: run + the test tools; bench: test + the benchmark tools.
set -euo pipefail

what=${1:-test}

build_pkgs=(
  build-essential meson ninja-build pkg-config clang-format
  libseccomp-dev libcap-dev libarchive-dev libcurl4-openssl-dev libyajl-dev
  libmnl-dev libcmocka-dev libprotobuf-c-dev protobuf-c-compiler libnghttp2-dev
  libssl-dev nettle-dev libsystemd-dev libzstd-dev zlib1g-dev libhttp-parser-dev libwslay-dev
)
# What the daemon needs at run time beyond its shared libraries (the -dev packages above pull
# those in): nft for the built-in network's NAT/port mappings (src/netns/nft.c finds it in
# $PATH, /usr/sbin, /sbin), the CA bundle for pulls from HTTPS registries, and iproute2 (`ip`,
# not run by mascrid, which speaks netlink itself, but what an operator uses to look at the
# pod bridge and netns). CNI plugins (containernetworking-plugins) are needed only with
# --network cni, where a missing plugin is an error naming the package.
run_pkgs=(nftables ca-certificates iproute2)
test_pkgs=(
  python3 python3-grpcio python3-protobuf protobuf-compiler python3-pytest
  docker-registry skopeo umoci busybox-static iproute2 nftables
  containernetworking-plugins apache2-utils openssl attr zstd python3-cryptography
  iputils-ping iptables runc containerd podman curl
  qemu-system-x86
)
bench_pkgs=(hyperfine debootstrap)

pkgs=("${build_pkgs[@]}")
case "$what" in
  build) ;;
  run) pkgs+=("${run_pkgs[@]}") ;;
  test) pkgs+=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) pkgs+=("${run_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|run|test|bench]" >&2; exit 2 ;;
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
