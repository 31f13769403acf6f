/* Exec mode of mascri-monitor (monitor-exec.h): ExecSync, and with --interactive the
 * process of a streaming Exec (sandbox/monitor.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "runtime/runtime.h"
#include "sandbox/monitor.h"
#include "sandbox/monitor/monitor-exec.h"
#include "sandbox/monitor/monitor-proc.h"
#include "sandbox/monitor/monitor-status.h"

#define COPY_BUF 8192
#define PTY_DRAIN_MS 1000
#define CTL_LINE 64

/* A one-way copy through a buffer: read from `from` only when the buffer is empty, write
 * to `to` only what it holds, so that neither side ever blocks the loop. */
typedef struct copy {
  char buf[COPY_BUF];
  size_t off, len;
  bool eof; /* `from` is at EOF (or failed): nothing more to read */
} copy_t;

typedef struct exec_run {
  int sfd;
  int master;   /* with --terminal: the pty master */
  int ctl;      /* --interactive: the control pipe (resize lines; EOF = client gone) */
  bool in_open; /* --interactive with a terminal: fd 0 is still copied to the pty */
  copy_t out, in;
  char ctl_line[CTL_LINE];
  size_t ctl_len;
  pid_t pid;
  int status;
  bool exited, killed;
  long kill_at; /* client gone: SIGKILL at this time (mono ms), 0 = not planned */
} exec_run_t;

static void set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

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
  if (x->master >= 0)
    set_nonblock(x->master);
  return 0;
}

/* Without a terminal the process has the caller's pipes itself: the monitor lets go of
 * its copies, so that the caller sees EOF when the process (and whatever it started)
 * closes them, not when the monitor exits. */
static void drop_stdio(void)
{
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return;
  for (int fd = 0; fd < 3; fd++)
    dup2(null, fd);
  close(null);
}

/* One read into an empty buffer; false at EOF or on an error (EIO: the pty's other side
 * is gone). */
static bool copy_fill(copy_t *c, int from)
{
  ssize_t n;
  do
    n = read(from, c->buf, sizeof(c->buf));
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return true;
  if (n <= 0)
    return false;
  c->off = 0;
  c->len = (size_t)n;
  return true;
}

/* Writes what the buffer holds; a reader that went away (EPIPE) or failed loses it. */
static void copy_flush(copy_t *c, int to)
{
  while (c->len > 0) {
    ssize_t n = write(to, c->buf + c->off, c->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0) {
      c->len = 0;
      return;
    }
    c->off += (size_t)n;
    c->len -= (size_t)n;
  }
}

static void pty_output(exec_run_t *x)
{
  if (!copy_fill(&x->out, x->master)) {
    close(x->master);
    x->master = -1;
    return;
  }
  copy_flush(&x->out, STDOUT_FILENO);
}

/* The client closed its stdin: the pty gets its end-of-file character (what ^D typed by a
 * user does: a read at the start of a line returns 0), once. */
static void pty_stdin_eof(exec_run_t *x)
{
  x->in_open = false;
  struct termios t;
  char eof = 4; /* ^D */
  if (x->master >= 0 && tcgetattr(x->master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
    eof = (char)t.c_cc[VEOF];
  x->in.buf[0] = eof; /* the buffer is empty: fd 0 is read only then */
  x->in.off = 0;
  x->in.len = 1;
}

static void pty_input(exec_run_t *x)
{
  if (!copy_fill(&x->in, STDIN_FILENO)) {
    pty_stdin_eof(x);
    return;
  }
  if (x->master >= 0)
    copy_flush(&x->in, x->master);
}

/* The client is gone: the process gets SIGTERM (with a terminal SIGHUP first, which an
 * interactive shell does not ignore), SIGKILL MASCRI_MONITOR_EXEC_GRACE_MS later. */
static void client_gone(exec_run_t *x)
{
  if (x->ctl >= 0)
    close(x->ctl);
  x->ctl = -1;
  if (x->exited || x->kill_at)
    return;
  if (x->master >= 0)
    kill(x->pid, SIGHUP);
  kill(x->pid, SIGTERM);
  x->kill_at = mascri_clock_monotonic_ms() + MASCRI_MONITOR_EXEC_GRACE_MS;
}

/* "W H\n" lines: the pty's new size. */
static void apply_ctl_line(exec_run_t *x, const char *line)
{
  unsigned w = 0, h = 0;
  if (x->master < 0 || sscanf(line, "%u %u", &w, &h) != 2 || w > 0xffff || h > 0xffff)
    return;
  struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
  ioctl(x->master, TIOCSWINSZ, &ws);
}

static void read_ctl(exec_run_t *x)
{
  char buf[256];
  ssize_t n;
  do
    n = read(x->ctl, buf, sizeof(buf));
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0) {
    client_gone(x);
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] != '\n') {
      if (x->ctl_len < CTL_LINE - 1)
        x->ctl_line[x->ctl_len++] = buf[i];
      continue;
    }
    x->ctl_line[x->ctl_len] = '\0';
    apply_ctl_line(x, x->ctl_line);
    x->ctl_len = 0;
  }
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

enum { P_SIG, P_CTL, P_MASTER, P_IN, P_OUT, P_N };

static void build_pollfds(const exec_run_t *x, struct pollfd p[P_N])
{
  bool out_pending = x->out.len > 0, in_pending = x->in.len > 0;
  short master_ev = (short)((out_pending ? 0 : POLLIN) | (in_pending ? POLLOUT : 0));
  p[P_SIG] = (struct pollfd){.fd = x->sfd, .events = POLLIN};
  p[P_CTL] = (struct pollfd){.fd = x->ctl, .events = POLLIN};
  p[P_MASTER] = (struct pollfd){.fd = master_ev ? x->master : -1, .events = master_ev};
  p[P_IN] = (struct pollfd){.fd = x->in_open && !in_pending ? STDIN_FILENO : -1, .events = POLLIN};
  p[P_OUT] = (struct pollfd){.fd = out_pending ? STDOUT_FILENO : -1, .events = POLLOUT};
}

/* How long poll() may sleep: the end of the drain after the exit, or the planned SIGKILL;
 * 0 when the loop is over. */
static int next_timeout(exec_run_t *x, long *drain_until)
{
  long now = mascri_clock_monotonic_ms();
  if (x->exited) {
    if (x->master < 0 && x->out.len == 0)
      return 0;
    if (!*drain_until)
      *drain_until = now + PTY_DRAIN_MS;
    return *drain_until > now ? (int)(*drain_until - now) : 0;
  }
  if (x->kill_at && !x->killed) {
    if (now >= x->kill_at) {
      kill(x->pid, SIGKILL);
      x->killed = true;
      return -1;
    }
    return (int)(x->kill_at - now);
  }
  return -1;
}

/* Until the process is reaped and the pty (if any) drained, at most PTY_DRAIN_MS after. */
static void wait_process(exec_run_t *x)
{
  long drain_until = 0;
  for (;;) {
    int timeout = next_timeout(x, &drain_until);
    if (timeout == 0)
      return;
    struct pollfd p[P_N];
    build_pollfds(x, p);
    int r = poll(p, P_N, timeout);
    if (r < 0 && errno != EINTR)
      return;
    if (r <= 0)
      continue;
    if (p[P_OUT].revents)
      copy_flush(&x->out, STDOUT_FILENO);
    if (p[P_MASTER].revents & POLLOUT)
      copy_flush(&x->in, x->master);
    if (p[P_MASTER].revents & ~POLLOUT)
      pty_output(x);
    if (p[P_CTL].revents) /* before the input: a resize sent first is applied first */
      read_ctl(x);
    if (p[P_IN].revents)
      pty_input(x);
    if (p[P_SIG].revents & POLLIN)
      handle_signals(x);
  }
}

int monitor_exec_main(const monitor_args_t *a, int status_fd)
{
  _cleanup_error_ mascri_error_t err = NULL;
  exec_run_t x = {.sfd = -1, .master = -1, .ctl = -1};
  char line[4096];
  if (a->interactive) {
    /* the control pipe must not reach the process; mascrid does not wait for us */
    x.ctl = MASCRI_MONITOR_EXEC_CTL_FD;
    if (fcntl(x.ctl, F_SETFD, FD_CLOEXEC) < 0)
      x.ctl = -1;
    int r = monitor_fork_away(&err);
    if (r > 0)
      return 0;
    if (x.ctl >= 0)
      set_nonblock(x.ctl);
    x.in_open = a->terminal;
  }
  x.sfd = err ? -1 : monitor_signals_open(&err);
  if (x.sfd < 0 || start_process(a, &x, &err) < 0) {
    size_t len = monitor_format_error_line(&err, line, sizeof(line));
    monitor_write_line(status_fd, line, len);
    if (x.sfd >= 0)
      close(x.sfd);
    return 1;
  }
  if (!a->terminal)
    drop_stdio();
  else if (a->interactive)
    set_nonblock(STDIN_FILENO), set_nonblock(STDOUT_FILENO);
  wait_process(&x);
  if (x.master >= 0)
    close(x.master);
  if (x.ctl >= 0)
    close(x.ctl);
  close(x.sfd);
  int sig = 0;
  int code = x.exited ? monitor_exit_code(x.status, &sig) : 255;
  int n = snprintf(line, sizeof(line), "exit %d\n", code);
  monitor_write_line(status_fd, line, (size_t)n);
  return 0;
}
