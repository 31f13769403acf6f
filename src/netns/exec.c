#include "common/clock.h"
#include "netns/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/process-spawn.h"
#include "common/xalloc.h"

void mascri_exec_result_clear(struct mascri_exec_result *r)
{
  free(r->out);
  free(r->errout);
  r->out = r->errout = NULL;
}

struct buf {
  char *data;
  size_t len, cap;
};

static void buf_append(struct buf *b, const char *p, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = xrealloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

/* A clean signal state (the daemon may ignore SIGPIPE or block signals), and a process group
 * of its own so a timeout kills the helper's children too. */
static int spawn(const char *path, char *const argv[], char *const envp[], int fds[3][2],
                 int keep_fd, pid_t *pid, mascri_error_t *err)
{
  /* dup2 clears close-on-exec (also when keep_fd is 3 already: glibc >= 2.29). */
  const mascri_spawn_fd_t child_fds[] = {
      {.fd = 0, .from = fds[0][0]},
      {.fd = 1, .from = fds[1][1]},
      {.fd = 2, .from = fds[2][1]},
      {.fd = MASCRI_EXEC_KEPT_FD, .from = keep_fd},
  };
  size_t n = keep_fd >= 0 ? ARRAY_SIZE(child_fds) : ARRAY_SIZE(child_fds) - 1;
  int r = mascri_spawn(path, argv, envp, child_fds, n, MASCRI_SPAWN_NEW_PGROUP, pid);
  if (r != 0)
    return mascri_make_error(err, r, "run %s", path);
  return 0;
}

/* write() that turns a closed reader into EPIPE without a SIGPIPE for the process. */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t w = write(fd, p, n);
  int saved = errno;
  if (w < 0 && errno == EPIPE) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return w;
}

/* Feeds input and drains both outputs until they close or the deadline passes. */
static int pump(int in, int out, int errfd, const char *input, size_t input_len, long long deadline,
                struct buf *o, struct buf *e)
{
  size_t off = 0;
  if (input_len == 0) {
    close(in);
    in = -1;
  }
  while (out >= 0 || errfd >= 0) {
    struct pollfd p[3] = {{in, POLLOUT, 0}, {out, POLLIN, 0}, {errfd, POLLIN, 0}};
    int timeout = -1;
    if (deadline) {
      long long left = deadline - mascri_clock_monotonic_ms();
      if (left <= 0)
        break;
      timeout = (int)left;
    }
    int n = poll(p, 3, timeout);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (in >= 0 && p[0].revents) {
      ssize_t w = write_nosigpipe(in, input + off, input_len - off);
      if (w > 0)
        off += (size_t)w;
      if (w < 0 && errno != EINTR && errno != EAGAIN)
        off = input_len;
      if (off >= input_len) {
        close(in);
        in = -1;
      }
    }
    int *fds[2] = {&out, &errfd};
    struct buf *bufs[2] = {o, e};
    for (int i = 0; i < 2; i++) {
      if (*fds[i] < 0 || !p[i + 1].revents)
        continue;
      char chunk[4096];
      ssize_t r = read(*fds[i], chunk, sizeof(chunk));
      if (r > 0)
        buf_append(bufs[i], chunk, (size_t)r);
      else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fds[i]);
        *fds[i] = -1;
      }
    }
  }
  bool timed_out = out >= 0 || errfd >= 0;
  if (in >= 0)
    close(in);
  if (out >= 0)
    close(out);
  if (errfd >= 0)
    close(errfd);
  return timed_out ? -1 : 0;
}

int mascri_exec(const char *path, char *const argv[], char *const envp[], const char *input,
                size_t input_len, unsigned timeout_ms, struct mascri_exec_result *res,
                mascri_error_t *err)
{
  return mascri_exec_keeping(-1, path, argv, envp, input, input_len, timeout_ms, res, err);
}

int mascri_exec_keeping(int keep_fd, const char *path, char *const argv[], char *const envp[],
                        const char *input, size_t input_len, unsigned timeout_ms,
                        struct mascri_exec_result *res, mascri_error_t *err)
{
  int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  memset(res, 0, sizeof(*res));
  for (int i = 0; i < 3; i++)
    if (pipe2(fds[i], O_CLOEXEC) < 0) {
      int errnum = errno;
      for (int j = 0; j < i; j++) {
        close(fds[j][0]);
        close(fds[j][1]);
      }
      return mascri_make_error(err, errnum, "run %s: pipe", path);
    }
  pid_t pid = -1;
  int r = spawn(path, argv, envp, fds, keep_fd, &pid, err);
  close(fds[0][0]);
  close(fds[1][1]);
  close(fds[2][1]);
  if (r < 0) {
    close(fds[0][1]);
    close(fds[1][0]);
    close(fds[2][0]);
    return r;
  }
  /* Non-blocking input: a child that stops reading must not block us writing. */
  fcntl(fds[0][1], F_SETFL, O_NONBLOCK);
  struct buf o = {0}, e = {0};
  buf_append(&o, "", 0);
  buf_append(&e, "", 0);
  long long deadline = timeout_ms ? mascri_clock_monotonic_ms() + timeout_ms : 0;
  int timed_out = pump(fds[0][1], fds[1][0], fds[2][0], input, input_len, deadline, &o, &e);
  if (timed_out)
    kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  res->out = o.data;
  res->errout = e.data;
  if (timed_out) {
    mascri_exec_result_clear(res);
    return mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0, "%s timed out after %u ms", path,
                                  timeout_ms);
  }
  res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}
