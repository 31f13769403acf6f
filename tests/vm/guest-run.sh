#!/bin/bash
# Runs the command run.sh left in OUT_DIR/cmd inside the test VM: its output goes to
# OUT_DIR/output (run.sh follows it live), its exit status to OUT_DIR/rc; the guest's uptime at
# the start (the boot time) to OUT_DIR/boot-seconds. Usage: guest-run.sh OUT_DIR plain|systemd
out=$1
mode=${2:-plain}
read -r up _ </proc/uptime
echo "$up" >"$out/boot-seconds"
if [ "$mode" = systemd ]; then
  # systemd gives /tmp no tmpfs by default, and the container store needs an overlayfs upper
  for d in /tmp /var/lib/mascri /var/lib/docker-registry; do
    mountpoint -q "$d" || { mkdir -p "$d" && mount -t tmpfs -o mode=0755 tmpfs "$d"; }
  done
  chmod 1777 /tmp
fi
/bin/bash "$out/cmd" >"$out/output" 2>&1 </dev/null
rc=$?
echo "$rc" >"$out/rc.tmp" && mv "$out/rc.tmp" "$out/rc"
sync
exit 0
