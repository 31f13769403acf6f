#!/usr/bin/env bash
# The scripts/test.sh step "on Debian 12's stock kernel (6.1) in a VM": the integration
# tests that must hold on old kernels (the crictl golden path of a multi-layer image with
# whiteouts, a 141-layer image, the container tests that fit the time budget, the store's
# overlay mounts) run inside tests/vm/run.sh, with their own registry on the VM's loopback.
# Writes RESULTS_DIR/vm-kernel.xml (JUnit) and prints one pass/fail line.
# Usage: tests/vm/kernel-test.sh RESULTS_DIR [extra pytest args]
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
results=${1:?usage: kernel-test.sh RESULTS_DIR}
shift
mkdir -p "$results"
results=$(cd "$results" && pwd)
xml=$results/vm-kernel.xml
tests=(
  tests/integration/test_cri_kernel.py
  "tests/integration/test_cri_containers.py::test_golden_path"
  "tests/integration/test_cri_containers.py::test_exit_codes_and_reasons"
  "tests/integration/test_cri_containers.py::test_exec_sync"
  "tests/integration/test_cri_containers.py::test_image_config_is_used"
  "tests/integration/test_image.py::test_layered_image_as_overlay_sees_it"
  "tests/integration/test_image.py::test_many_layers_mount"
)
start=$(date +%s)
MASCRI_BUILD_DIR=${MASCRI_BUILD_DIR:-$top/build} \
  tests/vm/run.sh --timeout "${MASCRI_VM_TIMEOUT:-720}" --share "$results" -- \
  /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE -o junit_suite_name=vm-linux-6.1 \
  --junitxml="$xml" "${tests[@]}" "$@"
rc=$?
took=$(($(date +%s) - start))
case $rc in
  0) echo "vm kernel test: PASS on Debian 12's 6.1 in ${took}s" ;;
  77)
    echo "vm kernel test: SKIPPED (no qemu-system-x86_64 or no kernel package; see above)"
    echo '<testsuite name="vm-linux-6.1" tests="1" skipped="1"><testcase name="vm"><skipped message="no qemu or kernel package"/></testcase></testsuite>' >"$xml"
    rc=0 ;;
  *)
    echo "vm kernel test: FAIL (exit $rc) in ${took}s"
    # a VM that died or timed out left no report: count it as one failure
    if [ $rc -ge 124 ] || [ ! -s "$xml" ]; then
      echo "<testsuite name=\"vm-linux-6.1\" tests=\"1\" failures=\"1\"><testcase name=\"vm\"><failure message=\"VM exit $rc\"/></testcase></testsuite>" >"$xml"
    fi ;;
esac
exit $rc
