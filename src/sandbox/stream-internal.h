/* Shared between the streaming files (stream.c, stream-exec.c, stream-attach.c). */
#ifndef MASCRI_SANDBOX_STREAM_INTERNAL_H
#define MASCRI_SANDBOX_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/stream.h"

typedef enum {
  STREAM_EXEC = 0,
  STREAM_ATTACH,
} stream_kind_t;

/* The session behind a mascri_stream_proc (pub first: the caller's pointer is &pub). */
struct stream_proc {
  struct mascri_stream_proc pub;
  stream_kind_t kind;
  bool tty;
  /* exec: the write end of the monitor's control pipe (resize lines; closing it is the
   * "client gone" signal); attach: the control connection to the monitor, also pub.done_fd */
  int ctl_fd;
  char *process_file; /* exec: the --process file, removed at free */
  /* the status line read from done_fd */
  char line[256];
  size_t line_len;
  bool finished; /* result known */
  int exit_code;
  char *error; /* exec: why the process could not start */
};

struct stream_proc *mascri_stream_proc_new(stream_kind_t kind, bool tty);
/* Sets fd non-blocking. */
int mascri_stream_set_nonblock(int fd, mascri_error_t *err);
/* The container behind id (full id or unique prefix) when it is running: NOT_FOUND, else
 * FAILED_PRECONDITION. */
int mascri_stream_running_container(struct mascri_containers *ctrs, const char *id,
                                    struct mascri_ctr_info **info, mascri_error_t *err);
/* Parses the monitor's status line ("exit <code>", "error <KIND> <message>") into p. */
void mascri_stream_parse_status(struct stream_proc *p);

/* stream-port.c: a TCP socket (non-blocking, O_CLOEXEC) connected to localhost:port
 * (127.0.0.1, then ::1 when that is refused) inside the network namespace at netns_path
 * (NULL: the caller's), waiting up to timeout_ms. UNAVAILABLE with the errno kept
 * (ECONNREFUSED) when nothing listens, DEADLINE on a timeout. Blocks the calling thread. */
#define MASCRI_STREAM_CONNECT_TIMEOUT_MS 5000
int mascri_netns_tcp_connect(const char *netns_path, uint16_t port, int timeout_ms,
                             mascri_error_t *err);

#endif
