/* A container's mount namespace copied from a small template instead of the caller's.
 *
 * unshare(CLONE_NEWNS) copies every mount of the caller's namespace, and pivot_root's
 * detach of the old root unmounts them all again: on a node the host's table grows by a
 * few mounts per pod (namespace pins, shm, overlay roots), so both grow with the node. A
 * template (a namespace kept by the daemon, holding the host's mounts but none of its
 * per-pod ones) keeps that cost constant. What the container needs from the caller's
 * namespace, the rootfs and every bind mount's source, is taken first as detached mount
 * trees (open_tree), which move into the new namespace. */
#ifndef MASCRI_RUNTIME_MOUNT_TEMPLATE_H
#define MASCRI_RUNTIME_MOUNT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "runtime/spec.h"

typedef struct mount_trees {
  int rootfs; /* the rootfs tree, -1 when none was taken */
  int *binds; /* per spec mount: the source tree of a bind mount, else -1 */
  size_t n;
} mount_trees_t;

#define MOUNT_TREES_NONE                                                                           \
  {                                                                                                \
    .rootfs = -1                                                                                   \
  }

/* Whether a container with this spec can be set up in a template copy: it needs a new
 * mount namespace and no user namespace, no createContainer hooks (they run before the
 * pivot and may name any host path) and no shared rootfsPropagation (which needs the host's
 * peer groups on /). */
bool mount_template_usable(const mascri_spec_t *spec, bool userns);

/* In the caller's namespace: takes the rootfs and the bind sources as trees (t), then joins
 * the template namespace at path; the caller's unshare(CLONE_NEWNS) then copies it. A
 * kernel without open_tree (before 5.2), or a template without the rootfs's directory,
 * returns 0 with nothing taken and the caller still in its own namespace (copied as
 * before). */
int mount_template_enter(const char *path, const mascri_spec_t *spec, const char *rootfs,
                         const char *bundle, mount_trees_t *t, mascri_error_t *err);

/* In the new namespace: the rootfs tree moved onto the rootfs path (which, like every host
 * directory, the template shows). */
int mount_template_place_rootfs(mount_trees_t *t, const char *rootfs, mascri_error_t *err);

/* Moves tree onto the O_PATH target fd (and closes it). */
int mount_tree_move(int *tree, int target_fd, mascri_error_t *err);

void mount_trees_clear(mount_trees_t *t);

#endif
