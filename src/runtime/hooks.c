/* OCI hooks. */
#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"

static int pidfd_open_(pid_t pid)
{
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for pid, killing it after timeout seconds (0 = none). */
static int wait_hook(pid_t pid, int timeout, int *status, mascri_error_t *err)
{
  if (timeout > 0) {
    _cleanup_close_ int pfd = pidfd_open_(pid);
    if (pfd >= 0) {
      struct pollfd p = {.fd = pfd, .events = POLLIN};
      int r;
      do
        r = poll(&p, 1, timeout * 1000);
      while (r < 0 && errno == EINTR);
      if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, status, 0);
        return mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0, "timed out after %d s", timeout);
      }
    }
  }
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR)
      return mascri_make_error(err, errno, "waitpid");
  return 0;
}

static int run_hook(const mascri_spec_hook_t *h, const char *state_json, mascri_error_t *err)
{
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return mascri_make_error(err, errno, "fork");
  }
  if (pid == 0) {
    sigset_t none; /* `run` blocks signals to forward them; hooks start with none blocked */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    dup2(pipefd[0], 0);
    char *const noargs[] = {h->path, NULL};
    char *const noenv[] = {NULL};
    execve(h->path, h->args && h->args[0] ? h->args : noargs, h->env ? h->env : noenv);
    dprintf(2, "exec hook %s: %s\n", h->path, strerror(errno));
    _exit(127);
  }
  close(pipefd[0]);
  /* a hook that does not read its stdin is fine (EPIPE is ignored) */
  struct sigaction sa = {.sa_handler = SIG_IGN}, old;
  sigaction(SIGPIPE, &sa, &old);
  mascri_write_all(pipefd[1], state_json, strlen(state_json), NULL);
  sigaction(SIGPIPE, &old, NULL);
  close(pipefd[1]);
  int status = 0;
  if (wait_hook(pid, h->timeout, &status, err) < 0)
    return -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  if (WIFSIGNALED(status))
    return mascri_make_error(err, 0, "killed by signal %d", WTERMSIG(status));
  return mascri_make_error(err, 0, "exited with status %d", WEXITSTATUS(status));
}

int mascri_hooks_run(const mascri_spec_hook_list_t *list, const char *kind, const char *state_json,
                     mascri_error_t *err)
{
  for (size_t i = 0; list && i < list->n; i++)
    if (run_hook(&list->hooks[i], state_json, err) < 0)
      return mascri_error_wrap(err, "%s hook %s", kind, list->hooks[i].path);
  return 0;
}
