/* Shared bits of the commands: ids, signal names, waiting with signal forwarding, the
 * terminal proxy of `run` without --console-socket. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/signal-name.h"
#include "runtime/cli/cli-internal.h"

int cli_need_id(int argc, char **argv, const char *cmd, const char **id, mascri_error_t *err)
{
  if (optind == 0) /* the command parsed no options */
    optind = 1;
  if (optind >= argc)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "%s: a container id is required", cmd);
  *id = argv[optind];
  return 0;
}

int cli_parse_signal(const char *s)
{
  int sig = mascri_signal_parse(s);
  if (sig > 0)
    return sig;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  if (strncasecmp(s, "RTMIN", 5) == 0)
    return SIGRTMIN + (s[5] == '+' ? atoi(s + 6) : 0);
  return -1;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

void cli_block_signals(void)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaddset(&set, forwarded[i]);
  sigprocmask(SIG_BLOCK, &set, NULL);
}

static int exit_status(int status)
{
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 255;
}

/* Reaps pid when it exited; returns its status, or -1 while it runs. */
static int reap(pid_t pid)
{
  int status;
  pid_t r;
  do
    r = waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == pid)
    return exit_status(status);
  if (r < 0 && errno == ECHILD)
    return 255;
  return -1;
}

int cli_wait_forwarding(pid_t pid)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaddset(&set, forwarded[i]);
  for (;;) {
    int st = reap(pid);
    if (st >= 0)
      return st;
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig > 0 && sig != SIGCHLD)
      kill(pid, sig);
  }
}

/* The process is gone: copy what it wrote last and is still buffered in the pty. */
static void drain_master(int master, char *buf, size_t size)
{
  struct pollfd p = {.fd = master, .events = POLLIN};
  while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
    ssize_t n = read(master, buf, size);
    if (n <= 0 || write(1, buf, (size_t)n) != n)
      break;
  }
}

int cli_tty_proxy(int master, pid_t pid)
{
  struct termios saved, raw;
  bool is_tty = tcgetattr(0, &saved) == 0;
  if (is_tty) {
    raw = saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0)
      ioctl(master, TIOCSWINSZ, &ws);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaddset(&set, forwarded[i]);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  struct pollfd p[3] = {
      {.fd = 0, .events = POLLIN}, {.fd = master, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
  int st = -1;
  char buf[8192];
  while ((st = reap(pid)) < 0) {
    if (poll(p, 3, -1) < 0 && errno != EINTR)
      break;
    if (p[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, buf, sizeof(buf));
      if (n > 0)
        (void)!write(master, buf, (size_t)n);
      else
        p[0].fd = -1;
    }
    if (p[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(master, buf, sizeof(buf));
      if (n > 0)
        (void)!write(1, buf, (size_t)n);
      else
        p[1].fd = -1;
    }
    if (p[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
        if (si.ssi_signo == SIGWINCH) {
          struct winsize ws;
          if (ioctl(0, TIOCGWINSZ, &ws) == 0)
            ioctl(master, TIOCSWINSZ, &ws);
        } else {
          kill(pid, (int)si.ssi_signo);
        }
      }
    }
  }
  drain_master(master, buf, sizeof(buf));
  if (is_tty)
    tcsetattr(0, TCSANOW, &saved);
  close(sfd);
  close(master);
  return st < 0 ? 255 : st;
}
