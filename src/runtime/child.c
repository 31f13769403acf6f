/* The container init: join/unshare namespaces, rootfs and mounts, hooks, pivot_root,
 * sysctl, masked paths, terminal, hostname, identity, then (after start) exec. The parent
 * and child meet at the sync points named in sync.h. */
#include "runtime/child.h"

#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/container-internal.h"
#include "runtime/hooks.h"
#include "runtime/mount-util.h"
#include "runtime/mounts.h"
#include "runtime/process.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"

/* Receives the message `want`; its payload (may be NULL) goes to *payload_out. */
static int expect_payload(int fd, char want, char **payload_out, mascri_error_t *err)
{
  char type = 0;
  _cleanup_free_ char *payload = NULL;
  if (sync_recv(fd, &type, &payload, NULL, err) < 0)
    return -1;
  if (payload_out)
    *payload_out = TAKE_PTR(payload);
  if (type != want)
    return mascri_make_error(err, EPROTO, "sync: expected '%c', got '%c'", want, type ? type : '0');
  return 0;
}

static int expect(int fd, char want, mascri_error_t *err)
{
  return expect_payload(fd, want, NULL, err);
}

/* linux.timeOffsets: written for the new time namespace (the one our children and our own
 * exec enter) before any process is in it. Without a new time namespace they are refused. */
static int set_time_offsets(child_args_t *a, mascri_error_t *err)
{
  const mascri_spec_linux_t *l = a->spec->linux_;
  if (!l || !l->has_time_offsets)
    return 0;
  if (!(a->unshare_flags & mascri_ns_clone_flag(MASCRI_NS_TIME)))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.timeOffsets needs a new time namespace");
  _cleanup_free_ char *v =
      xasprintf("monotonic %" PRId64 " %" PRIu32 "\nboottime %" PRId64 " %" PRIu32 "\n",
                l->monotonic_secs, l->monotonic_nsecs, l->boottime_secs, l->boottime_nsecs);
  return procfs_write("self/timens_offsets", v, err);
}

static int join_namespaces(child_args_t *a, mascri_error_t *err)
{
  /* user first: it decides what we may do with the others */
  static const mascri_ns_type_t order[] = {MASCRI_NS_USER, MASCRI_NS_IPC,    MASCRI_NS_UTS,
                                           MASCRI_NS_NET,  MASCRI_NS_CGROUP, MASCRI_NS_TIME,
                                           MASCRI_NS_MOUNT};
  for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
    int fd = a->ns_fds[order[i]];
    if (fd < 0)
      continue;
    if (setns(fd, mascri_ns_clone_flag(order[i])) < 0)
      return mascri_make_error(err, errno, "join the %s namespace", mascri_ns_type_name(order[i]));
    if (order[i] == MASCRI_NS_MOUNT)
      a->joined_mntns = true;
    close(fd);
    a->ns_fds[order[i]] = -1;
  }
  if (a->opts->mount_template && (a->unshare_flags & CLONE_NEWNS) && !a->joined_mntns &&
      mount_template_usable(a->spec, a->userns) &&
      mount_template_enter(a->opts->mount_template, a->spec, a->rootfs, a->bundle, &a->trees, err) <
          0)
    return -1;
  if (a->unshare_flags && unshare(a->unshare_flags) < 0)
    return mascri_make_error(err, errno, "unshare namespaces 0x%x", a->unshare_flags);
  return set_time_offsets(a, err);
}

static int set_names(const mascri_spec_t *spec, mascri_error_t *err)
{
  if (spec->hostname && spec->hostname[0] &&
      sethostname(spec->hostname, strlen(spec->hostname)) < 0)
    return mascri_make_error(err, errno, "set the hostname");
  if (spec->domainname && spec->domainname[0] &&
      setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
    return mascri_make_error(err, errno, "set the domainname");
  return 0;
}

static int apply_sysctl(const mascri_spec_t *spec, mascri_error_t *err)
{
  const mascri_spec_linux_t *l = spec->linux_;
  for (size_t i = 0; l && l->sysctl_keys && l->sysctl_keys[i]; i++) {
    const char *key = l->sysctl_keys[i];
    if (strstr(key, "..") || key[0] == '/' || key[0] == '.')
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.sysctl: invalid key \"%s\"", key);
    _cleanup_free_ char *rel = xasprintf("sys/%s", key);
    for (char *p = rel + 4; *p; p++)
      if (*p == '.')
        *p = '/';
    if (procfs_write(rel, l->sysctl_values[i], err) < 0)
      return mascri_error_wrap(err, "sysctl %s", key);
  }
  return 0;
}

/* A new mount namespace, or one joined by path: mounts are the container's. */
static bool own_mntns(const child_args_t *a)
{
  return (a->unshare_flags & CLONE_NEWNS) || a->joined_mntns;
}

/* After the pivot: pty in the container's devpts; the master goes to the parent. */
static int setup_terminal(child_args_t *a, mascri_error_t *err)
{
  const mascri_spec_process_t *p = a->spec->process;
  if (!p || !p->terminal) {
    for (int i = 0; i < 3; i++)
      if (a->opts->stdio.fds[i] >= 0 && dup2(a->opts->stdio.fds[i], i) < 0)
        return mascri_make_error(err, errno, "dup2 stdio %d", i);
    if (setsid() < 0 && errno != EPERM)
      return mascri_make_error(err, errno, "setsid");
    return 0;
  }
  _cleanup_close_ int master = -1, slave = -1;
  if (terminal_open(&master, &slave, p->console_height, p->console_width, err) < 0)
    return -1;
  _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* without a mount namespace of its own the bind would land on the host's mounts */
  _cleanup_close_ int console =
      own_mntns(a) ? mount_target_open(root, "/dev/console", true, err) : -ENOENT;
  if (console >= 0 && mount_fd(NULL, slave, console, NULL, MS_BIND, NULL, err) < 0)
    return mascri_error_wrap(err, "bind the pty to /dev/console");
  if (console < 0)
    mascri_error_release(err);
  if (sync_send(a->sync_fd, SYNC_PTY, NULL, master, err) < 0)
    return -1;
  return terminal_make_controlling(slave, err);
}

/* prestart + createRuntime run in the parent now; createContainer here, before the pivot */
static int run_create_hooks(child_args_t *a, mascri_error_t *err)
{
  const mascri_spec_t *spec = a->spec;
  if (sync_send(a->sync_fd, SYNC_HOOKS, NULL, -1, err) < 0 ||
      expect(a->sync_fd, SYNC_HOOKS_DONE, err) < 0)
    return -1;
  if (!spec->hooks[MASCRI_HOOK_CREATE_CONTAINER].n)
    return 0;
  _cleanup_free_ char *state = container_state_json(a->opts->id, "creating", a->host_pid, a->bundle,
                                                    spec->annotation_keys, spec->annotation_values);
  return mascri_hooks_run(&spec->hooks[MASCRI_HOOK_CREATE_CONTAINER], "createContainer", state,
                          err);
}

/* No mount namespace at all (runtime-spec: the runtime's is inherited): nothing may be
 * mounted, it would land on the host, so the mounts, masked and read-only paths are left
 * out (said once on stderr, as runc does without a word) and the process is only chrooted
 * into root.path. */
static int setup_root_without_mount_ns(child_args_t *a, mascri_error_t *err)
{
  const mascri_spec_t *spec = a->spec;
  const mascri_spec_linux_t *l = spec->linux_;
  if (spec->n_mounts || (l && (l->masked_paths || l->readonly_paths || l->rootfs_propagation)) ||
      spec->root_readonly)
    log_warning("no mount namespace: mounts, maskedPaths, readonlyPaths, rootfsPropagation "
                "and root.readonly are not applied (they would change the host's mounts)");
  if (run_create_hooks(a, err) < 0 || apply_sysctl(spec, err) < 0)
    return -1;
  /* the start fifo is reopened through /proc, which the chroot leaves behind */
  a->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (a->proc_fd < 0)
    return mascri_make_error(err, errno, "open /proc");
  if (strcmp(a->rootfs, "/") != 0 && chroot(a->rootfs) < 0)
    return mascri_make_error(err, errno, "chroot %s", a->rootfs);
  if (chdir("/") < 0)
    return mascri_make_error(err, errno, "chdir /");
  return 0;
}

static int setup_filesystem(child_args_t *a, mascri_error_t *err)
{
  const mascri_spec_t *spec = a->spec;
  /* A new mount namespace, or one joined by path (then, as with runc, the rootfs and
   * mounts are set up in it too: its other processes see them, and pivot_root moves the
   * root of those whose root was the old one). */
  if (!own_mntns(a))
    return setup_root_without_mount_ns(a, err);
  if (a->trees.rootfs >= 0 && mount_template_place_rootfs(&a->trees, a->rootfs, err) < 0)
    return -1;
  _cleanup_close_ int rootfd = rootfs_prepare(spec, a->rootfs, err);
  if (rootfd < 0)
    return -1;
  mounts_ctx_t mctx = {
      .spec = spec,
      .rootfs = a->rootfs,
      .bundle = a->bundle,
      .rootfd = rootfd,
      .userns = a->userns,
      .cgroupns = (a->unshare_flags & CLONE_NEWCGROUP) || a->ns_fds[MASCRI_NS_CGROUP] >= 0,
      .layout = a->layout,
      .cgroup_path = a->cgroup_path,
      .bind_trees = a->trees.binds,
  };
  int r = mounts_setup(&mctx, err);
  mount_trees_clear(&a->trees);
  if (r < 0)
    return -1;
  if (run_create_hooks(a, err) < 0)
    return -1;
  if (rootfs_pivot(rootfd, a->opts->no_pivot, err) < 0)
    return -1;
  if (apply_sysctl(spec, err) < 0 || rootfs_finalize(spec, err) < 0)
    return -1;
  return 0;
}

static int wait_for_start(child_args_t *a, mascri_error_t *err)
{
  _cleanup_close_ int fd = -1;
  if (a->proc_fd >= 0) {
    char rel[64];
    snprintf(rel, sizeof(rel), "self/fd/%d", a->fifo_fd);
    fd = openat(a->proc_fd, rel, O_WRONLY | O_CLOEXEC);
  } else {
    _cleanup_free_ char *path = fd_path(a->fifo_fd);
    fd = open(path, O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0)
    return mascri_make_error(err, errno, "open exec.fifo");
  close(a->fifo_fd);
  a->fifo_fd = -1;
  char c = 0;
  if (write(fd, &c, 1) != 1)
    return mascri_make_error(err, errno, "write exec.fifo");
  return 0;
}

/* startContainer hooks run in the container, after start (or right away for `run`), just
 * before the user process is executed (runtime-spec config.md#startContainer-hooks). */
static int run_start_hooks(child_args_t *a, mascri_error_t *err)
{
  const mascri_spec_hook_list_t *hooks = &a->spec->hooks[MASCRI_HOOK_START_CONTAINER];
  if (!hooks->n)
    return 0;
  _cleanup_free_ char *state =
      container_state_json(a->opts->id, "created", a->host_pid, a->bundle, a->spec->annotation_keys,
                           a->spec->annotation_values);
  return mascri_hooks_run(hooks, "startContainer", state, err);
}

static int child_setup(child_args_t *a, mascri_error_t *err)
{
  const mascri_spec_t *spec = a->spec;
  umask(0);
  _cleanup_free_ char *host_pid = NULL;
  if (expect_payload(a->sync_fd, SYNC_GO, &host_pid, err) < 0)
    return -1;
  a->host_pid = host_pid ? atoi(host_pid) : 0;
  if (a->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    return mascri_make_error(err, errno, "become root in the user namespace");
  if (join_namespaces(a, err) < 0)
    return -1;
  /* a session keyring of its own, so containers do not share the host's keys */
  if (!a->opts->no_new_keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 &&
      errno != ENOSYS && errno != EPERM)
    return mascri_make_error(err, errno, "join a new session keyring");
  if (setup_filesystem(a, err) < 0)
    return -1;
  if (set_names(spec, err) < 0 || setup_terminal(a, err) < 0)
    return -1;
  if (process_prepare(spec->process, spec->linux_ ? spec->linux_->seccomp : NULL, err) < 0 ||
      process_set_identity(spec->process, err) < 0 ||
      process_check_command(spec->process, err) < 0 ||
      process_close_fds(a->opts->preserve_fds, err) < 0)
    return -1;
  if (sync_send(a->sync_fd, SYNC_READY, NULL, -1, err) < 0)
    return -1;
  if (a->fifo_fd >= 0 && wait_for_start(a, err) < 0)
    return -1;
  return run_start_hooks(a, err);
}

_Noreturn void child_main(child_args_t *a)
{
  mascri_error_t err = NULL;
  if (child_setup(a, &err) == 0)
    process_exec(a->spec->process, a->spec->linux_ ? a->spec->linux_->seccomp : NULL, &err);
  sync_fail(a->sync_fd, &err);
}
