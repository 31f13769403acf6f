#!/usr/bin/env bash
# The node tests in a VM with systemd as PID 1 and pure cgroup v2 (Debian 12's kernel, booted
# by tests/vm/run.sh --init systemd on the host's root): `meson install`s this build into the
# VM's writable overlay, starts mascri.service and runs
#   - tests/integration/test_systemd_node.py against the unit (notify, restart with 20 pods,
#     stop leaving containers, limits under kubelet's slices, OOM, the README's crictl path),
#   - the pod, container and server suites twice: the systemd cgroup driver (auto-detected)
#     and the cgroupfs one (MASCRI_TEST_CGROUP_MANAGER=cgroupfs),
# with JUnit XML in build/test-results/vm-*.xml (scripts/summarize.py sums them) and the time
# each step took ("vm-step:" lines). Usage: tests/vm/systemd-node.sh [PYTEST ARGS...]
# (as root, after a build; MASCRI_VM_ONLY=service runs the unit's tests alone).
# Exit: the worst step's status; 77 when the VM cannot be had.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
results=$top/build/test-results
mkdir -p "$results"
vm_run=${MASCRI_VM_RUN:-$here/run.sh}

if [ "${1:-}" = --in-guest ]; then
  shift
  PY=/usr/bin/python3
  rc=0
  t0=$(date +%s)
  timed() { # name command...: runs it, says how long it took
    local name=$1 s r
    shift
    s=$(date +%s)
    "$@"
    r=$?
    echo "vm-step: $name: $(($(date +%s) - s)) s (exit $r)"
    [ $r -gt $rc ] && rc=$r
    return $r
  }
  suite() { # name [VAR=value...] pytest-args...
    local name=$1
    shift
    timed "$name" env MASCRI_BUILD_DIR="$top/build" "$@" -p no:cacheprovider -q -rfE \
      -o junit_suite_name="$name" --junitxml="$results/$name.xml"
  }
  echo "vm: PID 1 is $(cat /proc/1/comm), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
  timed install meson install -C build --no-rebuild --quiet || exit 1
  # The built-in network: the kernel loads bridge, veth and nf_tables on request through
  # busybox's modprobe (initramfs-init); --network auto would pick the host's
  # /etc/cni/net.d (e.g. podman's), whose plugins this test does not mean to cover.
  printf '{"network": "builtin"}\n' >/etc/mascri/mascri.conf
  systemctl daemon-reload
  systemd-tmpfiles --create /usr/local/lib/tmpfiles.d/mascri.conf
  if ! timed start-unit systemctl start mascri.service; then
    journalctl -u mascri --no-pager | tail -40
    exit 1
  fi
  systemctl status mascri --no-pager | head -12
  suite vm-service MASCRI_VM_SERVICE=1 "$PY" -m pytest tests/integration/test_systemd_node.py "$@"
  journalctl -u mascri --no-pager -p warning | tail -20
  systemctl stop mascri.service
  [ "${MASCRI_VM_ONLY:-}" = service ] && exit $rc
  driver_tests=(tests/integration/test_cri_pods.py tests/integration/test_cri_containers.py
    tests/integration/test_cri_server.py)
  suite vm-systemd-driver "$PY" -m pytest "${driver_tests[@]}" "$@"
  suite vm-cgroupfs-driver MASCRI_TEST_CGROUP_MANAGER=cgroupfs "$PY" -m pytest \
    "${driver_tests[@]}" "$@"
  echo "vm-step: all in the guest: $(($(date +%s) - t0)) s"
  exit $rc
fi

[ -x build/src/mascrid ] || { echo "systemd-node: build first (scripts/build.sh build)" >&2; exit 2; }
[ -x "$vm_run" ] || { echo "systemd-node: SKIP: no $vm_run (tests/vm from the kernels work)" >&2; exit 77; }
start=$(date +%s)
"$vm_run" --init systemd --share "$top/build" --timeout "${MASCRI_VM_TIMEOUT:-3600}" \
  --cache "$top/build/vm-cache" --env "MASCRI_VM_ONLY=${MASCRI_VM_ONLY:-}" -- bash "$here/systemd-node.sh" --in-guest "$@"
rc=$?
echo "systemd-node: $(($(date +%s) - start)) s in all under TCG, exit $rc"
exit $rc
