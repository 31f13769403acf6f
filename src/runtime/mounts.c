/* The spec's mounts, in order, inside the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/mount-template.h"
#include "runtime/mount-util.h"
#include "runtime/mounts.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define REMOUNT_FLAGS                                                                              \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |       \
   MS_STRICTATIME)

static int remount_flags(int rootfd, const char *dest, unsigned long flags, mascri_error_t *err)
{
  _cleanup_close_ int top = path_open_in_root(rootfd, dest, false, err);
  if (top < 0)
    return -1;
  return mount_fd(NULL, -1, top, NULL, MS_BIND | MS_REMOUNT | (flags & REMOUNT_FLAGS), NULL, err);
}

static int set_propagation(int rootfd, const char *dest, unsigned long prop, mascri_error_t *err)
{
  _cleanup_close_ int top = path_open_in_root(rootfd, dest, false, err);
  if (top < 0)
    return -1;
  return mount_fd(NULL, -1, top, NULL, prop, NULL, err);
}

/* A bind whose source tree was taken in the runtime's namespace (mount-template.h): moved
 * into place. The tree is a clone of the host's mount, in its peer group when that is
 * shared; it gets the propagation a bind made in a copy of the host's namespace would have
 * had (slave, or private for rootfsPropagation private) before the mount's own. */
static int bind_tree(mounts_ctx_t *ctx, const mascri_spec_mount_t *m, int *tree,
                     mascri_error_t *err)
{
  struct stat st;
  if (fstat(*tree, &st) < 0)
    return mascri_make_error(err, errno, "stat bind mount source %s", m->source);
  _cleanup_close_ int tgt =
      mount_target_open(ctx->rootfd, m->destination, !S_ISDIR(st.st_mode), err);
  if (tgt < 0 || mount_tree_move(tree, tgt, err) < 0)
    return -1;
  const mascri_spec_linux_t *l = ctx->spec->linux_;
  unsigned long prop = (l && (l->rootfs_propagation & MS_PRIVATE)) ? MS_PRIVATE : MS_SLAVE;
  if (set_propagation(ctx->rootfd, m->destination, prop | MS_REC, err) < 0)
    return -1;
  if ((m->flags & REMOUNT_FLAGS) && remount_flags(ctx->rootfd, m->destination, m->flags, err) < 0)
    return -1;
  return 0;
}

static int bind_mount(mounts_ctx_t *ctx, const mascri_spec_mount_t *m, mascri_error_t *err)
{
  size_t i = (size_t)(m - ctx->spec->mounts);
  if (ctx->bind_trees && ctx->bind_trees[i] >= 0)
    return bind_tree(ctx, m, &ctx->bind_trees[i], err);
  _cleanup_free_ char *src = NULL;
  const char *source = m->source ? m->source : "";
  src = source[0] == '/' || !ctx->bundle ? xstrdup(source) : mascri_path_join(ctx->bundle, source);
  _cleanup_close_ int srcfd = open(src, O_PATH | O_CLOEXEC);
  if (srcfd < 0)
    return mascri_make_error(err, errno, "bind mount source %s", src);
  struct stat st;
  if (fstat(srcfd, &st) < 0)
    return mascri_make_error(err, errno, "stat %s", src);
  _cleanup_close_ int tgt =
      mount_target_open(ctx->rootfd, m->destination, !S_ISDIR(st.st_mode), err);
  if (tgt < 0)
    return -1;
  if (mount_fd(NULL, srcfd, tgt, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL, err) < 0)
    return -1;
  if ((m->flags & REMOUNT_FLAGS) && remount_flags(ctx->rootfd, m->destination, m->flags, err) < 0)
    return -1;
  return 0;
}

static int bind_host_dir(int rootfd, const char *host, const char *dest, bool ro,
                         mascri_error_t *err)
{
  _cleanup_close_ int srcfd = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (srcfd < 0)
    return errno == ENOENT ? 0 : mascri_make_error(err, errno, "open %s", host);
  _cleanup_close_ int tgt = mount_target_open(rootfd, dest, false, err);
  if (tgt < 0 || mount_fd(NULL, srcfd, tgt, NULL, MS_BIND | MS_REC, NULL, err) < 0)
    return -1;
  if (ro && remount_flags(rootfd, dest, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
    return -1;
  return 0;
}

/* Binds the host's cgroup dir onto a new directory `name` of our own fresh tmpfs dirfd
 * (nothing there is controlled by the container: plain *at() calls and a path through the
 * dirfd are safe; the source is the host's cgroupfs, which has no symlinks). Returns 1 when
 * bound, 0 when the host directory is missing (the controller is skipped). */
static int bind_cgroup_dir(int tmpfs, const char *host, const char *name, mascri_error_t *err)
{
  char target[PATH_MAX];
  snprintf(target, sizeof(target), "/proc/self/fd/%d/%s", tmpfs, name);
  if (mkdirat(tmpfs, name, 0755) < 0 && errno != EEXIST)
    return mascri_make_error(err, errno, "mkdir %s", name);
  if (mount(host, target, NULL, MS_BIND | MS_REC, NULL) == 0)
    return 1;
  if (errno != ENOENT)
    return mascri_make_error(err, errno, "bind %s", host);
  unlinkat(tmpfs, name, AT_REMOVEDIR);
  return 0;
}

#define RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
#define RO_REMOUNT (MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* The tmpfs and every cgroup bound in it read-only: one recursive mount_setattr (5.12+),
 * else one remount per mount. */
static int cgroup_tree_readonly(int tmpfs, const char *const *names, size_t n, mascri_error_t *err)
{
  struct mount_attr attr = {.attr_set = RO_ATTRS};
  if (syscall(SYS_mount_setattr, tmpfs, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) == 0)
    return 0;
  if (errno != ENOSYS)
    return mascri_make_error(err, errno, "make the cgroup mounts read-only");
  for (size_t i = 0; i < n; i++) {
    _cleanup_close_ int top =
        openat(tmpfs, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0)
      return mascri_make_error(err, errno, "open %s", names[i]);
    if (mount_fd(NULL, -1, top, NULL, RO_REMOUNT, NULL, err) < 0)
      return -1;
  }
  return mount_fd(NULL, -1, tmpfs, NULL, RO_REMOUNT, NULL, err);
}

/* type cgroup/cgroup2: the container's own cgroups. */
static int cgroup_mount(mounts_ctx_t *ctx, const mascri_spec_mount_t *m, mascri_error_t *err)
{
  const mascri_cgroup_layout_t *l = ctx->layout;
  bool ro = m->flags & MS_RDONLY;
  if (!l)
    return 0;
  if (l->mode == MASCRI_CGROUP_V2) {
    if (ctx->cgroupns) {
      _cleanup_close_ int tgt = mount_target_open(ctx->rootfd, m->destination, false, err);
      if (tgt < 0)
        return -1;
      return mount_fd("cgroup2", -1, tgt, "cgroup2", m->flags & ~MS_REMOUNT, NULL, err);
    }
    _cleanup_free_ char *host = mascri_path_join(l->v2_mount, ctx->cgroup_path);
    return bind_host_dir(ctx->rootfd, host, m->destination, ro, err);
  }
  _cleanup_close_ int tgt = mount_target_open(ctx->rootfd, m->destination, false, err);
  if (tgt < 0 ||
      mount_fd("tmpfs", -1, tgt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", err) < 0)
    return -1;
  _cleanup_close_ int tmpfs = path_open_in_root(ctx->rootfd, m->destination, false, err);
  if (tmpfs < 0)
    return -1;
  const char **names = xcalloc(l->n_v1 + 1, sizeof(char *));
  size_t n = 0;
  int r = 0;
  for (size_t i = 0; i <= l->n_v1 && r == 0; i++) {
    const char *mnt = i < l->n_v1 ? l->v1[i].mount : l->v2_mount;
    if (!mnt)
      continue;
    const char *name = strrchr(mnt, '/') ? strrchr(mnt, '/') + 1 : mnt;
    _cleanup_free_ char *host = mascri_path_join(mnt, ctx->cgroup_path);
    int bound = bind_cgroup_dir(tmpfs, host, name, err);
    if (bound < 0)
      r = mascri_error_wrap(err, "mount cgroup %s", name);
    else if (bound)
      names[n++] = name;
  }
  if (r == 0 && ro)
    r = cgroup_tree_readonly(tmpfs, names, n, err);
  free(names);
  return r;
}

static int fs_mount(mounts_ctx_t *ctx, const mascri_spec_mount_t *m, mascri_error_t *err)
{
  _cleanup_close_ int tgt = mount_target_open(ctx->rootfd, m->destination, false, err);
  if (tgt < 0)
    return -1;
  if (m->tmpcopyup)
    log_warning("mount %s: tmpcopyup is not supported, the tmpfs starts empty", m->destination);
  unsigned long flags = m->flags & ~(MS_REMOUNT | MS_BIND);
  int r = mount_fd(m->source ? m->source : m->type, -1, tgt, m->type, flags, m->data, err);
  if (r < 0 && strcmp(m->type, "sysfs") == 0 && ctx->userns) {
    /* sysfs needs the netns owned by our userns: fall back to a bind of the host's */
    mascri_error_release(err);
    return bind_host_dir(ctx->rootfd, "/sys", m->destination, true, err);
  }
  return r;
}

static int mount_one(mounts_ctx_t *ctx, const mascri_spec_mount_t *m, mascri_error_t *err)
{
  int r;
  if (m->type && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0))
    r = cgroup_mount(ctx, m, err);
  else if (m->bind)
    r = bind_mount(ctx, m, err);
  else
    r = fs_mount(ctx, m, err);
  if (r == 0 && m->propagation)
    r = set_propagation(ctx->rootfd, m->destination, m->propagation, err);
  if (r < 0)
    return mascri_error_wrap(err, "mount %s", m->destination);
  return 0;
}

int mounts_setup(mounts_ctx_t *ctx, mascri_error_t *err)
{
  const mascri_spec_t *spec = ctx->spec;
  bool dev_tmpfs = false;
  for (size_t i = 0; i < spec->n_mounts; i++) {
    const mascri_spec_mount_t *m = &spec->mounts[i];
    if (mount_one(ctx, m, err) < 0)
      return -1;
    if (strcmp(m->destination, "/dev") == 0)
      dev_tmpfs = !m->bind;
  }
  return devices_setup(spec, ctx->rootfd, dev_tmpfs, ctx->userns, err);
}
