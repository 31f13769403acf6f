/* Kernel feature probes and the decisions they feed (see kernel-features.h). The runtime's
 * code paths keep their own fallbacks (cgroup-clone.c, common/fs.c, mounts.c, process.c);
 * this file only tells the operator, at start, what an old kernel costs. */
#include "runtime/kernel-features.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static const struct mascri_kernel_feature_info infos[MASCRI_KFEAT_COUNT] = {
    [MASCRI_KFEAT_CLONE_INTO_CGROUP] = {"clone3 CLONE_INTO_CGROUP", "5.7",
                                        "containers are moved into their cgroup by a write to "
                                        "cgroup.procs after clone"},
    [MASCRI_KFEAT_OPENAT2] = {"openat2 RESOLVE_IN_ROOT", "5.6",
                              "paths inside container roots are resolved component by "
                              "component in user space (slower, same confinement)"},
    [MASCRI_KFEAT_MOUNT_SETATTR] = {"mount_setattr", "5.12",
                                    "read-only cgroup mounts take one remount per mount"},
    [MASCRI_KFEAT_CLOSE_RANGE_CLOEXEC] = {"close_range CLOSE_RANGE_CLOEXEC", "5.11",
                                          "inherited fds are marked close-on-exec one by one"},
    [MASCRI_KFEAT_PIDFD] = {"pidfd_open pidfd_send_signal", "5.3",
                            "required: stopping and killing containers fails (minimum kernel "
                            "5.10)"},
};

const struct mascri_kernel_feature_info *mascri_kernel_feature_info(mascri_kernel_feature_t f)
{
  return f < MASCRI_KFEAT_COUNT ? &infos[f] : NULL;
}

bool mascri_kernel_feature_decide(mascri_kernel_feature_t f, long ret, int e)
{
  if (ret >= 0)
    return true;
  /* ENOSYS: no such call; EPERM: a seccomp filter forbids it, as good as missing */
  if (e == ENOSYS || e == EPERM)
    return false;
  switch (f) {
  case MASCRI_KFEAT_CLONE_INTO_CGROUP:
    /* clone3 with CLONE_INTO_CGROUP and a bad cgroup fd: EBADF once the flag is known;
     * before 5.7 the flag is unknown (EINVAL) or the larger struct is refused (E2BIG) */
    return e == EBADF;
  case MASCRI_KFEAT_CLOSE_RANGE_CLOEXEC:
    return e != EINVAL;            /* 5.9/5.10 have close_range without the flag */
  case MASCRI_KFEAT_OPENAT2:       /* EFAULT/EINVAL for the bad arguments */
  case MASCRI_KFEAT_MOUNT_SETATTR: /* EBADF/EINVAL */
  case MASCRI_KFEAT_PIDFD:
  case MASCRI_KFEAT_COUNT:
    break;
  }
  return true;
}

struct clone_args_v2 {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};

static long probe(mascri_kernel_feature_t f)
{
  switch (f) {
  case MASCRI_KFEAT_CLONE_INTO_CGROUP: {
    struct clone_args_v2 a = {
        .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = INT_MAX};
    long pid = syscall(SYS_clone3, &a, sizeof(a));
    if (pid == 0)
      _exit(0); /* cannot happen (no fd INT_MAX), but never run on */
    if (pid > 0)
      waitpid((pid_t)pid, NULL, 0);
    return pid;
  }
  case MASCRI_KFEAT_OPENAT2:
    return syscall(SYS_openat2, AT_FDCWD, NULL, NULL, 0);
  case MASCRI_KFEAT_MOUNT_SETATTR:
    return syscall(SYS_mount_setattr, -1, "", AT_EMPTY_PATH, NULL, 0);
  case MASCRI_KFEAT_CLOSE_RANGE_CLOEXEC:
    return syscall(SYS_close_range, ~0U, ~0U, CLOSE_RANGE_CLOEXEC); /* no fd that high */
  case MASCRI_KFEAT_PIDFD: {
    long fd = syscall(SYS_pidfd_open, getpid(), 0);
    if (fd >= 0)
      close((int)fd);
    return fd;
  }
  case MASCRI_KFEAT_COUNT:
    break;
  }
  errno = EINVAL;
  return -1;
}

/* Lazily probed kernel features: 0 not probed, 1 present, -1 missing. */
static int probed[MASCRI_KFEAT_COUNT];

bool mascri_kernel_feature_present(mascri_kernel_feature_t f)
{
  if (f >= MASCRI_KFEAT_COUNT)
    return false;
  int v = __atomic_load_n(&probed[f], __ATOMIC_ACQUIRE);
  if (v == 0) {
    errno = 0;
    long r = probe(f);
    v = mascri_kernel_feature_decide(f, r, errno) ? 1 : -1;
    __atomic_store_n(&probed[f], v, __ATOMIC_RELEASE);
  }
  return v > 0;
}

int mascri_kernel_features_report(void)
{
  int missing = 0;
  for (int f = 0; f < MASCRI_KFEAT_COUNT; f++) {
    if (mascri_kernel_feature_present((mascri_kernel_feature_t)f))
      continue;
    missing++;
    log_info("kernel feature missing: no %s (Linux %s): %s", infos[f].name, infos[f].since,
             infos[f].cost);
  }
  return missing;
}
