#include "common/process-spawn.h"

#include <signal.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

static int add_fds(posix_spawn_file_actions_t *fa, const mascri_spawn_fd_t *fds, size_t n_fds)
{
  for (size_t i = 0; i < n_fds; i++) {
    int r = fds[i].from >= 0 ? posix_spawn_file_actions_adddup2(fa, fds[i].from, fds[i].fd)
                             : posix_spawn_file_actions_addopen(fa, fds[i].fd, "/dev/null",
                                                                fds[i].null_flags, 0);
    if (r != 0)
      return r;
  }
  return 0;
}

static int set_attrs(posix_spawnattr_t *attr, mascri_spawn_group_t group)
{
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (group == MASCRI_SPAWN_NEW_PGROUP)
    flags |= POSIX_SPAWN_SETPGROUP;
  else if (group == MASCRI_SPAWN_NEW_SESSION)
    flags |= POSIX_SPAWN_SETSID;
  int r = posix_spawnattr_setsigmask(attr, &none);
  if (r == 0)
    r = posix_spawnattr_setsigdefault(attr, &all);
  if (r == 0 && group == MASCRI_SPAWN_NEW_PGROUP)
    r = posix_spawnattr_setpgroup(attr, 0);
  if (r == 0)
    r = posix_spawnattr_setflags(attr, flags);
  return r;
}

int mascri_spawn(const char *path, char *const argv[], char *const envp[],
                 const mascri_spawn_fd_t *fds, size_t n_fds, mascri_spawn_group_t group, pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int r = posix_spawn_file_actions_init(&fa);
  if (r != 0)
    return r;
  r = posix_spawnattr_init(&attr);
  if (r != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return r;
  }
  r = add_fds(&fa, fds, n_fds);
  if (r == 0)
    r = set_attrs(&attr, group);
  if (r == 0)
    r = posix_spawn(pid, path, &fa, &attr, argv, envp ? envp : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return r;
}
