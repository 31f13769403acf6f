/* Parent/child sync messages over SOCK_SEQPACKET. */
#include "runtime/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/xalloc.h"

#define SYNC_MAX 8192

int sync_send(int fd, char type, const char *payload, int passfd, mascri_error_t *err)
{
  char buf[SYNC_MAX];
  size_t len = payload ? strnlen(payload, SYNC_MAX - 2) : 0;
  buf[0] = type;
  if (len)
    memcpy(buf + 1, payload, len);
  struct iovec iov = {.iov_base = buf, .iov_len = len + 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctrl;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (passfd >= 0) {
    msg.msg_control = ctrl.buf;
    msg.msg_controllen = sizeof(ctrl.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &passfd, sizeof(int));
  }
  ssize_t n;
  do
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return mascri_make_error(err, errno, "sync: send '%c'", type);
  return 0;
}

int sync_recv(int fd, char *type, char **payload, int *passfd, mascri_error_t *err)
{
  char buf[SYNC_MAX];
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctrl;
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctrl.buf,
                       .msg_controllen = sizeof(ctrl.buf)};
  ssize_t n;
  if (payload)
    *payload = NULL;
  if (passfd)
    *passfd = -1;
  do
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return mascri_make_error(err, errno, "sync: receive");
  if (n == 0) {
    *type = 0;
    return 0;
  }
  *type = buf[0];
  buf[n] = '\0';
  if (payload && n > 1)
    *payload = xstrdup(buf + 1);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got;
      memcpy(&got, CMSG_DATA(c), sizeof(int));
      if (passfd && *passfd < 0)
        *passfd = got;
      else
        close(got);
    }
  }
  return 0;
}

_Noreturn void sync_fail(int fd, mascri_error_t *err)
{
  mascri_error_t ignored = NULL;
  const char *msg = mascri_error_message(err);
  char payload[4096];
  /* "<kind> <message>": the parent rebuilds the error with its kind (sync_error_from) */
  snprintf(payload, sizeof(payload), "%d %s", (int)mascri_error_kind(err),
           msg && msg[0] ? msg : "container init failed");
  if (sync_send(fd, SYNC_ERROR, payload, -1, &ignored) < 0)
    dprintf(2, "mascri: %s\n", msg ? msg : "container init failed");
  mascri_error_release(&ignored);
  _exit(127);
}

int sync_error_from(const char *payload, const char *context, mascri_error_t *err)
{
  const char *msg = payload ? payload : "failed";
  char *end = NULL;
  long kind = payload ? strtol(payload, &end, 10) : -1;
  if (end && end != payload && *end == ' ') {
    msg = end + 1;
  } else {
    kind = -1;
  }
  /* an error the child did not classify is a precondition the container did not meet */
  if (kind <= MASCRI_ERR_INTERNAL || kind > MASCRI_ERR_CANCELLED)
    kind = MASCRI_ERR_FAILED_PRECONDITION;
  return mascri_make_error_kind(err, (mascri_error_kind_t)kind, 0, "%s: %s", context, msg);
}
