/* The attach socket of mascri-monitor (monitor-attach.h, protocol in monitor.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/unix-addr.h"
#include "sandbox/monitor/monitor-attach.h"
#include "sandbox/monitor/monitor-mem.h"
#include "sandbox/monitor.h"

/* What an output client's socket may hold before it counts as too slow (the kernel caps it
 * at net.core.wmem_max). */
#define OUTPUT_SNDBUF (1 << 20)

/* The socket's path may be longer than sun_path (a deep state directory): bound through
 * the directory's fd then (common/unix-addr.h), and mascrid connects the same way. */
int monitor_attach_listen(const char *socket_dir, int *out, mascri_error_t *err)
{
  if (mkdir(socket_dir, 0700) < 0 && errno != EEXIST)
    return mascri_make_error(err, errno, "mkdir %s", socket_dir);
  struct sockaddr_un addr;
  _cleanup_close_ int dirfd = -1;
  if (mascri_unix_addr(socket_dir, MASCRI_MONITOR_ATTACH_SOCKET, &addr, &dirfd, err) < 0)
    return -1;
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return mascri_make_error(err, errno, "socket");
  if (unlink(addr.sun_path) < 0 && errno != ENOENT)
    return mascri_make_error(err, errno, "remove the stale attach socket in %s", socket_dir);
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    return mascri_make_error(err, errno, "bind the attach socket in %s", socket_dir);
  if (listen(fd, 16) < 0)
    return mascri_make_error(err, errno, "listen on the attach socket in %s", socket_dir);
  *out = TAKE_FD(fd);
  return 0;
}

void monitor_attach_remove(const char *socket_dir)
{
  char path[PATH_MAX];
  int n = snprintf(path, sizeof(path), "%s/%s", socket_dir, MASCRI_MONITOR_ATTACH_SOCKET);
  if (n > 0 && (size_t)n < sizeof(path))
    unlink(path);
}

void monitor_attach_init(monitor_attach_t *a, int listen_fd, int in_fd, bool in_is_pipe, int pty,
                         bool stdin_once)
{
  /* field by field: the input buffer's page is not touched before an attach needs it */
  a->listen_fd = listen_fd;
  a->in_fd = in_fd;
  a->in_is_pipe = in_is_pipe;
  a->pty = pty;
  a->stdin_once = stdin_once;
  a->stdin_seen = false;
  a->first_stdin = -1;
  a->pend_off = a->pend_len = 0;
  for (size_t i = 0; i < MONITOR_ATTACH_MAX; i++)
    a->conns[i] = (monitor_attach_conn_t){.fd = -1};
}

/* What a client's socket holds, without waiting (EINTR retried): > 0 bytes, 0 at its EOF, < 0
 * with errno (EAGAIN: nothing yet). In the hot section: the loop reads stdin through it. */
MONITOR_HOT static ssize_t recv_now(int fd, void *buf, size_t len)
{
  ssize_t n;
  do
    n = recv(fd, buf, len, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n;
}

/* ---- the container's stdin ---- */

/* No more input for the container: a pipe is closed (it reads EOF), a pty gets its VEOF
 * character once, as if typed (the pty itself carries the output and stays). Every stdin
 * client is let go: its next write fails, which ends its stdin stream. */
static void close_container_stdin(monitor_attach_t *a)
{
  if (a->in_fd < 0)
    return;
  if (a->pend_len > 0) /* what the client sent before it left, as far as it fits now */
    (void)!write(a->in_fd, a->pend + a->pend_off, a->pend_len);
  a->pend_len = a->pend_off = 0;
  if (a->in_is_pipe) {
    close(a->in_fd);
  } else {
    struct termios t;
    char eof = tcgetattr(a->in_fd, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
    (void)!write(a->in_fd, &eof, 1);
  }
  a->in_fd = -1;
  for (size_t i = 0; i < MONITOR_ATTACH_MAX; i++)
    if (a->conns[i].fd >= 0 && a->conns[i].role == MASCRI_MONITOR_ATTACH_STDIN) {
      if (a->conns[i].fd == a->first_stdin)
        a->first_stdin = -1;
      close(a->conns[i].fd);
      a->conns[i].fd = -1;
    }
}

static void close_conn(monitor_attach_t *a, monitor_attach_conn_t *c)
{
  bool once = c->fd == a->first_stdin;
  close(c->fd);
  *c = (monitor_attach_conn_t){.fd = -1};
  if (once) {
    a->first_stdin = -1;
    if (a->stdin_once) /* the first attach session with stdin is over */
      close_container_stdin(a);
  }
}

/* Writes the pending input as far as the container takes it. */
MONITOR_HOT static void flush_input(monitor_attach_t *a)
{
  while (a->pend_len > 0 && a->in_fd >= 0) {
    ssize_t n = write(a->in_fd, a->pend + a->pend_off, a->pend_len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0) { /* the container closed its stdin (EPIPE), or its pty is gone */
      a->pend_len = a->pend_off = 0;
      if (a->in_is_pipe)
        close_container_stdin(a);
      return;
    }
    a->pend_off += (size_t)n;
    a->pend_len -= (size_t)n;
  }
  if (a->pend_len == 0)
    a->pend_off = 0;
}

MONITOR_HOT static void read_input(monitor_attach_t *a, monitor_attach_conn_t *c)
{
  if (a->pend_len > 0 || a->in_fd < 0)
    return;
  ssize_t n = recv_now(c->fd, a->pend, sizeof(a->pend));
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0) { /* the client detached its stdin */
    close_conn(a, c);
    return;
  }
  a->pend_len = (size_t)n;
  flush_input(a);
}

/* ---- control: resize lines ---- */

static void resize(monitor_attach_t *a, const char *line)
{
  unsigned w, h;
  if (a->pty < 0 || sscanf(line, "%u %u", &w, &h) != 2 || w > 0xffff || h > 0xffff)
    return;
  struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
  (void)ioctl(a->pty, TIOCSWINSZ, &ws);
}

static void read_control(monitor_attach_t *a, monitor_attach_conn_t *c)
{
  char buf[256];
  ssize_t n = recv_now(c->fd, buf, sizeof(buf));
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0) {
    close_conn(a, c);
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      c->line[c->line_len] = '\0';
      resize(a, c->line);
      c->line_len = 0;
    } else if (c->line_len < sizeof(c->line) - 1) {
      c->line[c->line_len++] = buf[i];
    } else {
      c->line_len = 0; /* no resize line is that long: dropped */
    }
  }
}

/* An output client only reads; what it sends is dropped, its EOF ends it. */
static void read_discard(monitor_attach_t *a, monitor_attach_conn_t *c)
{
  char buf[256];
  ssize_t n = recv_now(c->fd, buf, sizeof(buf));
  if (n == 0 || (n < 0 && errno != EAGAIN))
    close_conn(a, c);
}

/* ---- connections ---- */

static bool role_ok(const monitor_attach_t *a, char role)
{
  switch (role) {
  case MASCRI_MONITOR_ATTACH_STDOUT:
  case MASCRI_MONITOR_ATTACH_CONTROL:
    return true;
  case MASCRI_MONITOR_ATTACH_STDERR:
    return a->pty < 0; /* a pty merges stderr into its one output */
  case MASCRI_MONITOR_ATTACH_STDIN:
    return a->in_fd >= 0;
  default:
    return false;
  }
}

/* The client's first byte: its role, answered with one byte. */
static void read_role(monitor_attach_t *a, monitor_attach_conn_t *c)
{
  char role;
  ssize_t n = recv_now(c->fd, &role, 1);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0) {
    close_conn(a, c);
    return;
  }
  char answer = role_ok(a, role) ? MASCRI_MONITOR_ATTACH_OK : MASCRI_MONITOR_ATTACH_REFUSED;
  if (send(c->fd, &answer, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1 ||
      answer == MASCRI_MONITOR_ATTACH_REFUSED) {
    close_conn(a, c);
    return;
  }
  c->role = role;
  if (role == MASCRI_MONITOR_ATTACH_STDOUT || role == MASCRI_MONITOR_ATTACH_STDERR) {
    int size = OUTPUT_SNDBUF;
    (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  if (role == MASCRI_MONITOR_ATTACH_STDIN && !a->stdin_seen) {
    a->stdin_seen = true;
    a->first_stdin = c->fd;
  }
}

static void accept_all(monitor_attach_t *a)
{
  for (;;) {
    int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0 && errno == EINTR)
      continue;
    if (fd < 0)
      return;
    monitor_attach_conn_t *slot = NULL;
    for (size_t i = 0; i < MONITOR_ATTACH_MAX && !slot; i++)
      if (a->conns[i].fd < 0)
        slot = &a->conns[i];
    if (!slot) { /* too many: the client reads EOF instead of an answer */
      close(fd);
      continue;
    }
    *slot = (monitor_attach_conn_t){.fd = fd};
    read_role(a, slot); /* usually there already: the client sends it with its connect */
  }
}

MONITOR_HOT void monitor_attach_pollfds(const monitor_attach_t *a, struct pollfd *p)
{
  p[0] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
  p[1] = (struct pollfd){.fd = a->pend_len > 0 ? a->in_fd : -1, .events = POLLOUT};
  for (size_t i = 0; i < MONITOR_ATTACH_MAX; i++) {
    const monitor_attach_conn_t *c = &a->conns[i];
    /* a stdin client waits while the container has not taken the last input */
    bool wait = c->role == MASCRI_MONITOR_ATTACH_STDIN && a->pend_len > 0;
    p[2 + i] = (struct pollfd){.fd = c->fd, .events = wait ? 0 : POLLIN};
  }
}

void monitor_attach_handle(monitor_attach_t *a, const struct pollfd *p)
{
  if (p[1].revents)
    flush_input(a);
  for (size_t i = 0; i < MONITOR_ATTACH_MAX; i++) {
    monitor_attach_conn_t *c = &a->conns[i];
    if (c->fd < 0 || c->fd != p[2 + i].fd || !p[2 + i].revents)
      continue;
    if ((p[2 + i].revents & (POLLERR | POLLNVAL)) ||
        (!(p[2 + i].revents & POLLIN) && (p[2 + i].revents & POLLHUP))) {
      close_conn(a, c);
      continue;
    }
    switch (c->role) {
    case 0:
      read_role(a, c);
      break;
    case MASCRI_MONITOR_ATTACH_STDIN:
      read_input(a, c);
      break;
    case MASCRI_MONITOR_ATTACH_CONTROL:
      read_control(a, c);
      break;
    default:
      read_discard(a, c);
    }
  }
  if (p[0].revents & POLLIN)
    accept_all(a);
}

MONITOR_HOT void monitor_attach_output(monitor_attach_t *a, monitor_stream_t s, const char *data,
                                       size_t len)
{
  char role = s == MONITOR_STDOUT ? MASCRI_MONITOR_ATTACH_STDOUT : MASCRI_MONITOR_ATTACH_STDERR;
  for (size_t i = 0; i < MONITOR_ATTACH_MAX; i++) {
    monitor_attach_conn_t *c = &a->conns[i];
    if (c->fd < 0 || c->role != role)
      continue;
    ssize_t n;
    do
      n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len) /* too slow (a chunk would be lost or wait) or gone */
      close_conn(a, c);
  }
}

void monitor_attach_exit(monitor_attach_t *a, int exit_code)
{
  char line[32];
  int n = snprintf(line, sizeof(line), "exit %d\n", exit_code);
  a->stdin_once = false; /* the container is gone: nothing to close for it */
  for (size_t i = 0; i < MONITOR_ATTACH_MAX; i++) {
    monitor_attach_conn_t *c = &a->conns[i];
    if (c->fd < 0)
      continue;
    if (c->role == MASCRI_MONITOR_ATTACH_CONTROL)
      (void)!send(c->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    close_conn(a, c);
  }
}

void monitor_attach_close(monitor_attach_t *a)
{
  a->stdin_once = false;
  for (size_t i = 0; i < MONITOR_ATTACH_MAX; i++)
    if (a->conns[i].fd >= 0)
      close_conn(a, &a->conns[i]);
  if (a->listen_fd >= 0)
    close(a->listen_fd);
  a->listen_fd = -1;
  if (a->in_fd >= 0 && a->in_is_pipe)
    close(a->in_fd);
  a->in_fd = -1;
}
