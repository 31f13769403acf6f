/* The create-mode event loop (monitor-loop.h): poll over the signalfd, the control socket
 * and the output streams; no allocation in the steady state, whose code is MONITOR_HOT. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "sandbox/monitor/monitor-loop.h"
#include "sandbox/monitor/monitor-oom.h"
#include "sandbox/monitor/monitor-proc.h"

#define READ_BUF 8192

/* Reads one chunk of stream s into the log; closes it at EOF. */
MONITOR_HOT static void read_stream(monitor_loop_t *m, int s, char *buf)
{
  ssize_t n;
  do
    n = read(m->streams[s], buf, READ_BUF);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n > 0) {
    monitor_log_write(m->log, (monitor_stream_t)s, buf, (size_t)n, NULL);
    if (m->attach)
      monitor_attach_output(m->attach, (monitor_stream_t)s, buf, (size_t)n);
    return;
  }
  /* EOF, or EIO on a pty master whose last slave closed, or a real error */
  monitor_log_flush(m->log, (monitor_stream_t)s, NULL);
  close(m->streams[s]);
  m->streams[s] = -1;
}

/* Reaps; true once the init is gone. SIGTERM, SIGINT, SIGHUP and SIGQUIT are read and
 * ignored: the container's life decides the monitor's. */
static bool handle_signals(monitor_loop_t *m, bool exited)
{
  unsigned long seen = monitor_signals_read(m->sfd);
  if (!(seen & (1UL << SIGCHLD)))
    return exited;
  int status;
  if (monitor_reap(m->init_pid, &status) && !exited) {
    m->init_status = status;
    clock_gettime(CLOCK_REALTIME, &m->finished_at);
    return true;
  }
  return exited;
}

#define BASE_POLLFDS 5
#define MAX_POLLFDS (BASE_POLLFDS + MONITOR_ATTACH_POLLFDS)

MONITOR_HOT static int build_pollfds(const monitor_loop_t *m, struct pollfd p[MAX_POLLFDS])
{
  p[0] = (struct pollfd){.fd = m->sfd, .events = POLLIN};
  p[1] = (struct pollfd){.fd = m->ctl_fd, .events = POLLIN};
  p[2] = (struct pollfd){.fd = m->streams[0], .events = POLLIN};
  p[3] = (struct pollfd){.fd = m->streams[1], .events = POLLIN};
  p[4] = (struct pollfd){.fd = m->oom_fd, .events = POLLPRI};
  if (!m->attach)
    return BASE_POLLFDS;
  monitor_attach_pollfds(m->attach, p + BASE_POLLFDS);
  return MAX_POLLFDS;
}

/* Whether poll() reported anything in p[0..n): the attach code (not in the hot section)
 * runs only when a client is active, so a container without one keeps the loop's pages. */
MONITOR_HOT static bool any_events(const struct pollfd *p, int n)
{
  for (int i = 0; i < n; i++)
    if (p[i].revents)
      return true;
  return false;
}

/* memory.events changed (the kernel notifies a cgroup file with POLLPRI): an oom_kill count
 * above 0 means the OOM killer took a process of the container. Read while the cgroup
 * exists: with the systemd manager the scope and its files go once the container is gone
 * (then oom_gone: monitor-oom.h looks further). */
static void check_oom(monitor_loop_t *m)
{
  int r = monitor_memory_events_oom(m->oom_fd);
  if (r < 0) {
    close(m->oom_fd); /* the cgroup is gone (ENODEV) */
    m->oom_fd = -1;
    m->oom_gone = true;
  } else if (r > 0) {
    m->oom_killed = true;
  }
}

/* Memory back: the log's idle buffer pages, the heap, then the pages (monitor-mem.h). The
 * pages the loop runs on are found the first time (MONITOR_START_MS after the start: that
 * takes a millisecond or two of CPU, which on a small node would compete with the daemon
 * and the container at the busiest moment of a pod's start). */
MONITOR_HOT static void settle(monitor_loop_t *m)
{
  monitor_log_release(m->log);
  if (!m->mem)
    return;
  if (!m->mem_ready) {
    monitor_mem_init(m->mem, monitor_loop_warm, m);
    m->mem_ready = true;
  }
  monitor_mem_prepare(m->mem);
  monitor_mem_drop(m->mem);
}

MONITOR_HOT void monitor_loop_run(monitor_loop_t *m)
{
  char buf[READ_BUF];
  bool exited = false, busy = false;
  long drain_until = 0, first_settle = mascri_clock_monotonic_ms() + MONITOR_START_MS;
  unsigned fills = m->log->clock.fills;
  for (;;) {
    int timeout = busy ? MONITOR_IDLE_MS : -1;
    if (first_settle && !exited) { /* once, after the start, busy or not */
      long left = first_settle - mascri_clock_monotonic_ms();
      if (left <= 0) {
        settle(m);
        first_settle = 0;
        continue;
      }
      if (timeout < 0 || left < timeout)
        timeout = (int)left;
    }
    if (exited) {
      long left = drain_until - mascri_clock_monotonic_ms();
      if ((m->streams[0] < 0 && m->streams[1] < 0) || left <= 0)
        break;
      timeout = (int)left;
    }
    struct pollfd p[MAX_POLLFDS];
    int n = build_pollfds(m, p);
    int r = poll(p, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR)
      break;
    if (r == 0 && busy && !exited && !first_settle) {
      settle(m);
      busy = false;
    }
    if (r <= 0)
      continue;
    busy = true;
    if (p[4].revents && m->oom_fd >= 0)
      check_oom(m);
    for (int s = 0; s < 2; s++)
      if (p[2 + s].revents)
        read_stream(m, s, buf);
    if (m->log->clock.fills != fills) { /* localtime_r() ran: about once an hour */
      settle(m);
      fills = m->log->clock.fills;
    }
    if (p[1].revents & POLLIN)
      monitor_ctl_serve(m->ctl_fd, m->ctl);
    if (m->attach && any_events(p + BASE_POLLFDS, MONITOR_ATTACH_POLLFDS))
      monitor_attach_handle(m->attach, p + BASE_POLLFDS);
    if (p[0].revents & POLLIN) {
      bool was = exited;
      exited = handle_signals(m, exited);
      if (exited && !was) {
        drain_until = mascri_clock_monotonic_ms() + MONITOR_DRAIN_MS;
        if (m->oom_fd >= 0)
          check_oom(m); /* the notification may come after the exit */
      }
    }
  }
  for (int s = 0; s < 2; s++)
    if (m->streams[s] >= 0) {
      monitor_log_flush(m->log, (monitor_stream_t)s, NULL);
      close(m->streams[s]);
      m->streams[s] = -1;
    }
  if (m->oom_fd >= 0) {
    close(m->oom_fd);
    m->oom_fd = -1;
  }
}

void monitor_loop_warm(void *data)
{
  monitor_loop_t *m = data;
  struct pollfd p = {.fd = -1};
  (void)poll(&p, 1, 0); /* a negative fd is skipped: 0 at once */
  char c;
  (void)!read(-1, &c, 1); /* EBADF at once */
  monitor_log_warm(m->log);
}
