/* The container process's final setup and exec. */
#include "runtime/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/caps.h"
#include "runtime/lsm.h"
#include "runtime/mount-util.h"
#include "runtime/seccomp-filter.h"

/* chdir and check the result is reachable from our root: a cwd leaked from the host (an
 * inherited fd or /proc/self/fd/N) makes getcwd() fail or report "(unreachable)". */
static int enter_cwd(const char *cwd, mascri_error_t *err)
{
  if (chdir(cwd) < 0)
    return mascri_make_error(err, errno, "chdir to the working directory %s", cwd);
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
    return mascri_make_error_kind(err, MASCRI_ERR_PERMISSION_DENIED, EPERM,
                                  "the working directory %s is outside the container root", cwd);
  return 0;
}

int process_prepare(const mascri_spec_process_t *p, const mascri_spec_seccomp_t *seccomp,
                    mascri_error_t *err)
{
  if (enter_cwd(p->cwd ? p->cwd : "/", err) < 0)
    return -1;
  for (size_t i = 0; i < p->n_rlimits; i++) {
    struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
    if (setrlimit(p->rlimits[i].resource, &rl) < 0)
      return mascri_make_error(err, errno, "setrlimit %d", p->rlimits[i].resource);
  }
  if (p->has_oom_score_adj) {
    char val[16];
    snprintf(val, sizeof(val), "%d", p->oom_score_adj);
    mascri_error_t e = NULL;
    if (procfs_write("self/oom_score_adj", val, &e) < 0) {
      int r = mascri_error_retcode(&e);
      if (r != -EACCES && r != -EPERM) {
        mascri_error_move(err, &e);
        return -1;
      }
      mascri_log_error_release(MASCRI_LOG_WARNING, &e,
                               "oomScoreAdj %d not applied (the host refuses it)",
                               p->oom_score_adj);
    }
  }
  if (mascri_lsm_apply(p, err) < 0)
    return -1;
  if (seccomp && !p->no_new_privileges && mascri_seccomp_load(seccomp, err) < 0)
    return -1;
  return 0;
}

int process_set_identity(const mascri_spec_process_t *p, mascri_error_t *err)
{
  static const mascri_spec_caps_t none;
  const mascri_spec_caps_t *caps = p->has_caps ? &p->caps : &none;
  if (mascri_caps_drop_bounding(caps, err) < 0)
    return -1;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return mascri_make_error(err, errno, "PR_SET_KEEPCAPS");
  if (setgroups(p->user.n_additional_gids, p->user.additional_gids) < 0 && errno != EPERM)
    return mascri_make_error(err, errno, "setgroups");
  if (setresgid(p->user.gid, p->user.gid, p->user.gid) < 0)
    return mascri_make_error(err, errno, "setgid %u", (unsigned)p->user.gid);
  if (setresuid(p->user.uid, p->user.uid, p->user.uid) < 0)
    return mascri_make_error(err, errno, "setuid %u", (unsigned)p->user.uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return mascri_make_error(err, errno, "PR_SET_KEEPCAPS");
  if (mascri_caps_apply(caps, err) < 0)
    return -1;
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return mascri_make_error(err, errno, "PR_SET_NO_NEW_PRIVS");
  umask(p->user.has_umask ? p->user.umask : 0022);
  return 0;
}

int process_close_fds(unsigned preserve_fds, mascri_error_t *err)
{
  unsigned first = 3 + preserve_fds;
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  /* older kernels: walk /proc/self/fd */
  for (int fd = (int)first; fd < 65536; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
      fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  (void)err;
  return 0;
}

static const char *env_path(char *const *env)
{
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp(env[i], "PATH=", 5) == 0)
      return env[i] + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static bool missing(const char *path)
{
  return faccessat(AT_FDCWD, path, F_OK, 0) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

int process_check_command(const mascri_spec_process_t *p, mascri_error_t *err)
{
  if (!p->args || !p->args[0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "process.args: must have at least one element");
  const char *cmd = p->args[0];
  if (strchr(cmd, '/')) {
    if (missing(cmd))
      return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, ENOENT, "exec \"%s\"", cmd);
    return 0;
  }
  const char *path = env_path(p->env);
  char buf[PATH_MAX];
  while (*path) {
    size_t len = strcspn(path, ":");
    if (len > 0 && len + strlen(cmd) + 2 < sizeof(buf)) {
      snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, cmd);
      if (!missing(buf))
        return 0;
    }
    path += len;
    if (*path == ':')
      path++;
  }
  return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0,
                                "exec \"%s\": executable file not found in $PATH", cmd);
}

int process_exec(const mascri_spec_process_t *p, const mascri_spec_seccomp_t *seccomp,
                 mascri_error_t *err)
{
  if (!p->args || !p->args[0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "process.args: must have at least one element");
  char *const noenv[] = {NULL};
  char *const *env = p->env ? p->env : noenv;
  const char *cmd = p->args[0];
  /* `run` blocks signals to forward them: the process starts with none blocked */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (seccomp && p->no_new_privileges && mascri_seccomp_load(seccomp, err) < 0)
    return -1;
  if (strchr(cmd, '/')) {
    execve(cmd, p->args, env);
    return mascri_make_error_kind(err, errno == ENOENT ? MASCRI_ERR_NOT_FOUND : MASCRI_ERR_INTERNAL,
                                  errno, "exec %s", cmd);
  }
  int saved = ENOENT;
  const char *path = env_path(env);
  char buf[PATH_MAX];
  while (*path) {
    size_t len = strcspn(path, ":");
    if (len > 0 && len + strlen(cmd) + 2 < sizeof(buf)) {
      snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, cmd);
      execve(buf, p->args, env);
      if (errno != ENOENT && errno != ENOTDIR)
        saved = errno;
    }
    path += len;
    if (*path == ':')
      path++;
  }
  return mascri_make_error_kind(err, saved == ENOENT ? MASCRI_ERR_NOT_FOUND : MASCRI_ERR_INTERNAL,
                                saved, "exec %s: not found in $PATH", cmd);
}
