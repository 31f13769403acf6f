/* What mascri-monitor reports: the sync line on fd 3 ("ok ..." / "error <KIND> ..."), the
 * exec status line ("exit <code>") and the exit file (sandbox/monitor.h). */
#ifndef MASCRI_SANDBOX_MONITOR_STATUS_H
#define MASCRI_SANDBOX_MONITOR_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* "error <KIND> <message>\n": KIND is the error kind's name upper-cased with "_" for
 * spaces; newlines in the message become spaces. Returns the length (truncated to fit). */
size_t monitor_format_error_line(const mascri_error_t *err, char *buf, size_t size);
/* The exit code of a wait status: the status, or 128 + the signal; *sig = the signal or 0. */
int monitor_exit_code(int wait_status, int *sig);
/* {"exit_code":N,"signal":S,"finished_at":NS,"oom_killed":B} without a newline. */
size_t monitor_format_exit_file(int exit_code, int sig, int64_t finished_at_ns, bool oom_killed,
                                char *buf, size_t size);
/* Writes the exit file atomically (temp in the same directory, fsync, rename). */
int monitor_write_exit_file(const char *path, int wait_status, int64_t finished_at_ns,
                            bool oom_killed, mascri_error_t *err);
/* Writes one line to fd (retrying short writes and EINTR); errors are ignored: the reader
 * treats a missing line as a failure. */
void monitor_write_line(int fd, const char *line, size_t len);

#endif
