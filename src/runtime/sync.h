/* Messages between the runtime (parent) and the container's init or exec child over a
 * SOCK_SEQPACKET socketpair: one type byte, an optional text payload, an optional fd. */
#ifndef MASCRI_RUNTIME_SYNC_H
#define MASCRI_RUNTIME_SYNC_H

#include "common/error.h"

enum {
  SYNC_GO = 'G',         /* parent → child: cgroup and id maps are set, continue */
  SYNC_HOOKS = 'H',      /* child → parent: run prestart/createRuntime hooks now */
  SYNC_HOOKS_DONE = 'h', /* parent → child */
  SYNC_PTY = 'T',        /* child → parent: the pty master (fd attached) */
  SYNC_READY = 'R',      /* child → parent: set up; (waits for start and) execs next */
  SYNC_ERROR = 'E',      /* child → parent: payload is the error message */
};

int sync_send(int fd, char type, const char *payload, int passfd, mascri_error_t *err);
/* Receives one message; *type = 0 on EOF. *payload (may be NULL) and *passfd (-1 when none)
 * are owned by the caller. */
int sync_recv(int fd, char *type, char **payload, int *passfd, mascri_error_t *err);
/* Child side: sends err as SYNC_ERROR and exits with status 127. */
_Noreturn void sync_fail(int fd, mascri_error_t *err);
/* Parent side: the error of a SYNC_ERROR payload, with the child's kind (FAILED_PRECONDITION
 * when it gave none) and "context: " in front of its message. */
int sync_error_from(const char *payload, const char *context, mascri_error_t *err);

#endif
