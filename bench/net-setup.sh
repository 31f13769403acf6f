#!/usr/bin/env bash
# Pod network setup time, built-in (bridge + veth over netlink) vs the CNI reference
# bridge plugin (bridge + host-local, exec'd per CNI spec by the same library): median over
# N pods (default 50), each in its own fresh netns. Measures mascri_network_setup() alone,
# in one process, through the netns-tool test driver. Run as root:
#   bench/net-setup.sh [build-dir] [pods]
# Uses test names (bridges mascri-b0/mascri-b1, 10.195/10.194) and cleans up after itself.
set -euo pipefail

build=${1:-build}
pods=${2:-50}
tool="$build/tests/integration/tools/netns-tool"
[ -x "$tool" ] || { echo "build $tool first (ninja -C $build)" >&2; exit 1; }
[ -x /usr/lib/cni/bridge ] || { echo "containernetworking-plugins missing" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mascri-bench-net.XXXXXX)
prefix="mb-$$"
saved_forward=$(cat /proc/sys/net/ipv4/ip_forward)
cleanup() {
  echo "$saved_forward" >/proc/sys/net/ipv4/ip_forward
  for i in $(seq 1 "$pods"); do ip netns delete "$prefix-$i" 2>/dev/null || true; done
  ip link delete mascri-b0 2>/dev/null || true
  ip link delete mascri-b1 2>/dev/null || true
  nft delete table inet mascri_b0 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

make_netns() {
  for i in $(seq 1 "$pods"); do
    ip netns delete "$prefix-$i" 2>/dev/null || true
    ip netns add "$prefix-$i"
  done
}
netns_paths() { for i in $(seq 1 "$pods"); do echo "/run/netns/$prefix-$i"; done; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

make_netns
builtin_us=$("$tool" --mode builtin --bridge mascri-b0 --table mascri_b0 --cidr 10.195.0.0/16 \
  --state-dir "$tmp/state" bench $(netns_paths) 2>/dev/null | median)

make_netns
mkdir -p "$tmp/net.d"
cat >"$tmp/net.d/10-bench.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "mascri-bench", "plugins": [
  {"type": "bridge", "bridge": "mascri-b1", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$tmp/cni-ipam",
            "ranges": [[{"subnet": "10.194.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
JSON
cni_us=$("$tool" --mode cni --cni-conf-dir "$tmp/net.d" --cni-cache-dir "$tmp/cni-cache" \
  --cni-bin-dir /usr/lib/cni bench $(netns_paths) 2>/dev/null | median)

awk -v b="$builtin_us" -v c="$cni_us" -v n="$pods" 'BEGIN {
  printf "pod network setup, median of %d pods\n", n
  printf "  built-in (netlink):       %8.2f ms\n", b / 1000
  printf "  CNI bridge + host-local:  %8.2f ms\n", c / 1000
  printf "  ratio CNI / built-in:     %8.1fx   (target: built-in < 5 ms, >= 10x)\n", c / b
}'
