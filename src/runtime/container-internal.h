/* Helpers shared by the lifecycle files (create, lifecycle, exec). */
#ifndef MASCRI_RUNTIME_CONTAINER_INTERNAL_H
#define MASCRI_RUNTIME_CONTAINER_INTERNAL_H

#include "runtime/cgroup.h"
#include "runtime/runtime.h"
#include "runtime/state.h"

/* OCI state JSON for hooks and `state`. */
char *container_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
                           char *const *ann_keys, char *const *ann_values);
/* The cgroup of a record (layout probed). */
int container_cgroup(const container_record_t *rec, mascri_cgroup_t *cg, mascri_error_t *err);
/* The cgroup's v2 directory to clone a process into, -1 without a v2 mount or when it
 * cannot be opened (logged; the process is then moved there by a write). */
int container_cgroup_v2_fd(const mascri_cgroup_t *cg);
/* Writes the pid file atomically. */
int container_write_pid_file(const char *path, pid_t pid, mascri_error_t *err);
/* Writes the id maps of a new user namespace for pid. */
int container_write_id_maps(pid_t pid, const mascri_spec_linux_t *l, mascri_error_t *err);
/* Hands a pty master received from the child to stdio's console socket or caller. */
int container_deliver_pty(const mascri_stdio_t *stdio, int master, mascri_error_t *err);
#endif
