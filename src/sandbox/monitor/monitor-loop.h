/* The create-mode event loop of mascri-monitor: copies the container's output into the CRI
 * log, serves the control socket and reaps; returns once the init has exited and its
 * output is drained (both streams at EOF, or 1 s after the exit).
 * It gives memory back (monitor-mem.h) MONITOR_START_MS after it starts (not at once: the
 * first time costs a millisecond or two of CPU, kept out of the container's start),
 * whenever it has been idle for MONITOR_IDLE_MS after some activity (once per idle period: a silent
 * container never wakes it), and after a record refilled the log's clock (localtime_r() ran, about
 * once an hour: its pages are not kept for a container that logs all the time). */
#ifndef MASCRI_SANDBOX_MONITOR_LOOP_H
#define MASCRI_SANDBOX_MONITOR_LOOP_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "sandbox/monitor/monitor-attach.h"
#include "sandbox/monitor/monitor-ctl.h"
#include "sandbox/monitor/monitor-log.h"
#include "sandbox/monitor/monitor-mem.h"

#define MONITOR_DRAIN_MS 1000
#define MONITOR_IDLE_MS 3000
#define MONITOR_START_MS 1000

typedef struct monitor_loop {
  int sfd;        /* monitor_signals_open() */
  int ctl_fd;     /* listening control socket, -1 = none */
  int streams[2]; /* stdout, stderr read ends (a pty master in [0]); -1 = none/closed */
  bool pty;       /* streams[0] is a pty master (EIO = the other side is gone) */
  pid_t init_pid;
  monitor_log_t *log;
  const monitor_ctl_handler_t *ctl;
  monitor_attach_t *attach; /* the attach socket and its clients; NULL = none */
  monitor_mem_t *mem;       /* NULL = keep everything */
  bool mem_ready;           /* monitor_mem_init(mem) done (by the first settle) */
  int oom_fd;               /* the cgroup's memory.events (POLLPRI on change), -1 = none */
  /* results */
  bool oom_killed;             /* memory.events counted an oom_kill while it ran */
  bool oom_gone;               /* memory.events went away before its last read */
  int init_status;             /* wait status */
  struct timespec finished_at; /* CLOCK_REALTIME when reaped */
} monitor_loop_t;

/* Closes the streams it reads to the end (they are -1 afterwards). The attach clients are
 * served meanwhile; they stay connected until the caller ends them (monitor_attach_exit). */
void monitor_loop_run(monitor_loop_t *m);
/* The warm() of monitor_mem_init() (data = the loop): runs the libc functions of an
 * iteration and of a log record once, writing nothing. */
void monitor_loop_warm(void *data);

#endif
