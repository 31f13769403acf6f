#!/bin/sh
# `mascri run` vs `runc run` of a /bin/true busybox bundle: median wall and CPU time of
# N runs (default 30) each, and the ratios. Run as root:
#   bench/runtime-vs-runc.sh [build-dir] [N]
# Needs /bin/busybox (busybox-static) and runc (/usr/sbin/runc). Not asserted anywhere.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$TOP/build}" && pwd)
N=${2:-30}
RUNC=${RUNC:-/usr/sbin/runc}
WORK=$(mktemp -d /tmp/mascri-bench-XXXXXX)
trap 'for r in "$WORK"/root-*; do for c in $(ls "$r" 2>/dev/null); do "$RUNC" --root "$r" delete -f "$c" >/dev/null 2>&1 || true; done; done; rm -rf "$WORK"' EXIT

cc -O2 -o "$WORK/timer" "$TOP/bench/runtime-timer.c"

B="$WORK/bundle"
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/dev" "$B/rootfs/sys"
cp /bin/busybox "$B/rootfs/bin/busybox"
ln -s busybox "$B/rootfs/bin/true"
"$BUILD/src/mascri" spec --bundle "$B"
# the default spec, with no terminal and /bin/true as the process
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/bin\/true"/' "$B/config.json"
grep -q '"/bin/true"' "$B/config.json"

cd "$B"
measure() { # name, command...
  name=$1
  shift
  "$WORK/timer" "$N" "$@" | { read -r wall cpu; echo "$name $wall $cpu"; }
}
measure runc "$RUNC" --root "$WORK/root-runc" run "r{}" >"$WORK/runc"
measure mascri "$BUILD/src/mascri" --root "$WORK/root-mascri" run "m{}" >"$WORK/mascri"

read -r _ rw rc <"$WORK/runc"
printf '%-16s %10s %10s %12s %12s\n' runtime "wall ms" "cpu ms" "wall ratio" "cpu ratio"
for f in runc mascri; do
  read -r name w c <"$WORK/$f"
  printf '%-16s %10s %10s %12s %12s\n' "$name" "$w" "$c" \
    "$(awk -v a="$rw" -v b="$w" 'BEGIN{printf "%.1fx", a/b}')" \
    "$(awk -v a="$rc" -v b="$c" 'BEGIN{printf "%.1fx", a/b}')"
done
echo "(median of $N runs each; ratio = runc / runtime, higher is faster)"

# create + start + delete -f of the same bundle, three invocations through one sh -c
csd() { # name, binary
  "$WORK/timer" "$N" sh -c "$2 --root $WORK/csd-$1 create --bundle $B \"\$1\" >/dev/null &&
    $2 --root $WORK/csd-$1 start \"\$1\" && $2 --root $WORK/csd-$1 delete -f \"\$1\"" sh "c{}" |
    { read -r wall cpu; echo "create+start+delete $1: $wall ms wall, $cpu ms cpu"; }
}
csd runc "$RUNC"
csd mascri "$BUILD/src/mascri"

# peak RSS of the runtime process of one `run` (GNU time, KiB)
if [ -x /usr/bin/time ]; then
  for r in "$RUNC" "$BUILD/src/mascri"; do
    kib=$(/usr/bin/time -f %M "$r" --root "$WORK/rss" run rss 2>&1 >/dev/null | tail -n 1)
    echo "peak RSS $(basename "$r") run: $kib KiB"
  done
fi
