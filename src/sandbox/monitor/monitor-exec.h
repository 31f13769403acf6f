/* mascri-monitor exec (ExecSync): runs a process in a running container as its parent,
 * reports "exit <code>" on the status fd; SIGTERM/SIGINT SIGKILL the process
 * (sandbox/monitor.h). */
#ifndef MASCRI_SANDBOX_MONITOR_EXEC_H
#define MASCRI_SANDBOX_MONITOR_EXEC_H

#include "sandbox/monitor/monitor-args.h"

/* Returns the process's exit code: 0 once the status line is written, else 1. */
int monitor_exec_main(const monitor_args_t *a, int status_fd);

#endif
