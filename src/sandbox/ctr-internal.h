/* Shared between the container store files (containers.c, ctr-record.c, ctr-create.c,
 * ctr-ops.c, ctr-monitor.c, ctr-exec.c). */
#ifndef MASCRI_SANDBOX_CTR_INTERNAL_H
#define MASCRI_SANDBOX_CTR_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include "sandbox/containers.h"
#include "sandbox/objtable.h"

struct ctr {
  /* id: info.id, name: info.full_name; op serialises start/stop/remove/update */
  struct mascri_obj obj;
  struct mascri_ctr_info info;
};

static inline struct ctr *mascri_ctr_of(const struct mascri_obj *o)
{
  return (struct ctr *)((char *)o - offsetof(struct ctr, obj));
}

struct mascri_containers {
  char *root, *state, *monitor_path, *runtime_root;
  mascri_cgroup_manager_t cgroup_manager;
  char **default_caps; /* NULL: the built-in set */
  mascri_image_store_t *images;
  struct mascri_pods *pods;
  mascri_ctr_event_fn on_event;
  void *event_data;
  mascri_ctr_legacy_config_fn legacy_config; /* may be NULL */
  int monitor_fd;               /* sealed memfd copy of mascri-monitor, shared by every monitor */
  char *monitor_exe;            /* "/proc/self/fd/<monitor_fd>" */
  char *mount_template;         /* pin of the mount namespace template, NULL: none */
  struct mascri_objtable table; /* its lock also guards every container's info fields */
  /* exit watcher */
  pthread_t watcher;
  bool watcher_running;
  int watch_stop[2];          /* pipe: close the write end to stop the watcher */
  int exits_fd;               /* inotify on <state>/exits, -1 when unavailable */
  pthread_mutex_t exits_lock; /* one reader of exits_fd at a time, events applied under it */
  /* writable layer usage (ctr-usage.c) */
  unsigned usage_period_ms;
  pthread_t usage_thread;
  bool usage_running;
  int usage_stop[2]; /* pipe: close the write end to stop the usage thread */
};

static inline mascri_runtime_t mascri_ctrs_runtime(const struct mascri_containers *ctrs)
{
  return (mascri_runtime_t){.state_root = ctrs->runtime_root,
                            .cgroup_manager = ctrs->cgroup_manager};
}

/* ctr-record.c */
char *mascri_ctr_dir(const struct mascri_containers *ctrs, const char *id);
char *mascri_ctr_exit_file(const struct mascri_containers *ctrs, const char *id);
char *mascri_ctr_monitor_dir(const struct mascri_containers *ctrs, const char *id);
int mascri_ctr_record_write(const struct mascri_containers *ctrs, const struct ctr *c,
                            mascri_error_t *err);
/* *legacy: the record is of an older version, to be rewritten (its config was converted
 * by ctrs->legacy_config). */
int mascri_ctr_record_read(const struct mascri_containers *ctrs, const char *path, struct ctr **out,
                           bool *legacy, mascri_error_t *err);
/* A zeroed container with one reference (the table's once added); the table's kind frees
 * it. */
struct ctr *mascri_ctr_alloc(void);
void mascri_ctr_free(struct ctr *c);
extern const struct mascri_objtable_kind mascri_ctr_kind;
void mascri_ctr_info_copy(struct mascri_ctr_info *dst, const struct mascri_ctr_info *src);
void mascri_ctr_info_clear(struct mascri_ctr_info *info);
/* Reads the monitor's exit file into info (EXITED, exit code, finished_at, reason).
 * 1 when it exists and was read, 0 when absent. */
int mascri_ctr_read_exit_file(const char *path, struct mascri_ctr_info *info, mascri_error_t *err);

/* containers.c */
/* The container's cgroup path as its runtime state records it (read once, at create and
 * at restore), NULL when the runtime has no state for it. */
char *mascri_ctr_runtime_cgroup_path(const struct mascri_containers *ctrs, const char *id);

/* Finds, takes a reference and the container's op lock (drop both with mascri_ctrs_put). */
struct ctr *mascri_ctrs_acquire(struct mascri_containers *ctrs, const char *id_or_prefix,
                                mascri_error_t *err);
static inline void mascri_ctrs_put(struct mascri_containers *ctrs, struct ctr *c)
{
  mascri_objtable_put(&ctrs->table, &c->obj);
}
/* Moves a CREATED/RUNNING container to EXITED when its exit file appeared or its monitor
 * is gone (with c->obj.op held or not: takes the table's lock). true when it changed. */
bool mascri_ctrs_refresh(struct mascri_containers *ctrs, struct ctr *c);
void mascri_ctrs_emit(struct mascri_containers *ctrs, const struct ctr *c, mascri_ctr_event_t type);

/* ctr-monitor.c */
int mascri_monitor_seal(const char *path, int *fd, mascri_error_t *err);
struct mascri_monitor_args {
  const char *id, *bundle, *log_path, *exit_file, *socket_dir;
  bool terminal, stdin_, stdin_once;
};
/* Starts a monitor in create mode and waits for its sync line (cancel: the RPC gave up). */
int mascri_monitor_create(struct mascri_containers *ctrs, const struct mascri_monitor_args *a,
                          pid_t *monitor_pid, pid_t *init_pid, const volatile int *cancel,
                          mascri_error_t *err);
/* One request on the monitor's ctl socket; *reply (may be NULL) gets the answer. */
int mascri_monitor_request(const char *socket_dir, const char *req, char **reply,
                           mascri_error_t *err);

/* ctr-exec.c: ExecSync through `mascri-monitor exec`. */
int mascri_monitor_exec_sync(struct mascri_containers *ctrs, const char *id,
                             const char *process_json, bool tty, int64_t timeout_s,
                             const volatile int *cancel, struct mascri_exec_sync_result *res,
                             mascri_error_t *err);

/* ctr-usage.c: the background measurer of writable layers. */
int mascri_ctr_usage_start(struct mascri_containers *ctrs, mascri_error_t *err);
void mascri_ctr_usage_stop(struct mascri_containers *ctrs);

/* ctr-exec.c: writes an exec's process JSON to a new file under <state>/monitors/ (0600,
 * atomically) for `mascri-monitor exec --process`; returns its path (the caller removes
 * it). */
char *mascri_ctr_write_process_file(struct mascri_containers *ctrs, const char *json,
                                    mascri_error_t *err);

/* ctr-stop.c */
/* Kills with sig (all: every process of the cgroup) and waits for the exit file up to
 * timeout_ms (< 0: no wait). 1 when it exited, 0 on timeout. */
int mascri_ctr_kill_wait(struct mascri_containers *ctrs, struct ctr *c, int sig, bool all,
                         int64_t timeout_ms, const volatile int *cancel, mascri_error_t *err);

/* ctr-monitor.c: the error kind of a helper's "error <KIND> ..." line ("NOT_FOUND",
 * "INVALID_ARGUMENT", ...); INTERNAL when unknown. */
mascri_error_kind_t mascri_ctr_error_kind_from_name(const char *name);

#endif
