#!/bin/bash
# PID 1 of the test VM without systemd (started by the initramfs on the shared host root,
# under a tmpfs overlay): the mounts a node has (cgroup2 only, pure v2), tmpfs where
# containers keep state (overlayfs takes no virtiofs/9p upper), then guest-run.sh, then
# power off. Usage: guest-init.sh OUT_DIR
out=$1
here=$(dirname "$0")
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for d in /run /tmp /var/tmp /var/lib/mascri /var/lib/docker-registry /var/log; do
  mkdir -p "$d"
  mount -t tmpfs -o mode=0755 tmpfs "$d"
done
chmod 1777 /tmp /var/tmp
mkdir -p /run/lock
ln -sf /proc/self/mounts /etc/mtab 2>/dev/null
hostname mascri-vm
ip link set lo up
# modprobe for the kernel's requests (nf_tables, veth, ...): busybox's, from the 6.1 tree
mkdir -p /run/vm
ln -sf /bin/busybox /run/vm/modprobe
echo /run/vm/modprobe >/proc/sys/kernel/modprobe
/bin/bash "$here/guest-run.sh" "$out" plain </dev/null
sync
echo o >/proc/sysrq-trigger
sleep 30
