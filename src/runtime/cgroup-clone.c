/* mascri_cgroup_clone: a child born in its cgroup (cgroup.h). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* clone3(2)'s argument, version 2 (the kernel ABI of linux/sched.h, without the header,
 * whose CLONE_* macros clash with glibc's). */
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  uint64_t set_tid, set_tid_size, cgroup;
};

/* Errors after which clone3 is worth nothing more here: an old kernel or a seccomp filter
 * (ENOSYS, EPERM, E2BIG, EINVAL), or a cgroup that cannot take processes directly
 * (EOPNOTSUPP, EBUSY). Anything else (EAGAIN from pids.max, ENOMEM) is the answer. */
static bool clone3_unusable(int e)
{
  return e == ENOSYS || e == EPERM || e == E2BIG || e == EINVAL || e == EOPNOTSUPP || e == EBUSY;
}

pid_t mascri_cgroup_clone(int flags, int cgroup_fd, bool *placed)
{
  *placed = false;
#ifdef SYS_clone3
  if (cgroup_fd >= 0) {
    struct clone3_args a = {.flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP,
                            .exit_signal = SIGCHLD,
                            .cgroup = (uint64_t)cgroup_fd};
    long pid = syscall(SYS_clone3, &a, sizeof(a));
    if (pid >= 0) {
      *placed = true;
      return (pid_t)pid;
    }
    if (!clone3_unusable(errno))
      return -1;
  }
#else
  (void)cgroup_fd;
#endif
  return (pid_t)syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, NULL);
}
