#!/usr/bin/env bash
# Pod start-up with the systemd cgroup driver on a real systemd + pure cgroup v2 node (issue
# 14): boots the test VM (tests/vm/run.sh --init systemd: Debian 12's kernel under qemu TCG,
# systemd as PID 1, the host's root read-only) and runs bench/pod_startup.py inside it with
# --cgroup-driver systemd: mascrid --cgroup-manager systemd against Debian's containerd 1.6 +
# runc with SystemdCgroup = true, the same grpcio client, N timed pods each after W warm-up
# pods, kubelet's pod slices (kubepods-besteffort-pod<uid>.slice) as cgroup parents.
# Pod network: mascri's built-in bridge, containerd's CNI bridge + host-local (both a veth
# into a Linux bridge). Under TCG the ratio is what counts, not the absolute numbers; the
# results and how they were taken: bench/pod-startup-vm.md.
# Usage (root, after scripts/build.sh build): bench/pod-startup-vm.sh [N] [W] [pod_startup.py
# options...]   (N defaults to 25, W to 3); the JSON goes to build/bench-vm/pod-startup-vm.json.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top" || exit 1

if [ "${1:-}" = --in-guest ]; then
  shift
  n=$1 w=$2
  shift 2
  echo "vm: PID 1 is $(cat /proc/1/comm), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)," \
    "kernel $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB"
  # The VM boots the host's root, so the host's enabled services start in it too (the system
  # containerd among them): stopped, so that only the runtime being measured runs.
  systemctl stop containerd.service docker-registry.service podman.socket podman.service \
    postgresql.service 2>/dev/null
  echo "vm: systemd says: $(systemctl is-system-running 2>&1);" \
    "$(systemctl list-units --state=running --type=service --no-legend | wc -l) services running"
  # The stores take overlayfs mounts: / is an overlay here, /tmp a tmpfs (guest-run.sh).
  export MASCRI_BENCH_TMP=/tmp
  exec /usr/bin/python3 bench/pod_startup.py --build-dir "$top/build" -n "$n" --warmup "$w" \
    --cgroup-driver systemd --json "$top/build/bench-vm/pod-startup-vm.json" "$@"
fi

n=${1:-25}
w=${2:-3}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
[ -x build/src/mascrid ] || { echo "pod-startup-vm: build first (scripts/build.sh build)" >&2; exit 2; }
command -v containerd >/dev/null || echo "pod-startup-vm: no containerd on this host: mascri only" >&2
# The build is read through the read-only root; the bench writes only its JSON, into the one
# writable share.
mkdir -p "$top/build/bench-vm"
start=$(date +%s)
"$top/tests/vm/run.sh" --init systemd --share "$top/build/bench-vm" --timeout "${MASCRI_VM_TIMEOUT:-2400}" \
  --mem "${MASCRI_VM_MEM:-3072}" --cache "$top/build/vm-cache" \
  -- bash "$here/pod-startup-vm.sh" --in-guest "$n" "$w" "$@"
rc=$?
echo "pod-startup-vm: $(($(date +%s) - start)) s in all under TCG, exit $rc"
exit $rc
