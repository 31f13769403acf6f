#!/usr/bin/env bash
# Builds the test VM's initramfs: static busybox, tests/vm/initramfs-init as /init and the
# few modules that reach the host's root (virtio-pci + virtiofs, or 9p, and overlay) with
# what they depend on. Everything else comes from the shared host root.
# Usage: tests/vm/initramfs.sh KERNEL_TREE OUT.cpio.gz
set -euo pipefail
tree=${1:?usage: initramfs.sh KERNEL_TREE OUT}
out=${2:?usage: initramfs.sh KERNEL_TREE OUT}
here=$(cd "$(dirname "$0")" && pwd)
kver=$(ls "$tree/lib/modules" | head -1)
mods=$tree/lib/modules/$kver
busybox=$(command -v busybox)
file -L "$busybox" 2>/dev/null | grep -q "statically linked" || [ -x /bin/busybox ] || {
  echo "initramfs.sh: no static busybox (apt package busybox-static)" >&2
  exit 77
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,proc,sys,dev,lower,upper,newroot} "$work/lib/modules/$kver"
cp /bin/busybox "$work/bin/busybox"
ln -s busybox "$work/bin/sh"
cp "$here/initramfs-init" "$work/init"
chmod 0755 "$work/init"

# the wanted modules and every module they depend on (modules.dep lists them all)
want=(virtio_pci virtiofs overlay 9p 9pnet_virtio)
: >"$work/lib/modules/$kver/modules.dep"
declare -A seen=()
for m in "${want[@]}"; do
  line=$(grep -E "/$m\.ko(\.[a-z]+)?:" "$mods/modules.dep" || true)
  [ -n "$line" ] || continue
  for f in ${line/:/ }; do
    [ -n "${seen[$f]:-}" ] && continue
    seen[$f]=1
    mkdir -p "$work/lib/modules/$kver/$(dirname "$f")"
    cp "$mods/$f" "$work/lib/modules/$kver/$f"
    grep -E "^$f:" "$mods/modules.dep" >>"$work/lib/modules/$kver/modules.dep"
  done
done
(cd "$work" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
