/* mascri-monitor create: creates the container as its parent, reports on the sync fd,
 * then logs, serves the control socket and writes the exit file (sandbox/monitor.h). */
#ifndef MASCRI_SANDBOX_MONITOR_CREATE_H
#define MASCRI_SANDBOX_MONITOR_CREATE_H

#include "sandbox/monitor/monitor-args.h"

/* Returns the process's exit code (the first process of the fork returns 0 at once). */
int monitor_create_main(const monitor_args_t *a, int sync_fd);

#endif
