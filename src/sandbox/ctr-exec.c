/* ExecSync: `mascri-monitor exec` runs the command in the container as mascrid's child;
 * mascrid collects stdout/stderr (each capped at MASCRI_EXEC_SYNC_MAX_OUTPUT, the rest read
 * and dropped: CVE-2022-1708 class) and the status line, and enforces the timeout by
 * SIGTERM to the helper, which SIGKILLs the command. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/process-spawn.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/monitor.h"

struct sink {
  int fd;
  char *buf;
  size_t len, cap;
};

/* Reads what is there; returns false at EOF. */
static bool drain(struct sink *s, size_t limit)
{
  char tmp[65536];
  ssize_t n = read(s->fd, tmp, sizeof(tmp));
  if (n < 0)
    return errno == EINTR || errno == EAGAIN;
  if (n == 0)
    return false;
  size_t keep = s->len >= limit ? 0 : (size_t)n < limit - s->len ? (size_t)n : limit - s->len;
  if (keep) {
    if (s->len + keep > s->cap) {
      s->cap = (s->len + keep) * 2 < limit ? (s->len + keep) * 2 : limit;
      s->buf = xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, tmp, keep);
    s->len += keep;
  }
  return true;
}

static int spawn_exec(struct mascri_containers *ctrs, char **argv, int out_w, int err_w,
                      int status_w, pid_t *pid, mascri_error_t *err)
{
  const mascri_spawn_fd_t fds[] = {
      {.fd = 0, .from = -1, .null_flags = O_RDONLY},
      {.fd = 1, .from = out_w},
      {.fd = 2, .from = err_w},
      {.fd = MASCRI_MONITOR_SYNC_FD, .from = status_w},
  };
  int r = mascri_spawn(ctrs->monitor_exe, argv, NULL, fds, ARRAY_SIZE(fds), MASCRI_SPAWN_KEEP_GROUP,
                       pid);
  return r ? mascri_make_error(err, r, "start %s exec", ctrs->monitor_path) : 0;
}

struct exec_run {
  struct sink out, errs, status;
  pid_t pid;
  bool timed_out, cancelled;
};

/* Collects output until every pipe is closed, killing the helper past the timeout. */
static void collect(struct exec_run *x, int64_t timeout_s, const volatile int *cancel)
{
  int64_t start = mascri_clock_monotonic_ms();
  bool open_[3] = {true, true, true};
  struct sink *sinks[3] = {&x->out, &x->errs, &x->status};
  long killed_at = -1, status_at = -1;
  while (open_[0] || open_[1] || open_[2]) {
    struct pollfd p[3];
    for (int i = 0; i < 3; i++)
      p[i] = (struct pollfd){.fd = open_[i] ? sinks[i]->fd : -1, .events = POLLIN};
    int r = poll(p, 3, 100);
    for (int i = 0; r > 0 && i < 3; i++)
      if (p[i].revents && !drain(sinks[i], i == 2 ? 4096 : MASCRI_EXEC_SYNC_MAX_OUTPUT))
        open_[i] = false;
    long ms = (long)(mascri_clock_monotonic_ms() - start);
    bool over = timeout_s > 0 && ms > timeout_s * 1000;
    if (killed_at < 0 && (over || (cancel && *cancel))) {
      x->timed_out = over;
      x->cancelled = !over;
      kill(x->pid, SIGTERM);
      killed_at = ms;
    } else if (killed_at >= 0 && ms - killed_at > 5000) {
      kill(x->pid, SIGKILL); /* the helper is stuck: give up on the status */
      killed_at = ms - 5000 + 60000;
    }
    if (!open_[2] && status_at < 0)
      status_at = ms; /* the process has exited and been reaped */
    if (killed_at >= 0 && !open_[2] && ms - killed_at > 2000)
      break; /* output held open by something else of the container */
    if (status_at >= 0 && ms - status_at > 1000)
      break; /* e.g. a background process it started keeps stdout open */
  }
}

static int parse_status(struct exec_run *x, int32_t *code, mascri_error_t *err)
{
  char line[4096];
  size_t n = x->status.len < sizeof(line) - 1 ? x->status.len : sizeof(line) - 1;
  memcpy(line, x->status.buf ? x->status.buf : "", n);
  line[n] = '\0';
  char *nl = strchr(line, '\n');
  if (nl)
    *nl = '\0';
  int c = 0;
  if (sscanf(line, "exit %d", &c) == 1) {
    *code = c;
    return 0;
  }
  if (strncmp(line, "error ", 6) == 0) {
    char *kind = line + 6;
    char *msg = strchr(kind, ' ');
    if (msg)
      *msg++ = '\0';
    return mascri_make_error_kind(err, mascri_ctr_error_kind_from_name(kind), 0, "exec: %s",
                                  msg ? msg : kind);
  }
  return mascri_make_error(err, 0, "exec: the helper ended without a status");
}

char *mascri_ctr_write_process_file(struct mascri_containers *ctrs, const char *json,
                                    mascri_error_t *err)
{
  uint64_t r = 0;
  if (getrandom(&r, sizeof(r), 0) != sizeof(r))
    r = (uint64_t)time(NULL) ^ (uint64_t)getpid();
  char *path = xasprintf("%s/monitors/exec-%016llx.json", ctrs->state, (unsigned long long)r);
  if (mascri_write_file_atomic(path, json, strlen(json), 0600, err) < 0) {
    free(path);
    return NULL;
  }
  return path;
}

static int run_helper(struct mascri_containers *ctrs, char **argv, struct exec_run *x,
                      int64_t timeout_s, const volatile int *cancel, mascri_error_t *err)
{
  int po[2], pe[2], ps[2];
  if (pipe2(po, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  if (pipe2(pe, O_CLOEXEC) < 0) {
    close(po[0]), close(po[1]);
    return mascri_make_error(err, errno, "pipe");
  }
  if (pipe2(ps, O_CLOEXEC) < 0) {
    close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
    return mascri_make_error(err, errno, "pipe");
  }
  int r = spawn_exec(ctrs, argv, po[1], pe[1], ps[1], &x->pid, err);
  close(po[1]), close(pe[1]), close(ps[1]);
  x->out.fd = po[0], x->errs.fd = pe[0], x->status.fd = ps[0];
  if (r == 0) {
    collect(x, timeout_s, cancel);
    int st;
    while (waitpid(x->pid, &st, 0) < 0 && errno == EINTR)
      ;
  }
  close(po[0]), close(pe[0]), close(ps[0]);
  return r;
}

int mascri_monitor_exec_sync(struct mascri_containers *ctrs, const char *id,
                             const char *process_json, bool tty, int64_t timeout_s,
                             const volatile int *cancel, struct mascri_exec_sync_result *res,
                             mascri_error_t *err)
{
  _cleanup_free_ char *file = mascri_ctr_write_process_file(ctrs, process_json, err);
  if (!file)
    return -1;
  _cleanup_strv_ char **argv = NULL;
  const char *const fixed[] = {"mascri-monitor",   "exec",      "--id", id, "--runtime-root",
                               ctrs->runtime_root, "--process", file};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
    mascri_strv_append(&argv, fixed[i]);
  if (ctrs->cgroup_manager == MASCRI_CGROUP_MANAGER_SYSTEMD)
    mascri_strv_append(&argv, "--systemd-cgroup");
  if (tty)
    mascri_strv_append(&argv, "--terminal");
  struct exec_run x = {0};
  int r = run_helper(ctrs, argv, &x, timeout_s, cancel, err);
  unlink(file);
  if (r == 0 && x.timed_out)
    r = mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0,
                               "command timed out after %lld s (killed)", (long long)timeout_s);
  else if (r == 0 && x.cancelled)
    r = mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0, "exec cancelled by the caller");
  else if (r == 0)
    r = parse_status(&x, &res->exit_code, err);
  free(x.status.buf);
  if (r < 0) {
    free(x.out.buf);
    free(x.errs.buf);
    return r;
  }
  res->out = x.out.buf, res->out_len = x.out.len;
  res->err_out = x.errs.buf, res->err_len = x.errs.len;
  return 0;
}

void mascri_exec_sync_result_clear(struct mascri_exec_sync_result *res)
{
  free(res->out);
  free(res->err_out);
  memset(res, 0, sizeof(*res));
}
