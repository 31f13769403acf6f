/* One message with at most one file descriptor attached (SCM_RIGHTS) over a unix socket:
 * the runtime's parent/child sync channel and the OCI console socket. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Sends len bytes of data as one message, with fd attached unless fd < 0. MSG_NOSIGNAL: a
 * closed peer is EPIPE, not a SIGPIPE. Retries EINTR. Returns the bytes sent, or -1 with
 * errno set. */
ssize_t mascri_send_with_fd(int sock, const void *data, size_t len, int fd);

/* Receives one message into buf (at most size bytes). The first descriptor attached lands in
 * *fd, close-on-exec (-1 when none came); any other one, or all when fd is NULL, is closed so
 * nothing leaks. Retries EINTR. Returns the bytes received (0 at end of stream), or -1 with
 * errno set. */
ssize_t mascri_recv_with_fd(int sock, void *buf, size_t size, int *fd);
