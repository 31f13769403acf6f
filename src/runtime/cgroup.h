/* cgroups: the host's layout (v1, v2 or hybrid) and a container's cgroup. What differs
 * between the two managers (where the cgroup lives, how it is made with its first process,
 * how it goes) is a table of operations, mascri_cgroup_ops_t, one backend file each:
 * cgroup-cgroupfs.c and cgroup-systemd.c (a transient scope over sd-bus). Callers pick the
 * table once (mascri_cgroup_ops_of) and call through it; everything else (resources,
 * freeze, kill, stats, pids) is the same cgroupfs file work for both, below. */
#ifndef MASCRI_RUNTIME_CGROUP_H
#define MASCRI_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

typedef enum {
  MASCRI_CGROUP_V1 = 1,
  MASCRI_CGROUP_V2,
  MASCRI_CGROUP_HYBRID, /* v1 controllers plus a cgroup2 mount (e.g. /sys/fs/cgroup/unified) */
} mascri_cgroup_mode_t;

typedef struct mascri_cgroup_hierarchy {
  char *mount;        /* "/sys/fs/cgroup/cpu" */
  char **controllers; /* {"cpu", NULL}; named hierarchies as "name=systemd" */
} mascri_cgroup_hierarchy_t;

typedef struct mascri_cgroup_layout {
  mascri_cgroup_mode_t mode;
  char *v2_mount; /* NULL on pure v1 */
  mascri_cgroup_hierarchy_t *v1;
  size_t n_v1;
} mascri_cgroup_layout_t;

/* The host's layout, probed on the first call and kept for the life of the process
 * (cgroup-layout.c says how and why); read-only, never freed. NULL when the probe fails. */
const mascri_cgroup_layout_t *mascri_cgroup_layout_host(mascri_error_t *err);
/* A copy of mascri_cgroup_layout_host() (free with mascri_cgroup_layout_clear). */
int mascri_cgroup_layout_probe(mascri_cgroup_layout_t *out, mascri_error_t *err);
void mascri_cgroup_layout_clear(mascri_cgroup_layout_t *l);
/* The v1 hierarchy mount holding controller, or NULL. */
const char *mascri_cgroup_v1_mount(const mascri_cgroup_layout_t *l, const char *controller);
/* Whether the v2 mount offers controller (cgroup.controllers at its root). */
bool mascri_cgroup_v2_has(const mascri_cgroup_layout_t *l, const char *controller);

/* One file write: <hierarchy of controller>/<path>/<file> = value. controller NULL = the
 * v2 hierarchy. */
typedef struct mascri_cgroup_write {
  const char *controller;
  char *file;
  char *value;
} mascri_cgroup_write_t;

typedef struct mascri_cgroup_writes {
  mascri_cgroup_write_t *w;
  size_t n;
} mascri_cgroup_writes_t;

void mascri_cgroup_writes_clear(mascri_cgroup_writes_t *ws);
/* Translates resources into file writes for the layout (v1 files on v1/hybrid, v2 files
 * on v2; on hybrid hugetlb and unified keys go to v2 when v1 lacks the controller). */
int mascri_cgroup_resource_writes(const mascri_cgroup_layout_t *l, const mascri_spec_resources_t *r,
                                  bool with_default_devices, mascri_cgroup_writes_t *out,
                                  mascri_error_t *err);
/* The devices every container gets (runc's allowed defaults): v1 devices.allow lines, or
 * rules of the v2 device program (cgroup-devices.h). */
typedef struct mascri_cgroup_default_device {
  char type;
  int64_t major, minor; /* -1 = any */
  const char *access;
} mascri_cgroup_default_device_t;
extern const mascri_cgroup_default_device_t mascri_cgroup_default_devices[];
extern const size_t mascri_cgroup_n_default_devices;

/* cpu.shares → cpu.weight, blkio weight → io.weight (the runc/crun conversions). */
uint64_t mascri_cgroup_shares_to_weight(uint64_t shares);
uint64_t mascri_cgroup_blkio_to_io_weight(uint64_t weight);

/* A container's cgroup: the same relative path in every hierarchy. */
typedef struct mascri_cgroup {
  mascri_cgroup_layout_t layout;
  char *path; /* "/mascri/<id>" or cgroupsPath, always starting with '/' */
  mascri_cgroup_manager_t manager;
} mascri_cgroup_t;

/* What differs between the cgroup managers. Paths are cgroup paths like mascri_cgroup_t's;
 * a pod's cgroup parent is what CRI's linux.cgroup_parent names (a directory, or a slice). */
typedef struct mascri_cgroup_ops {
  const char *name;           /* "cgroupfs", "systemd" (as the CRI's status reports it) */
  const char *daemon_parent;  /* the daemon's default parent of pods: "mascri", "mascri.slice" */
  bool removes_empty_cgroups; /* the manager removes a cgroup once its processes are gone */
  /* cgroupsPath (or the default for id) → the cgroup path; systemd "slice:prefix:name". */
  int (*resolve_path)(const char *cgroups_path, const char *id, char **out, mascri_error_t *err);
  /* Before the first process exists: 1 when the cgroup exists now (clone the process into
   * it: mascri_cgroup_open_v2), 0 when it comes with its first process (enter). */
  int (*create)(mascri_cgroup_t *cg, const mascri_spec_resources_t *r, bool with_default_devices,
                mascri_error_t *err);
  /* Puts the first process in the cgroup (born_in_v2: the clone placed it on the v2
   * hierarchy) and, when create did not, makes the cgroup with r around it. */
  int (*enter)(mascri_cgroup_t *cg, const mascri_spec_resources_t *r, bool with_default_devices,
               pid_t pid, bool born_in_v2, mascri_error_t *err);
  /* Removes the cgroup, which holds no process any more (mascri_cgroup_kill). */
  int (*destroy)(const mascri_cgroup_t *cg, mascri_error_t *err);
  /* A pod's cgroup parent: config_parent when set, else one of its own below daemon_parent
   * (mascri.slice → mascri-pod<id>.slice, as kubelet makes one per pod). */
  char *(*pod_parent)(const char *config_parent, const char *daemon_parent, const char *pod_id);
  /* The cgroup path of a pod's cgroup parent; NULL when it names none. */
  char *(*parent_path)(const char *pod_parent);
  /* The cgroup path of a pod's own cgroup (pause's) below its parent. */
  int (*pod_path)(const char *pod_parent, const char *pod_id, char **out, mascri_error_t *err);
  /* The cgroupsPath of a container of the pod (for resolve_path). */
  char *(*container_cgroups_path)(const char *pod_parent, const char *id);
} mascri_cgroup_ops_t;

extern const mascri_cgroup_ops_t mascri_cgroup_cgroupfs_ops;
extern const mascri_cgroup_ops_t mascri_cgroup_systemd_ops;
const mascri_cgroup_ops_t *mascri_cgroup_ops_of(mascri_cgroup_manager_t manager);

/* resolve_path of manager's table. */
int mascri_cgroup_resolve_path(mascri_cgroup_manager_t manager, const char *cgroups_path,
                               const char *id, char **out, mascri_error_t *err);

/* Creates the directories (v1: copies cpuset.cpus/mems from the parent; v2: enables the
 * controllers down the path), applies resources. */
int mascri_cgroup_create(mascri_cgroup_t *cg, const mascri_spec_resources_t *r,
                         bool with_default_devices, mascri_error_t *err);
/* Applies resources to an existing cgroup. */
int mascri_cgroup_apply(const mascri_cgroup_t *cg, const mascri_spec_resources_t *r,
                        bool with_default_devices, mascri_error_t *err);
/* Moves pid into the cgroup in every hierarchy. Each first write to a cgroup.procs after
 * a quiet spell costs the kernel an RCU grace period (milliseconds): a process cloned into
 * its v2 cgroup (CLONE_INTO_CGROUP, the fd from mascri_cgroup_open_v2) needs only the v1
 * hierarchies, and on a pure v2 host nothing. */
int mascri_cgroup_enter(const mascri_cgroup_t *cg, pid_t pid, mascri_error_t *err);
int mascri_cgroup_enter_v1(const mascri_cgroup_t *cg, pid_t pid, mascri_error_t *err);
/* mascri_cgroup_enter_v1 when born_in_v2, else mascri_cgroup_enter: joins an existing cgroup. */
int mascri_cgroup_join(const mascri_cgroup_t *cg, pid_t pid, bool born_in_v2, mascri_error_t *err);
/* An O_DIRECTORY fd of the cgroup's directory on the v2 hierarchy (layout.v2_mount set). */
int mascri_cgroup_open_v2(const mascri_cgroup_t *cg, mascri_error_t *err);
/* clone(2) with fork semantics and extra namespace flags (async-signal-safe: usable in the
 * child of a threaded process). With cgroup_fd >= 0 (from mascri_cgroup_open_v2) the child
 * is born in that cgroup (clone3, CLONE_INTO_CGROUP) when the kernel allows; *placed says
 * whether it was (if not, move it with mascri_cgroup_enter). */
pid_t mascri_cgroup_clone(int flags, int cgroup_fd, bool *placed);
/* Removes the directories, children first, retrying a busy one for up to 200 ms (a process
 * that just exited may linger); it kills nothing: empty the cgroup first (mascri_cgroup_kill). */
int mascri_cgroup_destroy(const mascri_cgroup_t *cg, mascri_error_t *err);
int mascri_cgroup_freeze(const mascri_cgroup_t *cg, bool freeze, mascri_error_t *err);
/* SIGKILL to every process of the cgroup and its children at once through the v2
 * cgroup.kill (Linux 5.14+): no race with forks, frozen processes die too. 1 when done, 0
 * when there is no v2 hierarchy or the kernel has no cgroup.kill (signal the pids then). */
int mascri_cgroup_kill(const mascri_cgroup_t *cg, mascri_error_t *err);
bool mascri_cgroup_is_frozen(const mascri_cgroup_t *cg);
int mascri_cgroup_pids(const mascri_cgroup_t *cg, pid_t **pids, size_t *n, mascri_error_t *err);
/* The value of key in the text of a flat keyed cgroup file ("key value" lines: cpu.stat,
 * memory.stat, memory.events, memory.oom_control); 0 when absent. */
uint64_t mascri_cgroup_keyed_value(const char *buf, const char *key);
int mascri_cgroup_stats(const mascri_cgroup_t *cg, mascri_container_stats_t *out,
                        mascri_error_t *err);
/* What mascri_cgroup_usage reads beyond cpu usage and memory usage, working set and rss. */
enum {
  MASCRI_CGROUP_USAGE_PIDS = 1 << 0,  /* pids.current, which pod stats show */
  MASCRI_CGROUP_USAGE_LIMIT = 1 << 1, /* the memory limit (callers that do not keep it) */
};

/* Only what the CRI's stats report (MASCRI_CGROUP_USAGE_* for more), in a third of
 * mascri_cgroup_stats' system calls: for the stats calls over every container or pod. */
int mascri_cgroup_usage(const mascri_cgroup_t *cg, unsigned what, mascri_container_stats_t *out,
                        mascri_error_t *err);
/* Absolute directory of the cgroup in the hierarchy holding controller (NULL = v2). */
char *mascri_cgroup_dir(const mascri_cgroup_t *cg, const char *controller);
void mascri_cgroup_clear(mascri_cgroup_t *cg);

/* systemd (cgroup-systemd.c): "a-b.slice" -> "/a.slice/a-b.slice" (the slice's cgroup path);
 * NULL when not a slice name. */
char *mascri_cgroup_systemd_slice_path(const char *slice);
/* Whether systemd is the init system (what sd_booted() checks). */
bool mascri_cgroup_systemd_running(void);

#endif
