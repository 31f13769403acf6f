/* File helpers: whole-file reads, atomic writes (temp + fsync + rename + fsync dir),
 * mkdir -p, rm -rf through dirfds, and opening paths confined to a root directory. */
#ifndef MASCRI_COMMON_FS_H
#define MASCRI_COMMON_FS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Retries EINTR and short writes. */
int mascri_write_all(int fd, const void *buf, size_t len, mascri_error_t *err);
/* Reads until EOF into a NUL-terminated buffer. */
int mascri_read_all(int fd, char **buf, size_t *len, mascri_error_t *err);
int mascri_read_file(const char *path, char **buf, size_t *len, mascri_error_t *err);
int mascri_read_file_at(int dirfd, const char *path, char **buf, size_t *len, mascri_error_t *err);
/* Reads a file named by someone we do not trust (a request, a config): opened with
 * O_NOFOLLOW|O_NONBLOCK so neither a symlink nor a FIFO gets a say, required to be a regular
 * file (a device such as /dev/zero is refused), and refused when larger than max bytes.
 * Errors are INVALID_ARGUMENT (NOT_FOUND when absent). */
int mascri_read_regular_file(const char *path, size_t max, char **buf, size_t *len,
                             mascri_error_t *err);
/* Writes to an existing file (cgroup, /proc knobs): O_WRONLY|O_CLOEXEC, no create. */
int mascri_write_file_at(int dirfd, const char *path, const char *data, size_t len,
                         mascri_error_t *err);

/* Atomically replaces dir/name with data: writes a temp file in the same directory,
 * fsyncs it, renames it over the target and fsyncs the directory. */
int mascri_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
                                mode_t mode, mascri_error_t *err);
int mascri_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             mascri_error_t *err);
int mascri_fsync_dir(const char *path, mascri_error_t *err);

/* mkdir -p; existing directories are fine, an existing non-directory is an error. */
int mascri_mkdir_p(const char *path, mode_t mode, mascri_error_t *err);
/* Removes name below dirfd recursively, never following symlinks; absent is fine. */
int mascri_rm_rf_at(int dirfd, const char *name, mascri_error_t *err);
int mascri_rm_rf(const char *path, mascri_error_t *err);

/* Opens path relative to rootfd so that no component (symlinks and ".." included)
 * resolves outside rootfd: openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), with a
 * component-by-component fallback for kernels without openat2. */
int mascri_open_in_root(int rootfd, const char *path, int flags, mode_t mode, mascri_error_t *err);
/* Forces the fallback path (for tests); returns the same as mascri_open_in_root. */
int mascri_open_in_root_fallback(int rootfd, const char *path, int flags, mode_t mode,
                                 mascri_error_t *err);

/* Opens path below dirfd (AT_FDCWD for the working directory) as a directory stream:
 * openat with O_RDONLY|O_DIRECTORY|O_CLOEXEC plus flags (O_NOFOLLOW, ...), then fdopendir.
 * Returns NULL with errno set and nothing left open. Release with _cleanup_closedir_. */
DIR *mascri_opendir_at(int dirfd, const char *path, int flags);

bool mascri_path_exists(const char *path);
/* A path as written by someone who means no tricks: components separated by single '/', an
 * optional leading '/', no empty, "." or ".." component, no trailing '/', no control
 * characters. "/" alone is normal. Used for paths taken from requests that are joined
 * below a directory of ours (cgroup parents, log paths). */
bool mascri_path_is_normal(const char *path);
/* Joins two path parts with exactly one '/' between them. */
char *mascri_path_join(const char *a, const char *b);

/* Runs fn(arg, err) on a short-lived thread whose working directory is dirfd (the thread
 * unshares CLONE_FS first), so relative paths (mount(2) options, ...) resolve there without
 * moving the working directory of a multi-threaded process. Returns what fn returns. */
int mascri_run_in_dir(int dirfd, int (*fn)(void *arg, mascri_error_t *err), void *arg,
                      mascri_error_t *err);

#endif
