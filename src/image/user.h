/* Resolving an image's USER ("name", "uid", "name:group", "uid:gid") against a container's
 * root filesystem. /etc/passwd and /etc/group are opened with RESOLVE_IN_ROOT, so a
 * symlinked /etc/passwd in an image can never make mascri read a host file
 * (CVE-2024-9676 class); only regular files of bounded size are read. */
#ifndef MASCRI_IMAGE_USER_H
#define MASCRI_IMAGE_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

struct mascri_image_user {
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids; /* groups of /etc/group listing the user by name */
  size_t n_additional;
  char *home; /* "/" when unknown */
};

/* rootfd: the container's root (e.g. the mounted rootfs). An empty user is root.
 * A named user or group that does not exist is NOT_FOUND; a malformed one INVALID_ARGUMENT. */
int mascri_image_resolve_user(int rootfd, const char *user, struct mascri_image_user *out,
                              mascri_error_t *err);
void mascri_image_user_clear(struct mascri_image_user *u);

#endif
