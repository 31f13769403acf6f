/* A directory made a private mount of its own, for the mounts the daemon makes below it. */
#ifndef MASCRI_COMMON_MOUNT_PRIVATE_H
#define MASCRI_COMMON_MOUNT_PRIVATE_H

#include <sys/types.h>

#include "common/error.h"

/* Creates dir (mode) and makes it a private mount: a bind of itself the first time, made
 * private again when it is already a mount. The mounts then made below it neither
 * propagate to the host's other namespaces (every service namespace on a systemd host is a
 * copy of /) nor sit among the children of the file system's mount, which the kernel walks
 * on some mounts (overlay's check of each lower layer): both grow with the node otherwise.
 * When dir is not a mount but has mounts below it (made by an earlier version that did not
 * do this), it is left as it is: a bind would hide them. */
int mascri_mount_private_dir(const char *dir, mode_t mode, mascri_error_t *err);

#endif
