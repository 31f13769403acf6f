/* CRI containers: the OCI spec built from the CRI config + image config + pod, the
 * overlay rootfs from the image store, one mascri-monitor per container (its parent,
 * writer of the CRI log and of the exit file), records under <root>/containers/<id>/
 * written atomically and restored at open.
 *
 * Thread-safe: every function may be called from any worker thread. */
#ifndef MASCRI_SANDBOX_CONTAINERS_H
#define MASCRI_SANDBOX_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "sandbox/ctr-config.h"
#include "sandbox/pods.h"

struct mascri_containers;

typedef enum {
  MASCRI_CTR_CREATED = 0, /* same values as runtime.v1 ContainerState */
  MASCRI_CTR_RUNNING = 1,
  MASCRI_CTR_EXITED = 2,
  MASCRI_CTR_UNKNOWN = 3,
} mascri_ctr_state_t;

/* Events for GetContainerEvents (values of runtime.v1 ContainerEventType). */
typedef enum {
  MASCRI_CTR_EVENT_CREATED = 0,
  MASCRI_CTR_EVENT_STARTED = 1,
  MASCRI_CTR_EVENT_STOPPED = 2,
  MASCRI_CTR_EVENT_DELETED = 3,
} mascri_ctr_event_t;

/* What the CRI layer needs of a container (a snapshot; the caller frees it). */
struct mascri_ctr_info {
  char *id;
  char *pod_id;
  char *name; /* metadata.name */
  uint32_t attempt;
  char *full_name; /* k8s_<name>_<pod>_<namespace>_<uid>_<attempt> */
  char *image_ref; /* config.image.image as given */
  char *image_id;  /* "sha256:..." of the image it runs */
  char *log_path;  /* absolute: pod log_directory + config.log_path; NULL when none */
  mascri_ctr_state_t state;
  int64_t created_at, started_at, finished_at; /* ns since the epoch, 0 = not yet */
  int32_t exit_code;
  int32_t stop_signal; /* config.stop_signal, else the image's STOPSIGNAL, else SIGTERM */
  bool oom_killed;
  char *reason, *message; /* for EXITED: "Completed", "Error", "OOMKilled", ... */
  pid_t init_pid;         /* host pid of the container's init while it runs, else 0 */
  pid_t monitor_pid;
  uint64_t monitor_start_time;
  char *cgroup_path; /* as the runtime resolved cgroupsPath (relative to each hierarchy's
                        root); NULL when unknown (then no cgroup stats) */
  /* Writable layer usage as of rw_at (ns since the epoch, 0 = not measured yet): measured
   * by a background walk every stats period, never by a stats call. */
  uint64_t rw_bytes, rw_inodes;
  int64_t rw_at;
  struct mascri_ctr_config *config; /* heap copy; resources kept up to date */
};
void mascri_ctr_info_free(struct mascri_ctr_info *info);
void mascri_ctr_info_list_free(struct mascri_ctr_info **v, size_t n);
static inline void cleanup_ctr_infop(struct mascri_ctr_info **p)
{
  mascri_ctr_info_free(*p);
}
#define _cleanup_ctr_info_ _cleanup_(cleanup_ctr_infop)

typedef void (*mascri_ctr_event_fn)(void *data, const char *ctr_id, const char *pod_id,
                                    mascri_ctr_event_t type);

typedef int (*mascri_ctr_legacy_config_fn)(const uint8_t *buf, size_t len,
                                           struct mascri_ctr_config *out, mascri_error_t *err);

struct mascri_containers_config {
  const char *root;         /* records in <root>/containers/<id>/ */
  const char *state;        /* <state>/monitors/<id>/, <state>/exits/<id> */
  const char *monitor_path; /* the mascri-monitor binary */
  const char *runtime_root; /* the runtime library's state root */
  mascri_cgroup_manager_t cgroup_manager;
  /* Capabilities of a container that asks for nothing else ("CAP_CHOWN", ...); NULL: the
   * built-in set (containerd's and CRI-O's defaults). Copied. */
  char *const *default_capabilities;
  mascri_image_store_t *images; /* borrowed */
  struct mascri_pods *pods;     /* borrowed */
  /* Called (from any thread, no lock held) for each lifecycle change, including a
   * container exiting on its own; may be NULL. */
  mascri_ctr_event_fn on_event;
  void *event_data;
  /* How often the writable layers are measured (ms); 0: MASCRI_CTR_USAGE_PERIOD_MS. */
  unsigned usage_period_ms;
  /* Converts the config of a record written before configs were JSON (record version 1:
   * the ContainerConfig in the CRI's wire format, which sandbox cannot read) into *out; such a
   * record is rewritten in the current form once loaded. NULL: such records are skipped. */
  mascri_ctr_legacy_config_fn legacy_config;
};
#define MASCRI_CTR_USAGE_PERIOD_MS 10000u

int mascri_containers_open(const struct mascri_containers_config *cfg,
                           struct mascri_containers **out, mascri_error_t *err);
void mascri_containers_close(struct mascri_containers *ctrs);

/* CreateContainer: validates, reserves the name (ALREADY_EXISTS naming the holder), makes
 * the rootfs from the image (NOT_FOUND naming the reference when it is not pulled), writes
 * the OCI spec, starts the monitor, which creates the container (init waiting for Start).
 * The pod must be ready (FAILED_PRECONDITION otherwise). *id is the new id. */
int mascri_containers_create(struct mascri_containers *ctrs, const char *pod_id,
                             const struct mascri_ctr_config *config, char **id,
                             const volatile int *cancel, mascri_error_t *err);
/* Lets the init exec the process. FAILED_PRECONDITION unless CREATED. */
int mascri_containers_start(struct mascri_containers *ctrs, const char *id, mascri_error_t *err);
/* Stop signal, then SIGKILL to every process after timeout_s; returns once it has exited.
 * Idempotent (an exited container is fine). */
int mascri_containers_stop(struct mascri_containers *ctrs, const char *id, int64_t timeout_s,
                           const volatile int *cancel, mascri_error_t *err);
/* Stops (SIGKILL) if needed and removes everything but the log; idempotent on a missing id
 * only when the caller treats NOT_FOUND so (CRI: RemoveContainer of an unknown id is OK). */
int mascri_containers_remove(struct mascri_containers *ctrs, const char *id, mascri_error_t *err);
/* By full id or unique prefix: NOT_FOUND / INVALID_ARGUMENT (ambiguous). State refreshed. */
int mascri_containers_get(struct mascri_containers *ctrs, const char *id_or_prefix,
                          struct mascri_ctr_info **out, mascri_error_t *err);
/* Every container, in creation order (state refreshed). */
int mascri_containers_list(struct mascri_containers *ctrs, struct mascri_ctr_info ***out, size_t *n,
                           mascri_error_t *err);
/* Calls fn for every container (in creation order, none being created) with the store's
 * lock held, from memory: exits are applied first from the exit watcher's queue (O(exits
 * since the last call)), nothing else is read per container. fn copies what it keeps and
 * must not call into the store. The cheap form of mascri_containers_list for List* RPCs. */
typedef void (*mascri_ctr_visit_fn)(void *data, const struct mascri_ctr_info *info);
void mascri_containers_foreach(struct mascri_containers *ctrs, mascri_ctr_visit_fn fn, void *data);

/* ExecSync. Output capped at MASCRI_EXEC_SYNC_MAX_OUTPUT per stream (the rest is read and
 * dropped). timeout_s > 0: past it the process is killed and DEADLINE error returned. */
#define MASCRI_EXEC_SYNC_MAX_OUTPUT (16u << 20)
struct mascri_exec_sync_result {
  char *out, *err_out; /* malloc'ed, possibly NULL when empty */
  size_t out_len, err_len;
  int32_t exit_code;
};
int mascri_containers_exec_sync(struct mascri_containers *ctrs, const char *id,
                                const char *const *cmd, int64_t timeout_s,
                                const volatile int *cancel, struct mascri_exec_sync_result *res,
                                mascri_error_t *err);
void mascri_exec_sync_result_clear(struct mascri_exec_sync_result *res);

/* UpdateContainerResources: applies and records. FAILED_PRECONDITION unless created or
 * running. */
int mascri_containers_update(struct mascri_containers *ctrs, const char *id,
                             const struct mascri_ctr_resources *res, mascri_error_t *err);
/* ReopenContainerLog: FAILED_PRECONDITION unless running. */
int mascri_containers_reopen_log(struct mascri_containers *ctrs, const char *id,
                                 mascri_error_t *err);

/* Usage of a container: cgroup figures (zeros when it has no cgroup any more), read now
 * from the container's own cgroup files only, and its writable layer as last measured in
 * the background (info's rw_*). */
struct mascri_ctr_usage {
  bool has_cgroup;
  mascri_container_stats_t cg;
  uint64_t rw_bytes, rw_inodes;
  char *rw_mountpoint; /* the filesystem of the writable layer */
};
int mascri_containers_usage(struct mascri_containers *ctrs, const struct mascri_ctr_info *info,
                            struct mascri_ctr_usage *out, mascri_error_t *err);
/* The two halves: the writable layer only (from info, no I/O: fine under the store's lock
 * in a mascri_containers_foreach visitor) and the cgroup figures only (info's id, state,
 * cgroup_path and mascri_ctr_memory_limit are read). */
void mascri_containers_usage_layer(struct mascri_containers *ctrs,
                                   const struct mascri_ctr_info *info,
                                   struct mascri_ctr_usage *out);
void mascri_containers_usage_cgroup(struct mascri_containers *ctrs,
                                    const struct mascri_ctr_info *info,
                                    struct mascri_ctr_usage *out);
void mascri_ctr_usage_clear(struct mascri_ctr_usage *u);
/* The container's memory limit in bytes as the CRI set it (CreateContainer, then
 * UpdateContainerResources), 0 when none or info has no config: what the container
 * cgroup's memory.max holds, so the stats read one cgroup file less per container. */
int64_t mascri_ctr_memory_limit(const struct mascri_ctr_info *info);

/* StopPodSandbox: stops every container of the pod (SIGKILL after timeout_s, 0: now).
 * Idempotent; unknown pods have no containers. */
int mascri_containers_stop_pod(struct mascri_containers *ctrs, const char *pod_id,
                               int64_t timeout_s, mascri_error_t *err);
/* RemovePodSandbox: removes every container of the pod (stopping them first). */
int mascri_containers_remove_pod(struct mascri_containers *ctrs, const char *pod_id,
                                 mascri_error_t *err);

#endif
