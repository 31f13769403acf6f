/* What exec and attach sessions share (stream.h): the status line on done_fd, resize,
 * closing stdin, freeing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "sandbox/stream-internal.h"

struct stream_proc *mascri_stream_proc_new(stream_kind_t kind, bool tty)
{
  struct stream_proc *p = xmalloc(sizeof(*p));
  *p = (struct stream_proc){
      .pub = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .done_fd = -1},
      .kind = kind,
      .tty = tty,
      .ctl_fd = -1,
      .exit_code = -1,
  };
  return p;
}

int mascri_stream_set_nonblock(int fd, mascri_error_t *err)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return mascri_make_error(err, errno, "fcntl O_NONBLOCK");
  return 0;
}

static void close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

void mascri_stream_parse_status(struct stream_proc *p)
{
  p->line[p->line_len < sizeof(p->line) ? p->line_len : sizeof(p->line) - 1] = '\0';
  char *nl = strchr(p->line, '\n');
  if (nl)
    *nl = '\0';
  int code;
  p->finished = true;
  if (sscanf(p->line, "exit %d", &code) == 1 && code >= -1 && code <= 255) {
    p->exit_code = code;
    return;
  }
  if (p->kind == STREAM_ATTACH) { /* ended without an exit: detached */
    p->exit_code = -1;
    return;
  }
  /* exec: the process did not start (126, as a shell answers for a command it cannot
   * run), or the monitor died without a word */
  p->exit_code = strncmp(p->line, "error ", 6) == 0 ? 126 : 255;
  const char *msg = p->exit_code == 126 ? strchr(p->line + 6, ' ') : NULL;
  free(p->error);
  p->error = xstrdup(msg           ? msg + 1
                     : p->line_len ? p->line
                                   : "the exec helper ended without a status");
}

/* Reads what done_fd has; true once the status is known. */
static bool read_status(struct stream_proc *p)
{
  if (p->finished)
    return true;
  if (p->pub.done_fd < 0)
    return false;
  for (;;) {
    ssize_t n = read(p->pub.done_fd, p->line + p->line_len, sizeof(p->line) - 1 - p->line_len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return false;
    if (n > 0) {
      p->line_len += (size_t)n;
      if (memchr(p->line, '\n', p->line_len) || p->line_len == sizeof(p->line) - 1) {
        mascri_stream_parse_status(p);
        return true;
      }
      continue;
    }
    mascri_stream_parse_status(p); /* EOF (or an error) without a full line */
    return true;
  }
}

int mascri_stream_proc_result(struct mascri_stream_proc *pub, int *exit_code)
{
  struct stream_proc *p = (struct stream_proc *)pub;
  if (!read_status(p))
    return 0;
  *exit_code = p->exit_code;
  return 1;
}

const char *mascri_stream_proc_error(struct mascri_stream_proc *pub)
{
  struct stream_proc *p = (struct stream_proc *)pub;
  return read_status(p) ? p->error : NULL;
}

int mascri_stream_proc_resize(struct mascri_stream_proc *pub, unsigned short width,
                              unsigned short height, mascri_error_t *err)
{
  struct stream_proc *p = (struct stream_proc *)pub;
  if (!p->tty || p->ctl_fd < 0)
    return 0;
  char line[32];
  int n = snprintf(line, sizeof(line), "%u %u\n", (unsigned)width, (unsigned)height);
  ssize_t w;
  do
    w = send(p->ctl_fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (w < 0 && errno == EINTR);
  if (w < 0 && errno == ENOTSOCK)
    w = write(p->ctl_fd, line, (size_t)n);
  /* a full pipe means a flood of resizes: the next one will do */
  if (w < 0 && errno != EAGAIN && errno != EPIPE)
    return mascri_make_error(err, errno, "resize");
  return 0;
}

void mascri_stream_proc_close_stdin(struct mascri_stream_proc *pub)
{
  close_fd(&pub->stdin_fd);
}

void mascri_stream_proc_free(struct mascri_stream_proc *pub)
{
  if (!pub)
    return;
  struct stream_proc *p = (struct stream_proc *)pub;
  /* exec: closing the control pipe tells the monitor the client is gone
   * (MASCRI_MONITOR_EXEC_GRACE_MS, sandbox/monitor.h); attach: the monitor forgets us */
  int *fds[] = {&pub->stdin_fd, &pub->stdout_fd, &pub->stderr_fd, &pub->done_fd, &p->ctl_fd};
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
    if (*fds[i] >= 0 && *fds[i] != p->ctl_fd)
      close_fd(fds[i]);
  close_fd(&p->ctl_fd);
  if (p->process_file)
    unlink(p->process_file);
  free(p->process_file);
  free(p->error);
  free(p);
}

int mascri_stream_running_container(struct mascri_containers *ctrs, const char *id,
                                    struct mascri_ctr_info **info, mascri_error_t *err)
{
  if (mascri_containers_get(ctrs, id, info, err) < 0)
    return -1;
  if ((*info)->state != MASCRI_CTR_RUNNING)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s is not running", (*info)->id);
  return 0;
}
