/* The container's mount namespace from a template: see mount-template.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/mount-template.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

bool mount_template_usable(const mascri_spec_t *spec, bool userns)
{
  const mascri_spec_linux_t *l = spec->linux_;
  if (userns || spec->hooks[MASCRI_HOOK_CREATE_CONTAINER].n)
    return false;
  return !(l && (l->rootfs_propagation & MS_SHARED));
}

static int tree_open(const char *path, bool recursive)
{
  return (int)syscall(SYS_open_tree, AT_FDCWD, path,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
}

/* The bind sources, resolved the way the bind itself resolves them (relative to the
 * bundle); a missing source fails here with the same words it would fail with later. */
static int take_binds(const mascri_spec_t *spec, const char *bundle, mount_trees_t *t,
                      mascri_error_t *err)
{
  t->binds = xcalloc(spec->n_mounts ? spec->n_mounts : 1, sizeof(int));
  t->n = spec->n_mounts;
  for (size_t i = 0; i < spec->n_mounts; i++)
    t->binds[i] = -1;
  for (size_t i = 0; i < spec->n_mounts; i++) {
    const mascri_spec_mount_t *m = &spec->mounts[i];
    if (!m->bind)
      continue;
    const char *source = m->source ? m->source : "";
    _cleanup_free_ char *src =
        source[0] == '/' || !bundle ? xstrdup(source) : mascri_path_join(bundle, source);
    t->binds[i] = tree_open(src, m->recursive);
    if (t->binds[i] < 0)
      return mascri_make_error(err, errno, "bind mount source %s", src);
  }
  return 0;
}

int mount_template_enter(const char *path, const mascri_spec_t *spec, const char *rootfs,
                         const char *bundle, mount_trees_t *t, mascri_error_t *err)
{
  t->rootfs = tree_open(rootfs, true);
  if (t->rootfs < 0) {
    if (errno == ENOSYS)
      return 0;
    return mascri_make_error(err, errno, "take the rootfs %s", rootfs);
  }
  if (take_binds(spec, bundle, t, err) < 0)
    return -1;
  _cleanup_close_ int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (own < 0)
    return mascri_make_error(err, errno, "open /proc/self/ns/mnt");
  _cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0)
    return mascri_make_error(err, errno, "open the mount namespace template %s", path);
  if (setns(ns, CLONE_NEWNS) < 0)
    return mascri_make_error(err, errno, "join the mount namespace template %s", path);
  /* The template is a snapshot without the mounts below the daemon's directories: a rootfs
   * on a file system mounted there (or after the daemon started) has no directory in it. */
  _cleanup_close_ int probe = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (probe >= 0)
    return 0;
  if (setns(own, CLONE_NEWNS) < 0)
    return mascri_make_error(err, errno, "return from the mount namespace template");
  mount_trees_clear(t);
  return 0;
}

int mount_tree_move(int *tree, int target_fd, mascri_error_t *err)
{
  int r = (int)syscall(SYS_move_mount, *tree, "", target_fd, "",
                       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int saved = errno;
  close(*tree);
  *tree = -1;
  if (r < 0)
    return mascri_make_error(err, saved, "move a mount tree into place");
  return 0;
}

int mount_template_place_rootfs(mount_trees_t *t, const char *rootfs, mascri_error_t *err)
{
  _cleanup_close_ int target = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (target < 0)
    return mascri_make_error(err, errno, "rootfs %s in the mount namespace template", rootfs);
  if (mount_tree_move(&t->rootfs, target, err) < 0)
    return mascri_error_wrap(err, "rootfs %s", rootfs);
  return 0;
}

void mount_trees_clear(mount_trees_t *t)
{
  if (t->rootfs >= 0)
    close(t->rootfs);
  for (size_t i = 0; i < t->n; i++)
    if (t->binds[i] >= 0)
      close(t->binds[i]);
  free(t->binds);
  *t = (mount_trees_t)MOUNT_TREES_NONE;
}
