/* Parent/child sync messages over SOCK_SEQPACKET. */
#include "runtime/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fd-pass.h"
#include "common/xalloc.h"

#define SYNC_MAX 8192

int sync_send(int fd, char type, const char *payload, int passfd, mascri_error_t *err)
{
  char buf[SYNC_MAX];
  size_t len = payload ? strnlen(payload, SYNC_MAX - 2) : 0;
  buf[0] = type;
  if (len)
    memcpy(buf + 1, payload, len);
  if (mascri_send_with_fd(fd, buf, len + 1, passfd) < 0)
    return mascri_make_error(err, errno, "sync: send '%c'", type);
  return 0;
}

int sync_recv(int fd, char *type, char **payload, int *passfd, mascri_error_t *err)
{
  char buf[SYNC_MAX];
  if (payload)
    *payload = NULL;
  ssize_t n = mascri_recv_with_fd(fd, buf, sizeof(buf) - 1, passfd);
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
