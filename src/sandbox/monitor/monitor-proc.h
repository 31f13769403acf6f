/* Process plumbing of mascri-monitor: its signals (blocked, read through a signalfd, so
 * that nothing the container inherits is ignored), forking away from mascrid, reaping. */
#ifndef MASCRI_SANDBOX_MONITOR_PROC_H
#define MASCRI_SANDBOX_MONITOR_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/* Blocks SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGPIPE (the container's processes
 * start with an empty mask: the runtime resets it before exec) and returns a non-blocking
 * signalfd for all of them but SIGPIPE. */
int monitor_signals_open(mascri_error_t *err);
/* Reads the pending signals; returns the set seen as a bit mask (bit n = signal n). */
unsigned long monitor_signals_read(int sfd);
/* Forks; the parent gets 1 (it exits 0 at once), the child 0, and becomes the child
 * subreaper. */
int monitor_fork_away(mascri_error_t *err);
/* Reaps every exited child without blocking; when pid is among them, stores its wait
 * status in *status and returns true. */
bool monitor_reap(pid_t pid, int *status);

#endif
