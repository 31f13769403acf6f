/* Create mode of mascri-monitor (monitor-create.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "runtime/runtime.h"
#include "sandbox/monitor/monitor-attach.h"
#include "sandbox/monitor/monitor-create.h"
#include "sandbox/monitor/monitor-loop.h"
#include "sandbox/monitor/monitor-mem.h"
#include "sandbox/monitor/monitor-oom.h"
#include "sandbox/monitor/monitor-proc.h"
#include "sandbox/monitor/monitor-status.h"

typedef struct create_run {
  const monitor_args_t *a;
  mascri_runtime_t rt;
  monitor_log_t log;
  int sfd, ctl_fd, attach_fd;
  int out[2], errs[2], in[2]; /* [0] read end, [1] write end */
  int master;
  pid_t init_pid;
  uint64_t created_us; /* CLOCK_MONOTONIC in µs before the container was created */
} create_run_t;

/* How far apart the kernel log's clock (the scheduler clock) and CLOCK_MONOTONIC may be:
 * records older than the container by more than this are not its. */
#define KMSG_CLOCK_SLACK_US (10 * 1000000ull)

static void close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static int set_nonblock(int fd, mascri_error_t *err)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return mascri_make_error(err, errno, "fcntl O_NONBLOCK");
  return 0;
}

/* Pipes for the container's stdio (all close-on-exec; the init dup2()s its ends). */
static int make_pipes(create_run_t *c, mascri_error_t *err)
{
  if (c->a->terminal)
    return 0; /* the pty comes back from the runtime */
  if (pipe2(c->out, O_CLOEXEC) < 0 || pipe2(c->errs, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  if (set_nonblock(c->out[0], err) < 0 || set_nonblock(c->errs[0], err) < 0)
    return -1;
  if (c->a->stdin_ || c->a->stdin_once) {
    if (pipe2(c->in, O_CLOEXEC) < 0)
      return mascri_make_error(err, errno, "pipe");
    if (set_nonblock(c->in[1], err) < 0) /* attach clients never block the monitor */
      return -1;
  } else {
    c->in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (c->in[0] < 0)
      return mascri_make_error(err, errno, "open /dev/null");
  }
  return 0;
}

static int reopen_log(void *data, mascri_error_t *err)
{
  return monitor_log_reopen(data, err);
}

static int setup(create_run_t *c, mascri_error_t *err)
{
  c->sfd = monitor_signals_open(err);
  if (c->sfd < 0)
    return -1;
  if (monitor_log_open(&c->log, c->a->log_path, c->a->log_max_line, err) < 0 ||
      monitor_ctl_listen(c->a->socket_dir, &c->ctl_fd, err) < 0 || make_pipes(c, err) < 0)
    return -1;
  if (monitor_attach_listen(c->a->socket_dir, &c->attach_fd, err) < 0)
    return -1;
  return 0;
}

static int create_container(create_run_t *c, mascri_error_t *err)
{
  _cleanup_free_ char *config = mascri_path_join(c->a->bundle, "config.json");
  _cleanup_spec_ mascri_spec_t *spec = NULL;
  if (mascri_spec_load_file(config, &spec, err) < 0)
    return -1;
  if (spec->process)
    spec->process->terminal = c->a->terminal;
  mascri_create_options_t opts = {
      .id = c->a->id,
      .bundle = c->a->bundle,
      .stdio = {.fds = {c->in[0], c->out[1], c->errs[1]}},
      .wait_start = true,
      .mount_template = c->a->mount_template,
  };
  if (c->a->terminal)
    opts.stdio.console_master = &c->master;
  c->created_us = (uint64_t)mascri_clock_monotonic_ms() * 1000u;
  c->init_pid = mascri_container_create(&c->rt, spec, &opts, err);
  if (c->init_pid < 0)
    return -1;
  /* the container's ends: only the container holds them from now on */
  close_fd(&c->in[0]);
  close_fd(&c->out[1]);
  close_fd(&c->errs[1]);
  if (c->master >= 0 && set_nonblock(c->master, err) < 0)
    return -1;
  return 0;
}

static void report_error(int sync_fd, const mascri_error_t *err)
{
  char line[4096];
  size_t len = monitor_format_error_line(err, line, sizeof(line));
  monitor_write_line(sync_fd, line, len);
}

static void report_ok(int sync_fd, pid_t init_pid)
{
  char line[64];
  int n = snprintf(line, sizeof(line), "ok %d %d\n", (int)getpid(), (int)init_pid);
  monitor_write_line(sync_fd, line, (size_t)n);
}

/* Whether the OOM killer took init although memory.events could not tell (monitor-oom.h):
 * only for an init killed by SIGKILL whose cgroup went away before the last read. */
static bool oom_killed_per_kernel_log(const create_run_t *c, const monitor_loop_t *m)
{
  if (!m->oom_gone || !WIFSIGNALED(m->init_status) || WTERMSIG(m->init_status) != SIGKILL)
    return false;
  uint64_t since = c->created_us > KMSG_CLOCK_SLACK_US ? c->created_us - KMSG_CLOCK_SLACK_US : 0;
  return monitor_kmsg_oom_killed("/dev/kmsg", c->init_pid, since);
}

/* Exit file, with the OOM flag of the container's cgroup read first. */
static void finish(create_run_t *c, const monitor_loop_t *m)
{
  mascri_container_stats_t stats = {0};
  mascri_error_t err = NULL;
  if (mascri_container_stats(&c->rt, c->a->id, &stats, &err) < 0)
    mascri_error_release(&err);
  int64_t ns = (int64_t)m->finished_at.tv_sec * 1000000000LL + m->finished_at.tv_nsec;
  bool oom = stats.oom_killed_seen || m->oom_killed || oom_killed_per_kernel_log(c, m);
  if (monitor_write_exit_file(c->a->exit_file, m->init_status, ns, oom, &err) < 0)
    mascri_error_release(&err);
}

/* The attach clients' side: the container's stdin (the pipe, or the pty with a terminal,
 * when it was created with stdin) and the pty for resizes. */
static void attach_init(create_run_t *c, monitor_attach_t *att)
{
  bool want_stdin = c->a->stdin_ || c->a->stdin_once;
  int in_fd = c->a->terminal ? (want_stdin ? c->master : -1) : c->in[1];
  monitor_attach_init(att, c->attach_fd, in_fd, !c->a->terminal, c->a->terminal ? c->master : -1,
                      c->a->stdin_once);
  c->attach_fd = -1;
  if (!c->a->terminal)
    c->in[1] = -1; /* the attach state owns the pipe now */
}

/* The container's memory.events, watched by the loop (-1 when the host has no v2 memory
 * controller: the exit's stats still tell on v1). */
static int open_memory_events(create_run_t *c)
{
  mascri_error_t err = NULL;
  int fd = mascri_container_cgroup_file_open(&c->rt, c->a->id, "memory.events", &err);
  mascri_error_release(&err);
  return fd;
}

static void run_loop(create_run_t *c)
{
  monitor_mem_t mem;
  monitor_attach_t att;
  attach_init(c, &att);
  monitor_ctl_handler_t ctl = {
      .monitor_pid = getpid(), .init_pid = c->init_pid, .reopen = reopen_log, .data = &c->log};
  monitor_loop_t m = {
      .sfd = c->sfd,
      .ctl_fd = c->ctl_fd,
      .streams = {c->a->terminal ? c->master : c->out[0], c->a->terminal ? -1 : c->errs[0]},
      .pty = c->a->terminal,
      .init_pid = c->init_pid,
      .log = &c->log,
      .ctl = &ctl,
      .attach = att.listen_fd >= 0 ? &att : NULL,
      .mem = &mem,
      .oom_fd = open_memory_events(c),
  };
  c->master = c->out[0] = c->errs[0] = -1; /* the loop closes them */
  /* the spec and the runtime's setup are freed: the loop gives their pages back */
  monitor_log_warm(&c->log); /* fills the clock: the loop's warm-up needs no localtime_r() */
  monitor_loop_run(&m);
  finish(c, &m);
  int sig;
  monitor_attach_exit(&att, monitor_exit_code(m.init_status, &sig));
  monitor_attach_close(&att);
}

static void cleanup(create_run_t *c)
{
  int *fds[] = {&c->sfd,     &c->ctl_fd,  &c->attach_fd, &c->out[0], &c->out[1],
                &c->errs[0], &c->errs[1], &c->in[0],     &c->in[1],  &c->master};
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    close_fd(fds[i]);
  monitor_log_close(&c->log);
}

int monitor_create_main(const monitor_args_t *a, int sync_fd)
{
  _cleanup_error_ mascri_error_t err = NULL;
  int r = monitor_fork_away(&err);
  if (r > 0)
    return 0;
  create_run_t c = {
      .a = a,
      .rt = {.state_root = a->runtime_root,
             .cgroup_manager = a->systemd_cgroup ? MASCRI_CGROUP_MANAGER_SYSTEMD
                                                 : MASCRI_CGROUP_MANAGER_CGROUPFS},
      .log = {.fd = -1},
      .sfd = -1,
      .ctl_fd = -1,
      .attach_fd = -1,
      .out = {-1, -1},
      .errs = {-1, -1},
      .in = {-1, -1},
      .master = -1,
  };
  if (r < 0 || setup(&c, &err) < 0 || create_container(&c, &err) < 0) {
    /* clean up first: once the caller reads the error, nothing of ours is left */
    if (c.attach_fd >= 0)
      monitor_attach_remove(a->socket_dir);
    if (c.ctl_fd >= 0)
      monitor_ctl_remove(a->socket_dir);
    cleanup(&c);
    report_error(sync_fd, &err);
    return 1;
  }
  report_ok(sync_fd, c.init_pid);
  close(sync_fd);
  run_loop(&c);
  monitor_attach_remove(a->socket_dir);
  monitor_ctl_remove(a->socket_dir);
  cleanup(&c);
  return 0;
}
