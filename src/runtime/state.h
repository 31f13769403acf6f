/* The on-disk record of a container under the state root: <root>/<id>/state.json (plus
 * config.json and exec.fifo), and the liveness of its init (pid + start time). */
#ifndef MASCRI_RUNTIME_STATE_H
#define MASCRI_RUNTIME_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "runtime/runtime.h"

typedef struct container_record {
  char *id;
  pid_t pid;
  unsigned long long start_time; /* /proc/<pid>/stat field 22, guards against pid reuse */
  char *bundle;
  char *rootfs;
  struct timespec created;
  char *owner;
  char *cgroup_path;
  mascri_cgroup_manager_t cgroup_manager;
  char **annotation_keys, **annotation_values;
} container_record_t;

const char *state_root(const mascri_runtime_t *rt);
/* <root>/<id>; rejects ids with '/', "." or "..". */
int state_dir(const mascri_runtime_t *rt, const char *id, char **out, mascri_error_t *err);
/* Replaces dir/name atomically (temp file + rename) without fsync: the state root is
 * volatile (/run) and rebuilt from the kernel after a reboot anyway. */
int state_write_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                        mascri_error_t *err);
int record_write(const char *dir, const container_record_t *rec, mascri_error_t *err);
/* NOT_FOUND when the container does not exist. */
int record_read(const mascri_runtime_t *rt, const char *id, container_record_t *rec,
                mascri_error_t *err);
void record_clear(container_record_t *rec);
/* Loads <dir>/config.json as saved at create. */
int record_load_spec(const mascri_runtime_t *rt, const char *id, mascri_spec_t **out,
                     mascri_error_t *err);

/* 0 when the process is gone, a zombie or another process (start time differs). */
bool proc_alive(pid_t pid, unsigned long long start_time);
unsigned long long proc_start_time(pid_t pid);
/* created / running / paused / stopped from the record and the kernel. */
mascri_status_t record_status(const mascri_runtime_t *rt, const container_record_t *rec);

static inline void cleanup_recordp(container_record_t *r)
{
  record_clear(r);
}
#define _cleanup_record_ _cleanup_(cleanup_recordp)

#endif
