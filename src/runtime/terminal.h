/* Terminals: a pty created inside the container's devpts (verified), handed to the caller
 * through the sync socket or runc's --console-socket protocol. */
#ifndef MASCRI_RUNTIME_TERMINAL_H
#define MASCRI_RUNTIME_TERMINAL_H

#include "common/error.h"

/* Opens a new pty from /dev/ptmx and its peer; both verified to be on devpts. */
int terminal_open(int *master, int *slave, unsigned rows, unsigned cols, mascri_error_t *err);
/* Makes slave the controlling terminal of a new session and the process's stdio. */
int terminal_make_controlling(int slave, mascri_error_t *err);
/* Sends the master to a unix socket (runc's console-socket protocol). */
int terminal_send_to_socket(const char *path, int master, mascri_error_t *err);

#endif
