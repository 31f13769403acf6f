/* The create-mode event loop of mascri-monitor: copies the container's output into the CRI
 * log, serves the control socket and reaps; returns once the init has exited and its
 * output is drained (both streams at EOF, or 1 s after the exit). */
#ifndef MASCRI_SANDBOX_MONITOR_LOOP_H
#define MASCRI_SANDBOX_MONITOR_LOOP_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "sandbox/monitor-ctl.h"
#include "sandbox/monitor-log.h"

#define MONITOR_DRAIN_MS 1000

typedef struct monitor_loop {
  int sfd;        /* monitor_signals_open() */
  int ctl_fd;     /* listening control socket, -1 = none */
  int streams[2]; /* stdout, stderr read ends (a pty master in [0]); -1 = none/closed */
  bool pty;       /* streams[0] is a pty master (EIO = the other side is gone) */
  pid_t init_pid;
  monitor_log_t *log;
  const monitor_ctl_handler_t *ctl;
  /* results */
  int init_status;             /* wait status */
  struct timespec finished_at; /* CLOCK_REALTIME when reaped */
} monitor_loop_t;

/* Closes the streams it reads to the end (they are -1 afterwards). */
void monitor_loop_run(monitor_loop_t *m);

#endif
