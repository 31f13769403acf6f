#!/usr/bin/env bash
# Runs a command inside a VM booted on Debian 12's stock kernel (linux-image-cloud-amd64,
# 6.1) under qemu with TCG (no KVM needed), on the host's own root filesystem shared
# read-only (virtiofs; 9p on kernels that have it) under a tmpfs overlay: python3, grpcio,
# busybox and the freshly built binaries are all there, nothing is copied. The VM has cgroup2
# only, tmpfs on /tmp, /run, /var/lib/mascri, and loopback networking only.
#
# Usage: tests/vm/run.sh [options] -- CMD [ARGS...]
#   --init plain|systemd  PID 1: a small bash init (default), or the host's systemd
#   --share DIR           also share DIR writable, at the same path (repeatable)
#   --env VAR=VALUE       set in the command's environment (MASCRI_* and PATH pass anyway)
#   --timeout SECONDS     power the VM off after this long (default 900); exit 124
#   --mem MIB, --cpus N   VM size (default 2048, 2)
#   --cache DIR           kernel/initramfs cache (default build/vm-cache)
#   --log FILE            serial console log (default in the run directory)
#   -q                    do not echo the command's output live (it is printed at the end)
# The command runs in the current directory with the caller's PATH. Its output is echoed;
# the exit status is the command's, 77 when qemu or the kernel cannot be had (skip), 125
# when the VM died before the command finished.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

mode=plain timeout=900 mem=2048 cpus=2 cache=$top/build/vm-cache log= quiet=0
shares=() envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --init) mode=$2; shift 2 ;;
    --share) shares+=("$(cd "$2" && pwd)") || exit 2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    -q) quiet=1; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [--init plain|systemd] [--share DIR] [--env V=X] [--timeout S] -- CMD..." >&2
       exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "$0: no command" >&2; exit 2; }
case "$mode" in plain | systemd) ;; *) echo "$0: --init plain|systemd" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "vm: SKIP: needs root (virtiofsd)" >&2; exit 77; }

qemu=$(command -v qemu-system-x86_64) || {
  echo "vm: SKIP: no qemu-system-x86_64 (apt package qemu-system-x86)" >&2
  exit 77
}
tree=$("$here/kernel.sh" "$cache") || {
  echo "vm: SKIP: the kernel package cannot be had" >&2
  exit 77
}
kver=$(ls "$tree/lib/modules" | head -1)
vmlinuz=$tree/boot/vmlinuz-$kver
virtiofsd=
for c in /usr/libexec/virtiofsd /usr/lib/qemu/virtiofsd "$(command -v virtiofsd 2>/dev/null)"; do
  [ -n "$c" ] && [ -x "$c" ] && { virtiofsd=$c; break; }
done
if [ -n "$(find "$tree/lib/modules/$kver" -name 'virtiofs.ko*' | head -1)" ] && [ -n "$virtiofsd" ]; then
  root=virtiofs
elif [ -n "$(find "$tree/lib/modules/$kver" -name '9p.ko*' | head -1)" ]; then
  root=9p
else
  echo "vm: SKIP: kernel $kver has no 9p and no virtiofsd is installed" >&2
  exit 77
fi

# the initramfs, rebuilt when its scripts change
stamp=$(cat "$here/initramfs-init" "$here/initramfs.sh" | sha256sum | cut -c1-12)
initrd=$cache/initrd-$kver-$stamp.gz
if [ ! -f "$initrd" ]; then
  "$here/initramfs.sh" "$tree" "$initrd" || { echo "vm: cannot build the initramfs" >&2; exit 125; }
fi

mkdir -p "$top/build/vm-run"
run=$(mktemp -d "$top/build/vm-run/run-XXXXXX")
out=$run/out
mkdir -p "$out"
log=${log:-$run/console.log}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the command: same directory, the caller's PATH and MASCRI_* variables
{
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'export PATH=%q HOME=/root LANG=C.UTF-8\n' "$PATH"
  while IFS='=' read -r -d '' k v; do
    case "$k" in MASCRI_*) printf 'export %s=%q\n' "$k" "$v" ;; esac
  done < <(env -0)
  for e in "${envs[@]}"; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$out/cmd"

# shares: tag hostroot (read-only in the guest), out and --share dirs (writable)
dev_args=() share_args=""
add_share() { # tag dir cache-mode
  if [ "$root" = virtiofs ]; then
    "$virtiofsd" --socket-path="$run/$1.sock" -o source="$2" -o cache="$3" \
      -o sandbox=chroot -o log_level=err >>"$run/virtiofsd.log" 2>&1 &
    pids+=($!)
    dev_args+=(-chardev "socket,id=$1,path=$run/$1.sock"
      -device "vhost-user-fs-pci,queue-size=1024,chardev=$1,tag=$1")
  else
    dev_args+=(-virtfs "local,path=$2,mount_tag=$1,security_model=passthrough,id=$1$4")
  fi
}
add_share hostroot / always ",readonly=on"
add_share out "$out" auto ""
share_args="mascri.share=out:$out"
i=0
for s in "${shares[@]}"; do
  add_share "share$i" "$s" auto ""
  share_args="$share_args mascri.share=share$i:$s"
  i=$((i + 1))
done
if [ "$root" = virtiofs ]; then
  for t in hostroot out $(seq -f 'share%g' 0 $((i - 1)) 2>/dev/null); do
    for _ in $(seq 50); do [ -S "$run/$t.sock" ] && break; sleep 0.1; done
  done
  mem_args=(-object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -machine memory-backend=mem)
else
  mem_args=()
fi

append="console=ttyS0 panic=-1 quiet loglevel=4 systemd.show_status=0"
append="$append mascri.root=$root mascri.mode=$mode mascri.vmdir=$here mascri.out=$out"
append="$append mascri.modules=$tree/lib/modules/$kver $share_args"
start=$(date +%s.%N)
"$qemu" -machine q35,accel=tcg -cpu max -smp "$cpus" -m "${mem}M" "${mem_args[@]}" \
  -kernel "$vmlinuz" -initrd "$initrd" -append "$append" "${dev_args[@]}" \
  -nographic -serial "file:$log" -monitor none -nic none -no-reboot \
  </dev/null >"$run/qemu.log" 2>&1 &
qpid=$!
pids+=("$qpid")

# follow the output while the VM runs; stop it at the timeout
tail_pid=
if [ "$quiet" = 0 ]; then
  (while [ ! -f "$out/output" ]; do sleep 0.5; done; exec tail -n +1 -f "$out/output") &
  tail_pid=$!
  pids+=("$tail_pid")
fi
deadline=$(($(date +%s) + timeout))
timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    timed_out=1
    kill "$qpid"
    break
  fi
  sleep 0.5
done
wait "$qpid" 2>/dev/null
sleep 0.3
[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
[ "$quiet" = 1 ] && [ -f "$out/output" ] && cat "$out/output"
end=$(date +%s.%N)

boot=$(cat "$out/boot-seconds" 2>/dev/null || echo "?")
printf 'vm: kernel %s (%s root, %s init): booted in %s s, ran for %.1f s in all\n' \
  "$kver" "$root" "$mode" "$boot" "$(awk "BEGIN {print $end - $start}")" >&2
if [ "$timed_out" = 1 ]; then
  echo "vm: timed out after ${timeout}s; console: $log" >&2
  tail -20 "$log" >&2
  exit 124
fi
if [ ! -f "$out/rc" ]; then
  echo "vm: the VM stopped before the command finished; console: $log" >&2
  tail -30 "$log" >&2
  cat "$run/qemu.log" >&2
  exit 125
fi
rc=$(cat "$out/rc")
rm -rf "$run"
exit "$rc"
