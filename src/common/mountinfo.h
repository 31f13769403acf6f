/* /proc/self/mountinfo: which mount holds a path, and its propagation. */
#ifndef MASCRI_COMMON_MOUNTINFO_H
#define MASCRI_COMMON_MOUNTINFO_H

#include <stdbool.h>

#include "common/error.h"

typedef struct {
  int id;
  char *mountpoint; /* unescaped ("\040" -> ' ') */
  bool shared;      /* an optional field "shared:N" */
  bool slave;       /* an optional field "master:N" */
} mascri_mountinfo_t;

void mascri_mountinfo_clear(mascri_mountinfo_t *m);

/* Parses one line of mountinfo ("id parent maj:min root mountpoint opts [optional...] - fs
 * source super"); -1 (EINVAL, no message) when it is not one. */
int mascri_mountinfo_parse_line(const char *line, mascri_mountinfo_t *out);

/* The mount of this process's namespace that holds path (symlinks followed): found by the
 * mount id statx reports (5.8+), else as the longest mountpoint that is a prefix of the
 * resolved path (the last one listed wins: it is mounted over the others). */
int mascri_mountinfo_lookup(const char *path, mascri_mountinfo_t *out, mascri_error_t *err);
/* The same over a given mountinfo text (for tests): by mnt_id when >= 0, else by prefix of
 * resolved (an absolute path without symlinks). */
int mascri_mountinfo_find(const char *text, int mnt_id, const char *resolved,
                          mascri_mountinfo_t *out, mascri_error_t *err);

/* The mountpoints strictly below dir (an absolute path without symlinks), in mountinfo's
 * order (parents first), and whether dir itself is one (*is_mountpoint, may be NULL). One
 * read of this namespace's table; NULL on error. */
char **mascri_mountinfo_below(const char *dir, bool *is_mountpoint, mascri_error_t *err);

#endif
