/* mascri_container_create: the parent side of creating a container. Reads like a story:
 * state dir → cgroup → exec fifo → namespaces → clone → id maps + cgroup → GO → hooks →
 * READY → state.json + pid file → (run:) wait for the exec. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/child.h"
#include "runtime/container-internal.h"
#include "runtime/hooks.h"
#include "runtime/lsm.h"
#include "runtime/sync.h"

typedef struct create_ctx {
  const mascri_runtime_t *rt;
  const mascri_spec_t *spec;
  const mascri_create_options_t *opts;
  char *dir;
  int dirfd;
  char *bundle;
  char *rootfs;
  mascri_cgroup_t cg;
  const mascri_cgroup_ops_t *cgroup_ops; /* the manager's */
  bool cgroup_created;
  int cgroup_v2_fd; /* the cgroup on the v2 hierarchy, to clone the init into */
  bool born_in_v2;  /* the clone placed the init there */
  int fifo_fd;
  int ns_fds[MASCRI_NS_COUNT];
  int clone_flags, unshare_flags;
  bool userns_new;
  int sync[2];
  pid_t pid;
} create_ctx_t;

static void ctx_cleanup(create_ctx_t *c, bool failed)
{
  mascri_error_t e = NULL;
  if (failed && c->pid > 0) {
    kill(c->pid, SIGKILL);
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  if (failed && c->cgroup_created && c->cgroup_ops->destroy(&c->cg, &e) < 0)
    mascri_error_release(&e);
  if (failed && c->dir && mascri_rm_rf(c->dir, &e) < 0)
    mascri_error_release(&e);
  for (int i = 0; i < MASCRI_NS_COUNT; i++)
    if (c->ns_fds[i] >= 0)
      close(c->ns_fds[i]);
  for (int i = 0; i < 2; i++)
    if (c->sync[i] >= 0)
      close(c->sync[i]);
  if (c->fifo_fd >= 0)
    close(c->fifo_fd);
  if (c->cgroup_v2_fd >= 0)
    close(c->cgroup_v2_fd);
  if (c->dirfd >= 0)
    close(c->dirfd);
  mascri_cgroup_clear(&c->cg);
  free(c->dir);
  free(c->bundle);
  free(c->rootfs);
}

static int make_state_dir(create_ctx_t *c, mascri_error_t *err)
{
  _cleanup_free_ char *dir = NULL;
  if (state_dir(c->rt, c->opts->id, &dir, err) < 0)
    return -1;
  /* the state root usually exists: create it only when the first mkdir says it is missing */
  int r = mkdir(dir, 0700);
  if (r < 0 && errno == ENOENT) {
    if (mascri_mkdir_p(state_root(c->rt), 0700, err) < 0)
      return -1;
    r = mkdir(dir, 0700);
  }
  if (r < 0) {
    if (errno == EEXIST)
      return mascri_make_error_kind(err, MASCRI_ERR_ALREADY_EXISTS, EEXIST, "container \"%s\"",
                                    c->opts->id);
    return mascri_make_error(err, errno, "create %s", dir);
  }
  c->dir = TAKE_PTR(dir);
  c->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->dirfd < 0)
    return mascri_make_error(err, errno, "open %s", c->dir);
  return state_write_file_at(c->dirfd, "config.json", c->spec->raw ? c->spec->raw : "{}",
                             c->spec->raw ? c->spec->raw_len : 2, 0600, err);
}

static int resolve_paths(create_ctx_t *c, mascri_error_t *err)
{
  char buf[PATH_MAX];
  if (!realpath(c->opts->bundle ? c->opts->bundle : ".", buf))
    return mascri_make_error(err, errno, "bundle %s", c->opts->bundle ? c->opts->bundle : ".");
  c->bundle = xstrdup(buf);
  if (!c->spec->root_path)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "root.path: required");
  _cleanup_free_ char *root = c->spec->root_path[0] == '/'
                                  ? xstrdup(c->spec->root_path)
                                  : mascri_path_join(c->bundle, c->spec->root_path);
  if (!realpath(root, buf))
    return mascri_make_error(err, errno, "root.path %s", root);
  c->rootfs = xstrdup(buf);
  return 0;
}

/* The cgroup, made now when the manager can (the init is then cloned into it on the v2
 * hierarchy), else with the init in it (place_child). */
static int setup_cgroup(create_ctx_t *c, mascri_error_t *err)
{
  const mascri_spec_linux_t *l = c->spec->linux_;
  c->cg.manager = c->rt ? c->rt->cgroup_manager : MASCRI_CGROUP_MANAGER_CGROUPFS;
  c->cgroup_ops = mascri_cgroup_ops_of(c->cg.manager);
  if (mascri_cgroup_layout_probe(&c->cg.layout, err) < 0 ||
      c->cgroup_ops->resolve_path(l ? l->cgroups_path : NULL, c->opts->id, &c->cg.path, err) < 0)
    return -1;
  c->cgroup_created = true; /* from here on, a failure removes what was made */
  int made = c->cgroup_ops->create(&c->cg, l ? l->resources : NULL, true, err);
  if (made < 0)
    return -1;
  if (made > 0)
    c->cgroup_v2_fd = container_cgroup_v2_fd(&c->cg);
  return 0;
}

static int setup_namespaces(create_ctx_t *c, mascri_error_t *err)
{
  const mascri_spec_linux_t *l = c->spec->linux_;
  for (size_t i = 0; l && i < l->n_namespaces; i++) {
    const mascri_spec_namespace_t *ns = &l->namespaces[i];
    if (ns->path) {
      c->ns_fds[ns->type] = open(ns->path, O_RDONLY | O_CLOEXEC);
      if (c->ns_fds[ns->type] < 0)
        return mascri_make_error(err, errno, "open the %s namespace %s",
                                 mascri_ns_type_name(ns->type), ns->path);
    } else if (ns->type == MASCRI_NS_USER) {
      c->clone_flags |= CLONE_NEWUSER;
      c->userns_new = true;
    } else if (ns->type == MASCRI_NS_PID) {
      c->clone_flags |= CLONE_NEWPID;
    } else {
      c->unshare_flags |= mascri_ns_clone_flag(ns->type);
    }
  }
  return 0;
}

/* The host id that id 0 of the container maps to (0 when unmapped). */
static uint32_t host_id_of_root(const mascri_spec_id_mapping_t *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (m[i].container_id == 0 && m[i].size > 0)
      return m[i].host_id;
  return 0;
}

static int setup_fifo(create_ctx_t *c, mascri_error_t *err)
{
  if (!c->opts->wait_start)
    return 0;
  if (mkfifoat(c->dirfd, "exec.fifo", 0600) < 0)
    return mascri_make_error(err, errno, "create exec.fifo");
  /* The init opens it for writing once set up, as the container's root: in a new user
   * namespace that is another host uid (runc chowns it the same way). */
  uid_t uid = 0;
  gid_t gid = 0;
  const mascri_spec_linux_t *l = c->spec->linux_;
  if (c->userns_new && l) {
    uid = host_id_of_root(l->uid_mappings, l->n_uid_mappings);
    gid = host_id_of_root(l->gid_mappings, l->n_gid_mappings);
  }
  if ((uid || gid) && fchownat(c->dirfd, "exec.fifo", uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return mascri_make_error(err, errno, "chown exec.fifo");
  c->fifo_fd = openat(c->dirfd, "exec.fifo", O_PATH | O_CLOEXEC);
  if (c->fifo_fd < 0)
    return mascri_make_error(err, errno, "open exec.fifo");
  return 0;
}

/* Clones the init; a pid namespace to join is entered for the clone only. */
static int spawn(create_ctx_t *c, mascri_error_t *err)
{
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sync) < 0)
    return mascri_make_error(err, errno, "socketpair");
  _cleanup_close_ int own_pidns = -1;
  if (c->ns_fds[MASCRI_NS_PID] >= 0) {
    own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own_pidns < 0 || setns(c->ns_fds[MASCRI_NS_PID], CLONE_NEWPID) < 0)
      return mascri_make_error(err, errno, "join the pid namespace");
  }
  c->pid = mascri_cgroup_clone(c->clone_flags, c->cgroup_v2_fd, &c->born_in_v2);
  if (c->pid == 0) {
    close(c->sync[0]);
    child_args_t a = {
        .spec = c->spec,
        .opts = c->opts,
        .rootfs = c->rootfs,
        .bundle = c->bundle,
        .sync_fd = c->sync[1],
        .fifo_fd = c->fifo_fd,
        .unshare_flags = c->unshare_flags,
        .proc_fd = -1,
        .userns = c->userns_new || c->ns_fds[MASCRI_NS_USER] >= 0,
        .trees = MOUNT_TREES_NONE,
        .layout = &c->cg.layout,
        .cgroup_path = c->cg.path,
    };
    memcpy(a.ns_fds, c->ns_fds, sizeof(a.ns_fds));
    a.ns_fds[MASCRI_NS_PID] = -1;
    child_main(&a);
  }
  int saved = errno;
  if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0)
    log_error("cannot return to our pid namespace: %s", strerror(errno));
  if (c->pid < 0)
    return mascri_make_error(err, saved, "clone the container init");
  close(c->sync[1]);
  c->sync[1] = -1;
  return 0;
}

static int run_create_hooks(create_ctx_t *c, mascri_error_t *err)
{
  const mascri_spec_t *s = c->spec;
  if (!s->hooks[MASCRI_HOOK_PRESTART].n && !s->hooks[MASCRI_HOOK_CREATE_RUNTIME].n)
    return 0;
  _cleanup_free_ char *state = container_state_json(c->opts->id, "creating", c->pid, c->bundle,
                                                    s->annotation_keys, s->annotation_values);
  if (mascri_hooks_run(&s->hooks[MASCRI_HOOK_PRESTART], "prestart", state, err) < 0 ||
      mascri_hooks_run(&s->hooks[MASCRI_HOOK_CREATE_RUNTIME], "createRuntime", state, err) < 0)
    return -1;
  return 0;
}

/* Serves the child until it reports READY (or, with until_exec, until its exec closed the
 * socket). */
static int serve_child(create_ctx_t *c, bool until_exec, mascri_error_t *err)
{
  for (;;) {
    char type = 0;
    _cleanup_free_ char *payload = NULL;
    int fd = -1;
    if (sync_recv(c->sync[0], &type, &payload, &fd, err) < 0)
      return -1;
    switch (type) {
    case SYNC_HOOKS:
      if (run_create_hooks(c, err) < 0 || sync_send(c->sync[0], SYNC_HOOKS_DONE, NULL, -1, err) < 0)
        return -1;
      break;
    case SYNC_PTY:
      if (container_deliver_pty(&c->opts->stdio, fd, err) < 0)
        return -1;
      break;
    case SYNC_READY:
      if (!until_exec)
        return 0;
      break;
    case SYNC_ERROR:
      return sync_error_from(payload, "container init", err);
    case 0:
      if (until_exec)
        return 0;
      return mascri_make_error(err, 0, "container init exited during setup");
    default:
      if (fd >= 0)
        close(fd);
      return mascri_make_error(err, EPROTO, "sync: unexpected message '%c'", type);
    }
  }
}

static int place_child(create_ctx_t *c, mascri_error_t *err)
{
  if (c->userns_new && container_write_id_maps(c->pid, c->spec->linux_, err) < 0)
    return -1;
  const mascri_spec_linux_t *l = c->spec->linux_;
  if (c->cgroup_ops->enter(&c->cg, l ? l->resources : NULL, true, c->pid, c->born_in_v2, err) < 0)
    return -1;
  char pid[24]; /* the init's pid as the host sees it, for the hooks' state */
  snprintf(pid, sizeof(pid), "%d", (int)c->pid);
  return sync_send(c->sync[0], SYNC_GO, pid, -1, err);
}

static int record(create_ctx_t *c, mascri_error_t *err)
{
  container_record_t rec = {
      .id = (char *)c->opts->id,
      .pid = c->pid,
      .start_time = proc_start_time(c->pid),
      .bundle = c->bundle,
      .rootfs = c->rootfs,
      .cgroup_path = c->cg.path,
      .cgroup_manager = c->cg.manager,
      .annotation_keys = c->spec->annotation_keys,
      .annotation_values = c->spec->annotation_values,
      .owner = (char *)"",
  };
  clock_gettime(CLOCK_REALTIME, &rec.created);
  if (record_write(c->dir, &rec, err) < 0)
    return -1;
  if (c->opts->pid_file && container_write_pid_file(c->opts->pid_file, c->pid, err) < 0)
    return -1;
  return 0;
}

static int create_steps(create_ctx_t *c, mascri_error_t *err)
{
  if (!c->spec->process)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "process: required");
  if (make_state_dir(c, err) < 0)
    return -1;
  if (resolve_paths(c, err) < 0 || setup_cgroup(c, err) < 0 || setup_namespaces(c, err) < 0 ||
      setup_fifo(c, err) < 0 || spawn(c, err) < 0 || place_child(c, err) < 0 ||
      serve_child(c, false, err) < 0 || record(c, err) < 0)
    return -1;
  if (!c->opts->wait_start && serve_child(c, true, err) < 0)
    return -1;
  return 0;
}

pid_t mascri_container_create(const mascri_runtime_t *rt, const mascri_spec_t *spec,
                              const mascri_create_options_t *opts, mascri_error_t *err)
{
  create_ctx_t c = {
      .rt = rt,
      .spec = spec,
      .opts = opts,
      .dirfd = -1,
      .fifo_fd = -1,
      .cgroup_v2_fd = -1,
      .sync = {-1, -1},
  };
  for (int i = 0; i < MASCRI_NS_COUNT; i++)
    c.ns_fds[i] = -1;
  mascri_lsm_probe(); /* from the host's /sys, for the init */
  int r = create_steps(&c, err);
  if (r < 0 && mascri_error_kind(err) == MASCRI_ERR_ALREADY_EXISTS) {
    free(c.dir); /* not ours to remove */
    c.dir = NULL;
  }
  pid_t pid = c.pid;
  ctx_cleanup(&c, r < 0);
  if (r < 0)
    return mascri_error_wrap(err, "create container %s", opts->id);
  if (!opts->wait_start) {
    mascri_error_t e = NULL;
    _cleanup_free_ char *state = container_state_json(
        opts->id, "running", pid, NULL, spec->annotation_keys, spec->annotation_values);
    if (mascri_hooks_run(&spec->hooks[MASCRI_HOOK_POSTSTART], "poststart", state, &e) < 0)
      mascri_log_error_release(MASCRI_LOG_WARNING, &e, "container %s", opts->id);
  }
  return pid;
}
