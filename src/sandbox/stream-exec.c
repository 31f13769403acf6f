/* Streaming Exec (stream.h): `mascri-monitor exec --interactive` (sandbox/monitor.h) runs
 * the process through the runtime library exactly as ExecSync does; mascrid keeps the
 * other ends of its stdio pipes (handed to the streaming server), the read end of its
 * status pipe (done_fd) and the write end of its control pipe (resize lines; closing it
 * ends the process after a grace, enforced by the monitor, so nothing here waits). The
 * monitor forks away: mascrid reaps only its first process, which exits at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/process-spawn.h"
#include "common/strv.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/ctr-spec.h"
#include "sandbox/monitor.h"
#include "sandbox/stream-internal.h"

/* The child's ends of the pipes: [fd 0..4] as the monitor gets them. */
#define CHILD_FDS 5

struct exec_fds {
  int child[CHILD_FDS]; /* -1: /dev/null */
};

static void close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* A pipe: *ours (non-blocking) and *theirs (blocking, for the monitor), both O_CLOEXEC;
 * their end moved above the fds it will be dup2'ed to, so no dup2 overwrites another. */
static int make_pipe(int *ours, int *theirs, bool ours_reads, mascri_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return mascri_make_error(err, errno, "pipe");
  *ours = ours_reads ? p[0] : p[1];
  *theirs = ours_reads ? p[1] : p[0];
  if (*theirs < CHILD_FDS) {
    int high = fcntl(*theirs, F_DUPFD_CLOEXEC, CHILD_FDS);
    close(*theirs);
    *theirs = high;
    if (high < 0)
      return mascri_make_error(err, errno, "fcntl F_DUPFD_CLOEXEC");
  }
  return mascri_stream_set_nonblock(*ours, err);
}

static int make_pipes(struct stream_proc *p, const struct mascri_stream_opts *o, struct exec_fds *f,
                      mascri_error_t *err)
{
  struct mascri_stream_proc *pub = &p->pub;
  if (o->in && make_pipe(&pub->stdin_fd, &f->child[0], false, err) < 0)
    return -1;
  if (o->out && make_pipe(&pub->stdout_fd, &f->child[1], true, err) < 0)
    return -1;
  if (o->err && !o->tty && make_pipe(&pub->stderr_fd, &f->child[2], true, err) < 0)
    return -1;
  if (make_pipe(&pub->done_fd, &f->child[MASCRI_MONITOR_SYNC_FD], true, err) < 0 ||
      make_pipe(&p->ctl_fd, &f->child[MASCRI_MONITOR_EXEC_CTL_FD], false, err) < 0)
    return -1;
  return 0;
}

static char **monitor_argv(struct mascri_containers *ctrs, const char *id, const char *file,
                           bool tty)
{
  char **argv = NULL;
  const char *const fixed[] = {
      "mascri-monitor", "exec", "--id",         id, "--runtime-root", ctrs->runtime_root,
      "--process",      file,   "--interactive"};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
    mascri_strv_append(&argv, fixed[i]);
  if (ctrs->cgroup_manager == MASCRI_CGROUP_MANAGER_SYSTEMD)
    mascri_strv_append(&argv, "--systemd-cgroup");
  if (tty)
    mascri_strv_append(&argv, "--terminal");
  return argv;
}

/* Starts the monitor in its own session (a signal to mascrid's process group does not
 * reach it) and reaps its first process. */
static int spawn_monitor(struct mascri_containers *ctrs, char **argv, const struct exec_fds *f,
                         mascri_error_t *err)
{
  mascri_spawn_fd_t fds[CHILD_FDS];
  for (int fd = 0; fd < CHILD_FDS; fd++)
    fds[fd] = (mascri_spawn_fd_t){.fd = fd, .from = f->child[fd], .null_flags = O_RDWR};
  pid_t pid;
  int r =
      mascri_spawn(ctrs->monitor_exe, argv, NULL, fds, CHILD_FDS, MASCRI_SPAWN_NEW_SESSION, &pid);
  if (r)
    return mascri_make_error(err, r, "start %s exec", ctrs->monitor_path);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return 0;
}

/* The process JSON of argv in container info (the ExecSync builder, with tty). */
static char *process_json(struct mascri_containers *ctrs, const char *id, char *const *argv,
                          bool tty, mascri_error_t *err)
{
  _cleanup_free_ char *dir = mascri_ctr_dir(ctrs, id);
  _cleanup_free_ char *spec_path = mascri_path_join(dir, "config.json");
  _cleanup_free_ char *spec = NULL;
  char *json = NULL;
  size_t len = 0;
  if (mascri_read_file(spec_path, &spec, &len, err) < 0 ||
      mascri_ctr_exec_process_json(spec, (const char *const *)argv, tty, &json, err) < 0)
    return NULL;
  return json;
}

int mascri_containers_exec_stream(struct mascri_containers *ctrs, const char *id, char *const *argv,
                                  const struct mascri_stream_opts *o,
                                  struct mascri_stream_proc **out, mascri_error_t *err)
{
  if (!argv || !argv[0] || !argv[0][0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "exec: cmd is required");
  _cleanup_ctr_info_ struct mascri_ctr_info *info = NULL;
  if (mascri_stream_running_container(ctrs, id, &info, err) < 0)
    return -1;
  _cleanup_free_ char *json = process_json(ctrs, info->id, argv, o->tty, err);
  if (!json)
    return -1;
  struct stream_proc *p = mascri_stream_proc_new(STREAM_EXEC, o->tty);
  struct exec_fds f = {.child = {-1, -1, -1, -1, -1}};
  int r = -1;
  p->process_file = mascri_ctr_write_process_file(ctrs, json, err);
  if (p->process_file && make_pipes(p, o, &f, err) == 0) {
    _cleanup_strv_ char **margv = monitor_argv(ctrs, info->id, p->process_file, o->tty);
    r = spawn_monitor(ctrs, margv, &f, err);
  }
  for (int fd = 0; fd < CHILD_FDS; fd++)
    close_fd(&f.child[fd]);
  if (r < 0) {
    mascri_stream_proc_free(&p->pub);
    return mascri_error_wrap(err, "exec in container %s", info->id);
  }
  *out = &p->pub;
  return 0;
}
