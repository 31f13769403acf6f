/* mascri_container_exec: a new process in a running container. The parent enters the
 * container's pid namespace for the fork only; the child joins the other namespaces of
 * the init (/proc/<pid>/ns/...), is moved into the cgroup, and runs the same final steps
 * as the init (cwd check, rlimits, identity, capabilities, seccomp, fd hygiene). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/container-internal.h"
#include "runtime/lsm.h"
#include "runtime/process.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"

static const mascri_ns_type_t join_order[] = {MASCRI_NS_USER, MASCRI_NS_IPC,    MASCRI_NS_UTS,
                                              MASCRI_NS_NET,  MASCRI_NS_CGROUP, MASCRI_NS_TIME,
                                              MASCRI_NS_MOUNT};
static const char *const ns_proc_names[MASCRI_NS_COUNT] = {
    [MASCRI_NS_PID] = "pid",   [MASCRI_NS_NET] = "net",   [MASCRI_NS_IPC] = "ipc",
    [MASCRI_NS_UTS] = "uts",   [MASCRI_NS_MOUNT] = "mnt", [MASCRI_NS_CGROUP] = "cgroup",
    [MASCRI_NS_USER] = "user", [MASCRI_NS_TIME] = "time",
};

/* Opens the init's namespaces that differ from ours. */
static int open_namespaces(pid_t pid, int fds[MASCRI_NS_COUNT], mascri_error_t *err)
{
  for (int t = 0; t < MASCRI_NS_COUNT; t++) {
    fds[t] = -1;
    char theirs[64], ours[64];
    snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, ns_proc_names[t]);
    snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns_proc_names[t]);
    struct stat a, b;
    if (stat(theirs, &a) < 0) {
      if (errno == ENOENT)
        continue;
      return mascri_make_error(err, errno, "stat %s", theirs);
    }
    if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      continue;
    fds[t] = open(theirs, O_RDONLY | O_CLOEXEC);
    if (fds[t] < 0)
      return mascri_make_error(err, errno, "open %s", theirs);
  }
  return 0;
}

typedef struct exec_child {
  const mascri_exec_options_t *opts;
  const mascri_spec_seccomp_t *seccomp;
  int *fds;
  int sync_fd;
  pid_t init_pid;
} exec_child_t;

/* An init without a mount namespace of its own is only chrooted (child.c): sharing our
 * mount namespace, the process enters the init's root the same way. */
static int enter_init_root(pid_t init_pid, mascri_error_t *err)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/root", (int)init_pid);
  _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return mascri_make_error(err, errno, "open %s", path);
  struct stat theirs, ours;
  if (fstat(root, &theirs) < 0 || stat("/", &ours) < 0)
    return mascri_make_error(err, errno, "stat the container's root");
  if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino)
    return 0;
  if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
    return mascri_make_error(err, errno, "enter the container's root");
  return 0;
}

static int exec_child_setup(exec_child_t *c, mascri_error_t *err)
{
  char type = 0;
  if (sync_recv(c->sync_fd, &type, NULL, NULL, err) < 0)
    return -1;
  if (type != SYNC_GO)
    return mascri_make_error(err, EPROTO, "sync: expected GO");
  for (size_t i = 0; i < sizeof(join_order) / sizeof(join_order[0]); i++) {
    int fd = c->fds[join_order[i]];
    if (fd >= 0 && setns(fd, mascri_ns_clone_flag(join_order[i])) < 0)
      return mascri_make_error(err, errno, "join the %s namespace",
                               mascri_ns_type_name(join_order[i]));
  }
  if (c->fds[MASCRI_NS_MOUNT] < 0 && enter_init_root(c->init_pid, err) < 0)
    return -1;
  const mascri_spec_process_t *p = c->opts->process;
  if (p->terminal) {
    int master = -1, slave = -1;
    if (terminal_open(&master, &slave, p->console_height, p->console_width, err) < 0 ||
        sync_send(c->sync_fd, SYNC_PTY, NULL, master, err) < 0 ||
        terminal_make_controlling(slave, err) < 0)
      return -1;
    close(master);
    close(slave);
  } else {
    for (int i = 0; i < 3; i++)
      if (c->opts->stdio.fds[i] >= 0 && dup2(c->opts->stdio.fds[i], i) < 0)
        return mascri_make_error(err, errno, "dup2 stdio %d", i);
  }
  if (process_prepare(p, c->seccomp, err) < 0 || process_set_identity(p, err) < 0 ||
      process_close_fds(c->opts->preserve_fds, err) < 0)
    return -1;
  return 0;
}

_Noreturn static void exec_child_main(exec_child_t *c)
{
  mascri_error_t err = NULL;
  if (exec_child_setup(c, &err) == 0)
    process_exec(c->opts->process, c->seccomp, &err);
  sync_fail(c->sync_fd, &err);
}

static int exec_serve(int sync_fd, const mascri_exec_options_t *opts, mascri_error_t *err)
{
  for (;;) {
    char type = 0;
    _cleanup_free_ char *payload = NULL;
    int fd = -1;
    if (sync_recv(sync_fd, &type, &payload, &fd, err) < 0)
      return -1;
    if (type == 0)
      return 0; /* exec'ed: the CLOEXEC socket closed */
    if (type == SYNC_PTY) {
      if (container_deliver_pty(&opts->stdio, fd, err) < 0)
        return -1;
      continue;
    }
    if (fd >= 0)
      close(fd);
    return sync_error_from(payload, "exec", err);
  }
}

/* The container's cgroup, and its v2 directory to clone the process into (-1 if none). */
static int exec_cgroup(const container_record_t *rec, mascri_cgroup_t *cg, int *v2_fd,
                       mascri_error_t *err)
{
  if (container_cgroup(rec, cg, err) < 0)
    return -1;
  *v2_fd = container_cgroup_v2_fd(cg);
  return 0;
}

static pid_t exec_spawn(const mascri_exec_options_t *opts, const mascri_spec_seccomp_t *seccomp,
                        pid_t init_pid, int fds[MASCRI_NS_COUNT], int sync[2], int cgroup_v2_fd,
                        bool *born_in_v2, mascri_error_t *err)
{
  _cleanup_close_ int own_pidns = -1;
  if (fds[MASCRI_NS_PID] >= 0) {
    own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own_pidns < 0 || setns(fds[MASCRI_NS_PID], CLONE_NEWPID) < 0)
      return mascri_make_error(err, errno, "join the container's pid namespace");
  }
  pid_t pid = mascri_cgroup_clone(0, cgroup_v2_fd, born_in_v2);
  if (pid == 0) {
    close(sync[0]);
    exec_child_t c = {
        .opts = opts, .seccomp = seccomp, .fds = fds, .sync_fd = sync[1], .init_pid = init_pid};
    exec_child_main(&c);
  }
  int saved = errno;
  if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0)
    log_error("cannot return to our pid namespace: %s", strerror(errno));
  if (pid < 0)
    return mascri_make_error(err, saved, "fork");
  return pid;
}

pid_t mascri_container_exec(const mascri_runtime_t *rt, const char *id,
                            const mascri_exec_options_t *opts, mascri_error_t *err)
{
  _cleanup_record_ container_record_t rec = {0};
  _cleanup_spec_ mascri_spec_t *spec = NULL;
  if (record_read(rt, id, &rec, err) < 0 || record_load_spec(rt, id, &spec, err) < 0)
    return -1;
  mascri_status_t st = record_status(rt, &rec);
  if (st != MASCRI_STATUS_RUNNING && st != MASCRI_STATUS_CREATED)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s is %s, not running", id, mascri_status_name(st));
  int fds[MASCRI_NS_COUNT];
  int sync[2] = {-1, -1};
  pid_t pid = -1;
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  _cleanup_close_ int cgroup_v2_fd = -1;
  bool in_cgroup = rec.cgroup_path[0] != '\0', born_in_v2 = false;
  mascri_lsm_probe(); /* from the host's /sys, for the process */
  int r = open_namespaces(rec.pid, fds, err);
  if (r == 0 && in_cgroup)
    r = exec_cgroup(&rec, &cg, &cgroup_v2_fd, err);
  if (r == 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
    r = mascri_make_error(err, errno, "socketpair");
  if (r == 0)
    r = pid = exec_spawn(opts, spec->linux_ ? spec->linux_->seccomp : NULL, rec.pid, fds, sync,
                         cgroup_v2_fd, &born_in_v2, err);
  if (sync[1] >= 0)
    close(sync[1]);
  for (int t = 0; t < MASCRI_NS_COUNT; t++)
    if (fds[t] >= 0)
      close(fds[t]);
  if (r >= 0 && in_cgroup && mascri_cgroup_join(&cg, pid, born_in_v2, err) < 0)
    r = -1;
  if (r >= 0)
    r = sync_send(sync[0], SYNC_GO, NULL, -1, err);
  if (r >= 0)
    r = exec_serve(sync[0], opts, err);
  if (r >= 0 && opts->pid_file)
    r = container_write_pid_file(opts->pid_file, pid, err);
  if (sync[0] >= 0)
    close(sync[0]);
  if (r < 0) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    return mascri_error_wrap(err, "exec in container %s", id);
  }
  return pid;
}

int mascri_container_process(const mascri_runtime_t *rt, const char *id,
                             mascri_spec_process_t **out, mascri_error_t *err)
{
  _cleanup_spec_ mascri_spec_t *spec = NULL;
  if (record_load_spec(rt, id, &spec, err) < 0)
    return -1;
  if (!spec->process)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "container %s has no process", id);
  *out = mascri_spec_process_dup(spec->process);
  return 0;
}
