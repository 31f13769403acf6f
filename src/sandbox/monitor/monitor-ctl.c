/* The control socket of mascri-monitor (monitor-ctl.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/monitor/monitor-ctl.h"
#include "sandbox/monitor.h"

/* How long a connected client may take to send its request. */
#define REQUEST_WAIT_MS 500

static int socket_address(const char *socket_dir, struct sockaddr_un *addr, mascri_error_t *err)
{
  *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
  int n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", socket_dir,
                   MASCRI_MONITOR_CTL_SOCKET);
  if (n < 0 || (size_t)n >= sizeof(addr->sun_path))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, ENAMETOOLONG,
                                  "control socket in %s", socket_dir);
  return 0;
}

int monitor_ctl_listen(const char *socket_dir, int *out, mascri_error_t *err)
{
  struct sockaddr_un addr;
  if (socket_address(socket_dir, &addr, err) < 0)
    return -1;
  if (mkdir(socket_dir, 0700) < 0 && errno != EEXIST)
    return mascri_make_error(err, errno, "mkdir %s", socket_dir);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return mascri_make_error(err, errno, "socket");
  if (unlink(addr.sun_path) < 0 && errno != ENOENT)
    return mascri_make_error(err, errno, "remove the stale %s", addr.sun_path);
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    return mascri_make_error(err, errno, "bind %s", addr.sun_path);
  if (listen(fd, 8) < 0)
    return mascri_make_error(err, errno, "listen on %s", addr.sun_path);
  *out = TAKE_FD(fd);
  return 0;
}

void monitor_ctl_remove(const char *socket_dir)
{
  struct sockaddr_un addr;
  mascri_error_t err = NULL;
  if (socket_address(socket_dir, &addr, &err) < 0) {
    mascri_error_release(&err);
    return;
  }
  unlink(addr.sun_path);
  rmdir(socket_dir); /* only when empty */
}

static bool request_is(const char *req, size_t len, const char *word)
{
  return strlen(word) == len && memcmp(req, word, len) == 0;
}

size_t monitor_ctl_answer(const monitor_ctl_handler_t *h, const char *req, size_t len, char *reply,
                          size_t size)
{
  while (len > 0 && (req[len - 1] == '\n' || req[len - 1] == '\0'))
    len--;
  int n;
  if (request_is(req, len, "ping")) {
    n = snprintf(reply, size, "ok %d %d", (int)h->monitor_pid, (int)h->init_pid);
  } else if (request_is(req, len, "reopen")) {
    mascri_error_t err = NULL;
    if (h->reopen(h->data, &err) < 0)
      n = snprintf(reply, size, "error %s", mascri_error_message(&err));
    else
      n = snprintf(reply, size, "ok");
    mascri_error_release(&err);
  } else {
    n = snprintf(reply, size, "error unknown request");
  }
  if (n < 0)
    return 0;
  return (size_t)n < size ? (size_t)n : size - 1;
}

void monitor_ctl_serve(int listen_fd, const monitor_ctl_handler_t *h)
{
  _cleanup_close_ int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r;
  do
    r = poll(&p, 1, REQUEST_WAIT_MS);
  while (r < 0 && errno == EINTR);
  if (r <= 0)
    return;
  char req[256], reply[512];
  ssize_t n = recv(fd, req, sizeof(req), 0);
  if (n <= 0)
    return;
  size_t len = monitor_ctl_answer(h, req, (size_t)n, reply, sizeof(reply));
  (void)!send(fd, reply, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}
