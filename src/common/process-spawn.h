/* posix_spawn with the child's signal state cleaned: every signal at its default disposition
 * and none blocked, whatever the parent ignores (SIGPIPE) or blocks (signalfd). Without it
 * a helper would inherit mascrid's SIGPIPE ignore and blocked mask across exec. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* One fd the child starts with: from dup2'd onto fd (which clears close-on-exec), or, when
 * from is -1, /dev/null opened on fd with null_flags. Applied in order, so a later entry may
 * copy an fd an earlier one set up. */
typedef struct {
  int fd;
  int from;
  int null_flags;
} mascri_spawn_fd_t;

typedef enum {
  MASCRI_SPAWN_KEEP_GROUP,  /* stays in the parent's process group and session */
  MASCRI_SPAWN_NEW_PGROUP,  /* its own process group: a kill(-pid) reaches its children */
  MASCRI_SPAWN_NEW_SESSION, /* its own session: a signal to the parent's group misses it */
} mascri_spawn_group_t;

/* Starts path with argv and envp (environ when NULL). Returns 0, or the error number
 * posix_spawn reports (the caller words the error: it knows what it was starting). */
int mascri_spawn(const char *path, char *const argv[], char *const envp[],
                 const mascri_spawn_fd_t *fds, size_t n_fds, mascri_spawn_group_t group,
                 pid_t *pid);
