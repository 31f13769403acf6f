/* Signals, forking away and reaping for mascri-monitor (monitor-proc.h). */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/monitor/monitor-proc.h"

static const int watched[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT};

int monitor_signals_open(mascri_error_t *err)
{
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < ARRAY_SIZE(watched); i++)
    sigaddset(&set, watched[i]);
  sigset_t blocked = set;
  sigaddset(&blocked, SIGPIPE);
  if (sigprocmask(SIG_BLOCK, &blocked, NULL) < 0)
    return mascri_make_error(err, errno, "sigprocmask");
  int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0)
    return mascri_make_error(err, errno, "signalfd");
  return fd;
}

unsigned long monitor_signals_read(int sfd)
{
  unsigned long seen = 0;
  struct signalfd_siginfo si[8];
  for (;;) {
    ssize_t n = read(sfd, si, sizeof(si));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < (ssize_t)sizeof(si[0]))
      return seen;
    for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
      if (si[i].ssi_signo < sizeof(seen) * 8)
        seen |= 1UL << si[i].ssi_signo;
  }
}

int monitor_fork_away(mascri_error_t *err)
{
  pid_t pid = fork();
  if (pid < 0)
    return mascri_make_error(err, errno, "fork");
  if (pid > 0)
    return 1;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return mascri_make_error(err, errno, "PR_SET_CHILD_SUBREAPER");
  return 0;
}

bool monitor_reap(pid_t pid, int *status)
{
  bool found = false;
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, WNOHANG);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return found;
    if (r == pid) {
      *status = st;
      found = true;
    }
  }
}
