/* mascri-monitor's attach socket (create mode; the protocol is in sandbox/monitor.h): the
 * container's output copied to attach clients besides the CRI log, their input to the
 * container's stdin, their resize lines to its pty. A client never holds up the container
 * or the log: one that cannot take a chunk of output at once is disconnected, and input is
 * read from clients only as fast as the container takes it. */
#ifndef MASCRI_SANDBOX_MONITOR_ATTACH_H
#define MASCRI_SANDBOX_MONITOR_ATTACH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "sandbox/monitor/monitor-log.h"

/* Connections served at once; more are closed at accept. */
#define MONITOR_ATTACH_MAX 32
/* The pollfds monitor_attach_pollfds() fills: the listener, the container's stdin, the
 * connections. */
#define MONITOR_ATTACH_POLLFDS (2 + MONITOR_ATTACH_MAX)

typedef struct monitor_attach_conn {
  int fd;    /* -1 = free slot */
  char role; /* 0 until its first byte, then MASCRI_MONITOR_ATTACH_{STDOUT,...} */
  unsigned char line_len;
  char line[30]; /* control: a partial resize line */
} monitor_attach_conn_t;

typedef struct monitor_attach {
  int listen_fd;   /* -1 = no attach socket */
  int in_fd;       /* the container's stdin: a pipe's write end, or the pty master; -1 = none */
  bool in_is_pipe; /* in_fd is a pipe (closed at stdin_once), else the pty master */
  int pty;         /* the pty master for resizes, -1 = none (not owned) */
  bool stdin_once;
  bool stdin_seen; /* the first stdin client came (stdin_once: its detach closes stdin) */
  int first_stdin; /* that client's fd while attached, else -1 */
  monitor_attach_conn_t conns[MONITOR_ATTACH_MAX];
  /* input read from a client and not yet taken by the container (last: its pages are
   * touched only once a client sends input) */
  size_t pend_off, pend_len;
  char pend[4096];
} monitor_attach_t;

/* Makes socket_dir (0700) when missing and listens on <socket_dir>/attach (SOCK_STREAM,
 * non-blocking, close-on-exec), a stale socket removed first. */
int monitor_attach_listen(const char *socket_dir, int *fd, mascri_error_t *err);
/* Removes the socket (before monitor_ctl_remove(), which removes the directory). */
void monitor_attach_remove(const char *socket_dir);
/* a with no connections: listen_fd, in_fd (owned: closed by monitor_attach_close), pty. */
void monitor_attach_init(monitor_attach_t *a, int listen_fd, int in_fd, bool in_is_pipe, int pty,
                         bool stdin_once);
/* Fills p[0 .. MONITOR_ATTACH_POLLFDS) (unused entries get fd -1). */
void monitor_attach_pollfds(const monitor_attach_t *a, struct pollfd *p);
/* Serves what poll() reported in p (as filled by monitor_attach_pollfds). */
void monitor_attach_handle(monitor_attach_t *a, const struct pollfd *p);
/* Copies a chunk of the container's output stream s to the clients that asked for it. */
void monitor_attach_output(monitor_attach_t *a, monitor_stream_t s, const char *data, size_t len);
/* The container has exited (exit_code as in the exit file) and its output is drained:
 * "exit <code>\n" to the control clients, then every connection is closed. */
void monitor_attach_exit(monitor_attach_t *a, int exit_code);
/* Closes the connections, the listener and in_fd. */
void monitor_attach_close(monitor_attach_t *a);

#endif
