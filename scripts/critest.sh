#!/usr/bin/env bash
# Runs critest (the CRI validation suite of cri-tools) against mascrid built in build/.
#
#   scripts/critest.sh [CRITEST-ARGS...]      e.g. --ginkgo.focus 'should support stopping'
#
# Uses the tools in $CRITEST_DIR (default ../shared/tools/critest next to the checkout; never
# copied into the repository). When they are absent it says so, writes nothing and exits 0:
# nothing counts as passed. Otherwise it starts its own Debian docker-registry on 127.0.0.1
# (stand-in images pushed by the tools' images.sh; kept in build/critest-registry between runs
# while images.sh is unchanged), its own mascrid (temporary socket/root/state, the built-in
# network on a bridge and /24 of its own, a registries file mirroring registry.k8s.io, gcr.io
# and docker.io to that registry), runs critest bounded by CRITEST_TIMEOUT seconds (default
# 1200) and writes one JUnit test case per spec to $CRITEST_JUNIT (default
# build/test-results/critest.xml). Everything it started is stopped and removed at the end
# (pods, monitors, mounts, the bridge, the registry).
#
# Skipped specs (CRITEST_SKIP, a regex, replaces the default):
#  - "public image with digest should be pulled and removed": it pins the digests of the
#    real upstream images (registry.k8s.io/e2e-test-images/...@sha256:...), which offline
#    stand-ins cannot have.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
tools=${CRITEST_DIR:-$top/../shared/tools/critest}
build=${MASCRI_BUILD_DIR:-$top/build}
junit=${CRITEST_JUNIT:-$build/test-results/critest.xml}
timeout_s=${CRITEST_TIMEOUT:-1200}
default_skip='public image with digest should be pulled and removed'
skip=${CRITEST_SKIP-$default_skip}

if [ ! -x "$tools/critest" ] || [ ! -x "$tools/images.sh" ]; then
  echo "critest: SKIPPED: no critest tools at $tools (set CRITEST_DIR); no spec counted"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "critest: needs root" >&2
  exit 1
fi

# Short: monitor control sockets live under the state directory (sun_path is 108 bytes).
tmp=$(mktemp -d /tmp/mct.XXXXXX)
reg_pid=
daemon_pid=
bridge=mcrit$$
bridge=${bridge:0:15}

# A run that could not start (or left no report) counts as one failed test.
fail_run() { # message [file]
  echo "critest: $1" >&2
  mkdir -p "$(dirname "$junit")"
  printf '<testsuite name="critest" tests="1" failures="1"><testcase name="critest run"><failure message="%s"/></testcase></testsuite>\n' \
    "$(printf '%s' "$1" | sed 's/&/\&amp;/g; s/"/\&quot;/g; s/</\&lt;/g')" >"${2:-$junit}"
  exit 1
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cleanup() {
  set +e
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    # Pods that a failed or interrupted spec left behind.
    "$tools/crictl" --runtime-endpoint "unix://$tmp/mascri.sock" --timeout 60s rmp -fa >/dev/null 2>&1
    kill -TERM "$daemon_pid"
    for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
  fi
  # Monitors and containers of this daemon name its state directory on their command line.
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] || [ "$pid" = "$reg_pid" ] && continue
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF "$tmp/" && kill -KILL "$pid" 2>/dev/null
  done
  sleep 0.2
  awk -v t="$tmp" '$5 == t || index($5, t "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r mp; do umount -l "$mp" 2>/dev/null; done
  if [ -n "$reg_pid" ]; then
    kill -TERM "$reg_pid" 2>/dev/null
    wait "$reg_pid" 2>/dev/null
  fi
  ip link delete "$bridge" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- registry ---------------------------------------------------------------------------
regdir=$build/critest-registry
stamp=$(cat "$tools/images.sh" "$tools"/src/* 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$regdir/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$regdir"
fi
mkdir -p "$regdir/storage"
port=$(free_port)
reg=127.0.0.1:$port
cat >"$tmp/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $regdir/storage
  delete:
    enabled: true
http:
  addr: $reg
  secret: mascri-critest
EOF
/usr/bin/docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg_pid=$!
for i in $(seq 151); do
  [ "$i" = 151 ] && fail_run "docker-registry did not answer at http://$reg/v2/ within 30s"
  curl -fs "http://$reg/v2/" >/dev/null && break
  kill -0 "$reg_pid" 2>/dev/null || { cat "$tmp/registry.log" >&2; fail_run "docker-registry died"; }
  sleep 0.2
done
if [ ! -f "$regdir/stamp" ]; then
  echo "critest: pushing stand-in images to $reg"
  if ! W=$build/critest-images "$tools/images.sh" "$reg" >"$tmp/images.log" 2>&1; then
    tail -30 "$tmp/images.log" >&2
    fail_run "images.sh could not push the stand-in images"
  fi
  echo "$stamp" >"$regdir/stamp"
fi

# --- mascrid ----------------------------------------------------------------------------
cat >"$tmp/registries.json" <<EOF
{"registries": {
  "registry.k8s.io": {"mirrors": ["http://$reg"]},
  "gcr.io": {"mirrors": ["http://$reg"]},
  "docker.io": {"mirrors": ["http://$reg"]},
  "$reg": {"insecure": true}
}}
EOF
"$build/src/mascrid" --socket "$tmp/mascri.sock" --root "$tmp/r" --state "$tmp/s" \
  --network builtin --bridge "$bridge" --pod-cidr 10.89.61.0/24 \
  --cgroup-parent "mascri-critest$$" --registries-config "$tmp/registries.json" \
  --log-level "${CRITEST_LOG_LEVEL:-info}" >"$tmp/mascrid.log" 2>&1 &
daemon_pid=$!
for i in $(seq 151); do
  [ "$i" = 151 ] && fail_run "mascrid did not answer within 30s"
  [ -S "$tmp/mascri.sock" ] && "$tools/crictl" --runtime-endpoint "unix://$tmp/mascri.sock" \
    --timeout 2s version >/dev/null 2>&1 && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/mascrid.log" >&2; fail_run "mascrid died at start"; }
  sleep 0.2
done

# --- critest ----------------------------------------------------------------------------
mkdir -p "$(dirname "$junit")"
rm -f "$junit" "${junit%.xml}-timeout.xml"
args=(--runtime-endpoint "unix://$tmp/mascri.sock" --image-endpoint "unix://$tmp/mascri.sock"
      --ginkgo.no-color --ginkgo.junit-report "$junit")
[ -n "$skip" ] && args+=(--ginkgo.skip "$skip")
echo "critest: running (bounded to ${timeout_s}s)"
(cd "$tmp" && timeout --kill-after=30 "$timeout_s" "$tools/critest" "${args[@]}" "$@") \
  >"$tmp/critest.log" 2>&1
rc=$?
grep -E '^(Ran |FAIL|PASS|SUCCESS|•.*\[FAIL|  \[FAIL\])|Summarizing' "$tmp/critest.log" | head -60
if [ -n "${CRITEST_KEEP_LOGS:-}" ]; then
  mkdir -p "$CRITEST_KEEP_LOGS"
  cp "$tmp/critest.log" "$tmp/mascrid.log" "$CRITEST_KEEP_LOGS/"
fi
# Count specs only: drop the suite set-up/tear-down nodes unless they failed.
[ -s "$junit" ] && /usr/bin/python3 - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET
tree = ET.parse(sys.argv[1])
for suite in tree.getroot().iter("testsuite"):
    for case in list(suite.findall("testcase")):
        if case.get("name", "").startswith(("[BeforeSuite]", "[AfterSuite]")) and \
                case.find("failure") is None and case.find("error") is None:
            suite.remove(case)
            suite.set("tests", str(int(suite.get("tests", "1")) - 1))
tree.write(sys.argv[1])
PY
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
  tail -40 "$tmp/critest.log" >&2
  # Ginkgo may have written the specs it finished; the hang counts as one more failure.
  fail_run "critest timed out after ${timeout_s}s" "${junit%.xml}-timeout.xml"
elif [ ! -s "$junit" ]; then
  tail -40 "$tmp/critest.log" >&2
  fail_run "critest exited $rc without a report"
fi
exit $rc
