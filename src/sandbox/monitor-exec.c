/* Exec mode of mascri-monitor (monitor-exec.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/runtime.h"
#include "sandbox/monitor-exec.h"
#include "sandbox/monitor-proc.h"
#include "sandbox/monitor-status.h"

#define COPY_BUF 8192
#define PTY_DRAIN_MS 1000

typedef struct exec_run {
  int sfd;
  int master; /* with --terminal: copied to stdout until EOF/EIO */
  pid_t pid;
  int status;
  bool exited, killed;
} exec_run_t;

static int start_process(const monitor_args_t *a, exec_run_t *x, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  _cleanup_spec_process_ mascri_spec_process_t *p = NULL;
  if (mascri_read_file(a->process_file, &buf, &len, err) < 0 ||
      mascri_spec_process_parse(buf, len, &p, err) < 0)
    return mascri_error_wrap(err, "--process %s", a->process_file);
  p->terminal = a->terminal;
  mascri_runtime_t rt = {.state_root = a->runtime_root,
                         .cgroup_manager = a->systemd_cgroup ? MASCRI_CGROUP_MANAGER_SYSTEMD
                                                             : MASCRI_CGROUP_MANAGER_CGROUPFS};
  mascri_exec_options_t opts = {.process = p, .stdio = MASCRI_STDIO_INHERIT};
  if (a->terminal)
    opts.stdio.console_master = &x->master;
  x->pid = mascri_container_exec(&rt, a->id, &opts, err);
  if (x->pid < 0)
    return -1;
  if (x->master >= 0) {
    int fl = fcntl(x->master, F_GETFL);
    if (fl >= 0)
      fcntl(x->master, F_SETFL, fl | O_NONBLOCK);
  }
  return 0;
}

/* Copies what the pty has to stdout; closes it at EOF/EIO. */
static void copy_pty(exec_run_t *x)
{
  char buf[COPY_BUF];
  ssize_t n;
  do
    n = read(x->master, buf, sizeof(buf));
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n > 0) {
    monitor_write_line(STDOUT_FILENO, buf, (size_t)n);
    return;
  }
  close(x->master);
  x->master = -1;
}

static void handle_signals(exec_run_t *x)
{
  unsigned long seen = monitor_signals_read(x->sfd);
  if ((seen & ((1UL << SIGTERM) | (1UL << SIGINT))) && !x->exited && !x->killed) {
    kill(x->pid, SIGKILL); /* ExecSync's timeout */
    x->killed = true;
  }
  if ((seen & (1UL << SIGCHLD)) && !x->exited && monitor_reap(x->pid, &x->status))
    x->exited = true;
}

static long mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Until the process is reaped and the pty (if any) drained, at most PTY_DRAIN_MS after. */
static void wait_process(exec_run_t *x)
{
  long drain_until = 0;
  for (;;) {
    int timeout = -1;
    if (x->exited) {
      if (x->master < 0)
        return;
      if (!drain_until)
        drain_until = mono_ms() + PTY_DRAIN_MS;
      long left = drain_until - mono_ms();
      if (left <= 0)
        return;
      timeout = (int)left;
    }
    struct pollfd p[2] = {{.fd = x->sfd, .events = POLLIN}, {.fd = x->master, .events = POLLIN}};
    int r = poll(p, 2, timeout);
    if (r < 0 && errno != EINTR)
      return;
    if (r > 0 && p[1].revents)
      copy_pty(x);
    if (r > 0 && (p[0].revents & POLLIN))
      handle_signals(x);
  }
}

int monitor_exec_main(const monitor_args_t *a, int status_fd)
{
  _cleanup_error_ mascri_error_t err = NULL;
  exec_run_t x = {.sfd = -1, .master = -1};
  char line[4096];
  x.sfd = monitor_signals_open(&err);
  if (x.sfd < 0 || start_process(a, &x, &err) < 0) {
    size_t len = monitor_format_error_line(&err, line, sizeof(line));
    monitor_write_line(status_fd, line, len);
    if (x.sfd >= 0)
      close(x.sfd);
    return 1;
  }
  wait_process(&x);
  if (x.master >= 0)
    close(x.master);
  close(x.sfd);
  int sig = 0;
  int code = x.exited ? monitor_exit_code(x.status, &sig) : 255;
  int n = snprintf(line, sizeof(line), "exit %d\n", code);
  monitor_write_line(status_fd, line, (size_t)n);
  return 0;
}
