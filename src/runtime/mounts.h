/* The container's filesystem: rootfs preparation and pivot, the spec's mounts in order,
 * devices and /dev symlinks, masked and readonly paths. All run in the container init,
 * inside its new mount namespace. */
#ifndef MASCRI_RUNTIME_MOUNTS_H
#define MASCRI_RUNTIME_MOUNTS_H

#include <stdbool.h>

#include "common/error.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"

typedef struct mounts_ctx {
  const mascri_spec_t *spec;
  const char *rootfs; /* absolute host path */
  const char *bundle; /* absolute; relative bind sources are below it */
  int rootfd;         /* O_PATH fd of the rootfs (after it was bind-mounted onto itself) */
  bool userns;        /* in a user namespace: bind devices instead of mknod */
  bool cgroupns;      /* a new cgroup namespace was created */
  const mascri_cgroup_layout_t *layout;
  const char *cgroup_path;
  /* NULL, or per spec mount the source tree of a bind mount taken before the mount
   * namespace template was joined (-1: none); a tree is moved into place, not bound. */
  int *bind_trees;
} mounts_ctx_t;

/* Sets the propagation of / for the setup (rslave by default, rprivate for private, kept
 * shared for (r)shared with the rootfs's own mount made private), bind-mounts the rootfs
 * onto itself; returns the O_PATH fd of the rootfs mount. */
int rootfs_prepare(const mascri_spec_t *spec, const char *rootfs, mascri_error_t *err);
/* Mounts spec->mounts in order, then creates devices and /dev symlinks. */
int mounts_setup(mounts_ctx_t *ctx, mascri_error_t *err);
/* pivot_root into the rootfs (MS_MOVE + chroot when no_pivot). */
int rootfs_pivot(int rootfd, bool no_pivot, mascri_error_t *err);
/* After the pivot: readonly root, rootfsPropagation, masked and readonly paths. */
int rootfs_finalize(const mascri_spec_t *spec, mascri_error_t *err);
/* Masks one path inside rootfd (bind /dev/null or a read-only tmpfs). *null_fd caches the
 * verified /dev/null (-1 at first; the caller closes it). */
int mask_path(int rootfd, const char *path, int *null_fd, mascri_error_t *err);
int readonly_path(int rootfd, const char *path, mascri_error_t *err);
/* Default devices (null, zero, full, random, urandom, tty) and linux.devices, symlinks. */
int devices_setup(const mascri_spec_t *spec, int rootfd, bool default_devices, bool bind,
                  mascri_error_t *err);

#endif
