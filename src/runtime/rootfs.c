/* The rootfs: propagation, bind onto itself, pivot_root, read-only root, masked paths. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/mount-util.h"
#include "runtime/mounts.h"

/* Makes the mount that holds the rootfs (the rootfs itself when it is a mount point, as an
 * image's overlay is) private in our namespace, so the bind of the rootfs onto itself and
 * every mount made under it stay ours even while "/" is shared. Like runc, a volume whose
 * source is a plain directory on that same mount then loses its propagation; sources that
 * are mounts of their own (kubelet's, critest's) keep it. */
static int make_rootfs_parent_private(const char *rootfs, mascri_error_t *err)
{
  _cleanup_free_ char *path = xstrdup(rootfs);
  for (;;) {
    if (mount(NULL, path, NULL, MS_PRIVATE, NULL) == 0)
      return 0;
    if (errno != EINVAL || strcmp(path, "/") == 0)
      return mascri_make_error(err, errno, "make the mount of %s private", path);
    char *slash = strrchr(path, '/');
    if (slash == path)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
}

int rootfs_prepare(const mascri_spec_t *spec, const char *rootfs, mascri_error_t *err)
{
  unsigned long want = spec->linux_ ? spec->linux_->rootfs_propagation : 0;
  /* (r)shared keeps the peer groups copied from the host: a bidirectional volume's bind
   * must join its source's group for the container's mounts to reach the host. Otherwise /
   * is made rprivate or (default, and for unbindable, which would refuse the bind below)
   * rslave, so nothing we mount leaks out; rootfs_finalize applies the exact value. */
  unsigned long prop = want & MS_SHARED    ? want
                       : want & MS_PRIVATE ? MS_PRIVATE | MS_REC
                                           : MS_SLAVE | MS_REC;
  if (mount(NULL, "/", NULL, prop, NULL) < 0)
    return mascri_make_error(err, errno, "set the propagation of / (rootfsPropagation)");
  if ((want & MS_SHARED) && make_rootfs_parent_private(rootfs, err) < 0)
    return -1;
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return mascri_make_error(err, errno, "bind-mount the rootfs %s onto itself", rootfs);
  int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open rootfs %s", rootfs);
  return fd;
}

int rootfs_pivot(int rootfd, bool no_pivot, mascri_error_t *err)
{
  _cleanup_close_ int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (oldroot < 0)
    return mascri_make_error(err, errno, "open /");
  if (fchdir(rootfd) < 0)
    return mascri_make_error(err, errno, "chdir into the rootfs");
  if (!no_pivot) {
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
      /* The old root is now stacked on "/". "." is still the new root's mount (the kernel
       * does not move our cwd), so go to the old root first: making "." rslave from there
       * touches only the old tree (never the container's own mounts, whose propagation a
       * bidirectional volume needs), and its detach cannot propagate to the host. */
      if (fchdir(oldroot) < 0)
        return mascri_make_error(err, errno, "chdir to the old root");
      if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return mascri_make_error(err, errno, "make the old root slave");
      if (umount2(".", MNT_DETACH) < 0)
        return mascri_make_error(err, errno, "detach the old root");
      if (chdir("/") < 0)
        return mascri_make_error(err, errno, "chdir /");
      return 0;
    }
    if (errno != EINVAL)
      return mascri_make_error(err, errno, "pivot_root");
    /* EINVAL: e.g. the host root is a ramfs/initramfs; fall back to MS_MOVE + chroot */
  }
  /* / may be shared (rootfsPropagation shared): moving the rootfs onto it must not
   * propagate to the host's /; a slave / still receives but never sends. */
  if (mount(NULL, "/", NULL, MS_SLAVE, NULL) < 0)
    return mascri_make_error(err, errno, "make / slave");
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
    return mascri_make_error(err, errno, "move the rootfs to /");
  if (chroot(".") < 0)
    return mascri_make_error(err, errno, "chroot");
  if (chdir("/") < 0)
    return mascri_make_error(err, errno, "chdir /");
  return 0;
}

/* /dev/null verified to be the real character device 1:3. */
static int open_dev_null(int rootfd, mascri_error_t *err)
{
  int fd = path_open_in_root(rootfd, "/dev/null", false, err);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    close(fd);
    return mascri_make_error(err, EPERM, "/dev/null in the container is not the null device");
  }
  return fd;
}

int mask_path(int rootfd, const char *path, int *null_fd, mascri_error_t *err)
{
  _cleanup_close_ int fd = path_open_in_root(rootfd, path, true, err);
  if (fd == -ENOENT)
    return 0;
  if (fd < 0)
    return mascri_error_wrap(err, "mask %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return mascri_make_error(err, errno, "mask %s", path);
  if (S_ISDIR(st.st_mode)) {
    if (mount_fd("tmpfs", -1, fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0k",
                 err) < 0)
      return mascri_error_wrap(err, "mask %s", path);
    return 0;
  }
  if (*null_fd < 0 && (*null_fd = open_dev_null(rootfd, err)) < 0)
    return mascri_error_wrap(err, "mask %s", path);
  if (mount_fd(NULL, *null_fd, fd, NULL, MS_BIND, NULL, err) < 0)
    return mascri_error_wrap(err, "mask %s", path);
  return 0;
}

int readonly_path(int rootfd, const char *path, mascri_error_t *err)
{
  _cleanup_close_ int fd = path_open_in_root(rootfd, path, true, err);
  if (fd == -ENOENT)
    return 0;
  if (fd < 0)
    return mascri_error_wrap(err, "make %s read-only", path);
  if (mount_fd(NULL, fd, fd, NULL, MS_BIND | MS_REC, NULL, err) < 0)
    return mascri_error_wrap(err, "make %s read-only", path);
  /* reopen: the fd still refers to the mount below the new bind */
  _cleanup_close_ int top = path_open_in_root(rootfd, path, false, err);
  if (top < 0 ||
      mount_fd(NULL, -1, top, NULL,
               MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
    return mascri_error_wrap(err, "make %s read-only", path);
  return 0;
}

/* Read-only bind remount keeping the flags the kernel may have locked (nosuid, ...). */
static int remount_ro(const char *path, mascri_error_t *err)
{
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0)
    return 0;
  struct statvfs sv;
  if (errno != EPERM || statvfs(path, &sv) < 0)
    return mascri_make_error(err, errno, "remount %s", path);
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  if (sv.f_flag & ST_NOSUID)
    flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    flags |= MS_NOEXEC;
  if (mount(NULL, path, NULL, flags, NULL) < 0)
    return mascri_make_error(err, errno, "remount %s", path);
  return 0;
}

int rootfs_finalize(const mascri_spec_t *spec, mascri_error_t *err)
{
  _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return mascri_make_error(err, errno, "open /");
  const mascri_spec_linux_t *l = spec->linux_;
  _cleanup_close_ int null_fd = -1; /* verified once, bound over every masked file */
  for (size_t i = 0; l && l->masked_paths && l->masked_paths[i]; i++)
    if (mask_path(root, l->masked_paths[i], &null_fd, err) < 0)
      return -1;
  for (size_t i = 0; l && l->readonly_paths && l->readonly_paths[i]; i++)
    if (readonly_path(root, l->readonly_paths[i], err) < 0)
      return -1;
  if (spec->root_readonly && remount_ro("/", err) < 0)
    return mascri_error_wrap(err, "remount the root read-only");
  if (l && l->rootfs_propagation && mount(NULL, "/", NULL, l->rootfs_propagation, NULL) < 0)
    return mascri_make_error(err, errno, "set rootfsPropagation");
  return 0;
}
