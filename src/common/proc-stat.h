/* The two fields of /proc/<pid>/stat mascri reads: the state character and the start time,
 * which together tell "this pid is still the process we recorded" from "gone, a zombie, or a
 * reused pid". Each caller decides what a zombie means to it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
  char state;          /* field 3: 'R', 'S', 'D', 'Z', 'X', ... */
  uint64_t start_time; /* field 22: clock ticks after boot */
} mascri_proc_stat_t;

/* Parses the text of a /proc/<pid>/stat file. The comm (field 2) may hold spaces and
 * parentheses, so the fields are counted from the last ')'. Returns 0, or -1 with errno
 * EINVAL when the text does not have the expected shape. */
int mascri_proc_stat_parse(const char *text, mascri_proc_stat_t *out);

/* Reads and parses /proc/<pid>/stat. Returns 0, or -1 with errno set: ENOENT (from open)
 * when there is no such process, EINVAL when the file is empty or malformed. Returns errno
 * rather than a mascri_error_t because callers probe liveness often and only branch on it. */
int mascri_proc_stat_read(pid_t pid, mascri_proc_stat_t *out);

/* A zombie ('Z') or a dead task ('X'): the process has exited but may not be reaped yet. */
bool mascri_proc_state_exited(char state);
