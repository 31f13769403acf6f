/* Mounting inside a container's rootfs without trusting its paths: targets are created
 * and opened through a root dirfd (openat2 RESOLVE_IN_ROOT, never following a symlink out
 * of the rootfs), then mounted on through /proc/self/fd/N of the verified fd. */
#ifndef MASCRI_RUNTIME_MOUNT_UTIL_H
#define MASCRI_RUNTIME_MOUNT_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/* Creates dest inside rootfd (missing parents as directories; dest itself as a directory,
 * or as an empty regular file when is_file) and returns an O_PATH fd to it. */
int mount_target_open(int rootfd, const char *dest, bool is_file, mascri_error_t *err);
/* O_PATH fd of an existing path inside rootfd; -ENOENT as the return without an error
 * message when it does not exist and missing_ok. */
int path_open_in_root(int rootfd, const char *path, bool missing_ok, mascri_error_t *err);
/* mount(2) with the target (and, when source_fd >= 0, the source) given as fds. */
int mount_fd(const char *source, int source_fd, int target_fd, const char *fstype,
             unsigned long flags, const char *data, mascri_error_t *err);
/* "/proc/self/fd/N" */
char *fd_path(int fd);
/* Whether the fd is on a filesystem with the given magic (statfs f_type). */
bool fd_on_fs(int fd, unsigned long magic);
/* Writes value to a file under /proc (path relative to /proc), refusing when the opened
 * file is not on procfs. */
int procfs_write(const char *rel, const char *value, mascri_error_t *err);

#endif
