/* Whether a signal sent now would reach a process (see signal-ready.c for why it matters). */
#ifndef MASCRI_RUNTIME_SIGNAL_READY_H
#define MASCRI_RUNTIME_SIGNAL_READY_H

#include <sys/types.h>

typedef enum {
  MASCRI_SIG_DELIVERED, /* a handler runs, or the default action applies (not a PID-ns init) */
  MASCRI_SIG_IGNORED,   /* the process ignores it (SIG_IGN): sending is moot */
  MASCRI_SIG_DISCARDED, /* PID-namespace init without handler: the kernel would drop it */
} mascri_sig_reach_t;

/* From the text of /proc/PID/status. */
mascri_sig_reach_t mascri_sig_reach_of_status(const char *status, int sig);
/* Reads /proc/PID/status; a process that is gone or unreadable gives DELIVERED. */
mascri_sig_reach_t mascri_sig_reach(pid_t pid, int sig);

#endif
