/* mascri-monitor's control socket: <socket-dir>/ctl, SOCK_SEQPACKET bound by path, one
 * request per connection and datagram, one reply ("reopen", "ping"; sandbox/monitor.h). */
#ifndef MASCRI_SANDBOX_MONITOR_CTL_H
#define MASCRI_SANDBOX_MONITOR_CTL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct monitor_ctl_handler {
  pid_t monitor_pid, init_pid;
  /* ReopenContainerLog */
  int (*reopen)(void *data, mascri_error_t *err);
  void *data;
} monitor_ctl_handler_t;

/* Makes socket_dir (0700) when it is missing, removes a stale socket and listens on it
 * (non-blocking, close-on-exec). */
int monitor_ctl_listen(const char *socket_dir, int *fd, mascri_error_t *err);
/* Removes the socket, then the directory when it is empty. */
void monitor_ctl_remove(const char *socket_dir);
/* The reply to one request (req need not be NUL-terminated); returns its length. */
size_t monitor_ctl_answer(const monitor_ctl_handler_t *h, const char *req, size_t len, char *reply,
                          size_t size);
/* Accepts one pending connection, answers its request and closes it. */
void monitor_ctl_serve(int listen_fd, const monitor_ctl_handler_t *h);

#endif
