/* The pause process of a pod and its pinned namespaces: a child unshares the namespaces,
 * sets the hostname and sysctls, forks mascri-pause (PID 1 of a new pid namespace when asked)
 * and exits, so pause is reparented and outlives mascrid. The namespaces are pinned by bind
 * mounts of /proc/<pause>/ns/<ns> onto files of a directory under a private mount. */
#ifndef MASCRI_SANDBOX_POD_SPAWN_H
#define MASCRI_SANDBOX_POD_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct mascri_pause_spec {
  const char *pause_path;
  const char *pod_id; /* pause's argv[1], so that a pause without a record can be found */
  bool new_net, new_ipc, new_uts, new_pid;
  const char *hostname; /* with new_uts; NULL or "": unchanged */
  char **sysctl_paths;  /* relative to /proc/sys, written in the new namespaces */
  char **sysctl_values;
  size_t n_sysctls;
  /* the pod's cgroup on the v2 hierarchy (hybrid or pure v2 hosts): pause is cloned into
   * it (CLONE_INTO_CGROUP) when the kernel allows. NULL: none. */
  const char *cgroup_v2_dir;
};

/* Starts pause; *pid is its pid in mascrid's pid namespace, *start_time its start time
 * (field 22 of /proc/<pid>/stat) to recognise it later, *in_cgroup whether it was born in
 * cgroup_v2_dir (if not, it is to be moved there). */
int mascri_pause_spawn(const struct mascri_pause_spec *spec, pid_t *pid, uint64_t *start_time,
                       bool *in_cgroup, mascri_error_t *err);

/* Start time of a live (not zombie) process, 0 when gone or a zombie. */
uint64_t mascri_proc_start_time(pid_t pid);
bool mascri_pause_alive(pid_t pid, uint64_t start_time);
/* SIGTERM, then SIGKILL after timeout_ms; returns once it is gone (or a zombie). A pid that
 * is no longer the recorded process is left alone. */
int mascri_pause_kill(pid_t pid, uint64_t start_time, unsigned timeout_ms, mascri_error_t *err);

/* The pid of the mascri-pause process started for pod_id (its argv[1]), 0 when none. */
pid_t mascri_pause_find(const char *pod_id);

/* Pins /proc/<pid>/ns/<name> at <dir>/<name> for each name of the NULL-terminated list. */
int mascri_ns_pin(pid_t pid, const char *dir, const char *const *names, mascri_error_t *err);
/* Unmounts every pin below dir and removes dir; absent is fine. */
int mascri_ns_unpin_all(const char *dir, mascri_error_t *err);

#endif
