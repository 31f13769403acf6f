/* Attach (stream.h): one connection per stream to the attach socket of the container's
 * mascri-monitor (sandbox/monitor.h), each announced by its role byte and confirmed by the
 * monitor before this returns, so that output from then on reaches the session. The
 * control connection is both done_fd (the monitor's "exit <code>" line, then EOF) and the
 * way resizes go (the ctl_fd of stream-internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/unix-addr.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/monitor.h"
#include "sandbox/stream-internal.h"

/* How long the monitor may take to answer a role byte (it serves in its event loop, which
 * never blocks for long). */
#define ANSWER_TIMEOUT_S 5

static int no_socket(const char *id, mascri_error_t *err)
{
  return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                "container %s cannot be attached to: its mascri-monitor has no "
                                "attach socket (the container was created by an older mascri); "
                                "recreate it to attach",
                                id);
}

int mascri_containers_attach_check(struct mascri_containers *ctrs, const char *id,
                                   mascri_error_t *err)
{
  _cleanup_ctr_info_ struct mascri_ctr_info *info = NULL;
  if (mascri_stream_running_container(ctrs, id, &info, err) < 0)
    return -1;
  _cleanup_free_ char *dir = mascri_ctr_monitor_dir(ctrs, info->id);
  _cleanup_free_ char *path = mascri_path_join(dir, MASCRI_MONITOR_ATTACH_SOCKET);
  struct stat st;
  if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
    return no_socket(info->id, err);
  return 0;
}

/* One connection of role `role`: 1 and *out (non-blocking) when the monitor serves it, 0
 * when it refused the role, -1 on an error. */
static int connect_role(const struct sockaddr_un *addr, const char *id, char role, int *out,
                        mascri_error_t *err)
{
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return mascri_make_error(err, errno, "socket");
  struct timeval tv = {.tv_sec = ANSWER_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
    if (errno == ENOENT)
      return no_socket(id, err);
    /* the monitor is gone or going: the container stopped meanwhile */
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, errno,
                                  "container %s is not running (its monitor does not answer)", id);
  }
  char answer = 0;
  ssize_t n;
  do
    n = send(fd, &role, 1, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n == 1)
    do
      n = recv(fd, &answer, 1, 0);
    while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0,
                                  "the monitor of container %s did not answer within %d s", id,
                                  ANSWER_TIMEOUT_S);
  if (n < 0 && errno != ECONNRESET && errno != EPIPE)
    return mascri_make_error(err, errno, "attach to container %s", id);
  if (n <= 0) /* closed without an answer: at its limit of clients, or exiting */
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0,
                                  "the monitor of container %s takes no more attach clients "
                                  "(or the container is exiting)",
                                  id);
  if (answer == MASCRI_MONITOR_ATTACH_REFUSED)
    return 0;
  if (answer != MASCRI_MONITOR_ATTACH_OK)
    return mascri_make_error(err, 0, "unexpected answer from the monitor of container %s", id);
  if (mascri_stream_set_nonblock(fd, err) < 0)
    return -1;
  *out = TAKE_FD(fd);
  return 1;
}

/* An stdin that takes everything and goes nowhere: the container has no stdin (or it was
 * closed by stdin_once), but the client may still send some. */
static int null_stdin(int *out, mascri_error_t *err)
{
  *out = open("/dev/null", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (*out < 0)
    return mascri_make_error(err, errno, "open /dev/null");
  return 0;
}

/* connect_role() for a role the monitor must serve. */
static int need_role(const struct sockaddr_un *addr, const char *id, char role, const char *name,
                     int *out, mascri_error_t *err)
{
  int r = connect_role(addr, id, role, out, err);
  if (r == 0)
    return mascri_make_error(err, 0, "the monitor refused the %s stream", name);
  return r < 0 ? mascri_error_wrap(err, "%s", name) : 0;
}

static int connect_all(struct stream_proc *p, const struct sockaddr_un *addr, const char *id,
                       const struct mascri_stream_opts *o, bool has_stdin, mascri_error_t *err)
{
  struct mascri_stream_proc *pub = &p->pub;
  /* outputs first: they are served by the time input can make the container answer */
  if (o->out &&
      need_role(addr, id, MASCRI_MONITOR_ATTACH_STDOUT, "stdout", &pub->stdout_fd, err) < 0)
    return -1;
  if (o->err && !p->tty &&
      need_role(addr, id, MASCRI_MONITOR_ATTACH_STDERR, "stderr", &pub->stderr_fd, err) < 0)
    return -1;
  if (need_role(addr, id, MASCRI_MONITOR_ATTACH_CONTROL, "control", &p->ctl_fd, err) < 0)
    return -1;
  pub->done_fd = p->ctl_fd;
  if (!o->in)
    return 0;
  int r = has_stdin ? connect_role(addr, id, MASCRI_MONITOR_ATTACH_STDIN, &pub->stdin_fd, err) : 0;
  if (r < 0)
    return -1;
  return r == 0 ? null_stdin(&pub->stdin_fd, err) : 0;
}

int mascri_containers_attach(struct mascri_containers *ctrs, const char *id,
                             const struct mascri_stream_opts *o, struct mascri_stream_proc **out,
                             mascri_error_t *err)
{
  _cleanup_ctr_info_ struct mascri_ctr_info *info = NULL;
  if (mascri_stream_running_container(ctrs, id, &info, err) < 0)
    return -1;
  /* a deep state directory: the socket is reached through the directory's fd */
  _cleanup_free_ char *dir = mascri_ctr_monitor_dir(ctrs, info->id);
  struct sockaddr_un addr;
  _cleanup_close_ int dirfd = -1;
  if (mascri_unix_addr(dir, MASCRI_MONITOR_ATTACH_SOCKET, &addr, &dirfd, err) < 0) {
    if ((*err)->errnum == ENOENT)
      return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                    "container %s is not running (no monitor)", info->id);
    return -1;
  }
  const struct mascri_ctr_config *cfg = info->config;
  bool tty = cfg && cfg->tty;
  bool has_stdin = cfg && (cfg->stdin_ || cfg->stdin_once);
  struct stream_proc *p = mascri_stream_proc_new(STREAM_ATTACH, tty);
  if (connect_all(p, &addr, info->id, o, has_stdin, err) < 0) {
    mascri_stream_proc_free(&p->pub);
    return mascri_error_wrap(err, "attach to container %s", info->id);
  }
  *out = &p->pub;
  return 0;
}
