#!/usr/bin/env bash
# Fetches Debian 12's stock cloud kernel (linux-image-cloud-amd64, 6.1) into a cache with
# `apt-get download` and unpacks it there, without installing anything on the host; runs
# busybox depmod on its modules. Prints the unpacked tree (with boot/vmlinuz-* and
# lib/modules/<version>/). Exit 77 when the package cannot be had (no apt, offline).
# Usage: tests/vm/kernel.sh CACHE_DIR   (env MASCRI_VM_KERNEL_DEB=/path/to.deb skips apt)
set -euo pipefail
cache=${1:?usage: kernel.sh CACHE_DIR}
meta=${MASCRI_VM_KERNEL_PACKAGE:-linux-image-cloud-amd64}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

deb=${MASCRI_VM_KERNEL_DEB:-}
if [ -z "$deb" ]; then
  command -v apt-cache >/dev/null || { echo "kernel.sh: no apt-cache to find $meta" >&2; exit 77; }
  # the metapackage names the versioned image package (linux-image-6.1.0-NN-cloud-amd64)
  pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    echo "kernel.sh: apt knows no $meta (run apt-get update?)" >&2
    exit 77
  fi
  deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    # apt's _apt user cannot write into root-owned build dirs: fetch into a temp dir it can
    tmp=$(mktemp -d)
    chmod 0777 "$tmp"
    if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then
      rm -rf "$tmp"
      echo "kernel.sh: apt-get download $pkg failed (offline?)" >&2
      exit 77
    fi
    mv "$tmp"/*.deb "$cache"/
    rm -rf "$tmp"
    deb=$(ls "$cache"/"$pkg"_*.deb | head -1)
  fi
fi

tree=$cache/$(basename "$deb" .deb)
if [ ! -f "$tree/.done" ]; then
  rm -rf "$tree"
  dpkg-deb -x "$deb" "$tree"
  kver=$(ls "$tree/lib/modules" | head -1)
  busybox depmod -b "$tree" "$kver"
  touch "$tree/.done"
fi
echo "$tree"
