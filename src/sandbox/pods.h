/* Pod sandboxes: a mascri-pause process per pod in new net/ipc/uts (and pid) namespaces
 * made with unshare(2), the namespaces pinned by bind mounts under <state>/ns/<id>/ so they
 * outlive any process; the pod's network (netns/network.h), its cgroup, hostname,
 * resolv.conf; records under <root>/pods/<id>/ written atomically; restored at open.
 *
 * Thread-safe: every function may be called from any worker thread. */
#ifndef MASCRI_SANDBOX_PODS_H
#define MASCRI_SANDBOX_PODS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "netns/network.h"
#include "runtime/runtime.h"
#include "sandbox/config-types.h"
#include "sandbox/pod-config.h"

struct mascri_pods;

/* Converts the config of a version 1 pod record (the packed protobuf PodSandboxConfig,
 * which sandbox cannot read) into out, which is cleared. cri/ provides it. */
typedef int (*mascri_pod_legacy_config_fn)(const uint8_t *buf, size_t len,
                                           struct mascri_pod_config *out, mascri_error_t *err);

struct mascri_pods_config {
  const char *root;          /* <daemon root>: records in <root>/pods/<id>/ */
  const char *state;         /* <daemon state>: pinned namespaces in <state>/ns/<id>/ */
  const char *pause_path;    /* the mascri-pause binary */
  const char *cgroup_parent; /* default parent of pod cgroups */
  mascri_cgroup_manager_t cgroup_manager;
  struct mascri_network *net; /* borrowed */
  /* reads version 1 records, which are then rewritten in the current form; NULL: such a
   * record is skipped as unreadable */
  mascri_pod_legacy_config_fn legacy_config;
};

/* Ids of the pods recorded under root (for mascri_network_open's live_pod_ids), before
 * the network exists. NULL-terminated, never NULL. */
int mascri_pods_recorded_ids(const char *root, char ***ids, mascri_error_t *err);

/* Loads every record (rewriting those of an older form), checks each pod's pause process
 * and pinned namespaces and marks the pods whose pause died NOTREADY. */
int mascri_pods_open(const struct mascri_pods_config *cfg, struct mascri_pods **out,
                     mascri_error_t *err);
void mascri_pods_close(struct mascri_pods *pods);

/* A pod's namespace pins and files. Each is <dir>/<id>/<name>, dir one of the daemon's
 * (mascri_pod_path): a pod keeps which ones it has, not ~100 bytes a path, a kilobyte a pod
 * on a node of a thousand. */
enum mascri_pod_path {
  MASCRI_POD_NETNS,         /* pinned network namespace (none: host network) */
  MASCRI_POD_UTSNS,         /* pinned UTS namespace (none: host network) */
  MASCRI_POD_IPCNS,         /* pinned IPC namespace (none: host IPC) */
  MASCRI_POD_PIDNS,         /* the pod's PID namespace (only when pid mode is POD) */
  MASCRI_POD_RESOLV_CONF,   /* host file to bind at /etc/resolv.conf (none: the image's) */
  MASCRI_POD_HOSTNAME_FILE, /* host file to bind at /etc/hostname */
  MASCRI_POD_HOSTS_FILE,    /* host file to bind at /etc/hosts */
  MASCRI_POD_SHM,           /* host dir to bind at /dev/shm, pod-shared (none: own tmpfs) */
  MASCRI_POD_N_PATHS,
};

/* What a container of the pod needs. */
struct mascri_pod_info {
  char *id;
  char *name, *namespace_, *uid;
  uint32_t attempt;
  bool ready; /* SANDBOX_READY */
  pid_t pause_pid;
  /* the daemon's <state>/ns and <root>/pods (not the pod's: shared, never freed here) */
  const char *ns_dir, *files_dir;
  uint16_t paths;      /* the mascri_pod_path bits the pod has */
  char *cgroup_parent; /* what containers of the pod use as their cgroup parent */
  char *hostname;
  char *log_directory;              /* PodSandboxConfig.log_directory */
  struct mascri_pod_config *config; /* the RunPodSandbox config, heap copy */
  /* Status fields. */
  int64_t created_at;    /* ns since the epoch */
  char *ipv4, *ipv6;     /* pod addresses, NULL when none */
  char *runtime_handler; /* RunPodSandboxRequest.runtime_handler */
  char *pause_cgroup;    /* cgroup path of the pause process, NULL when not placed */
  uint64_t pause_start_time;
};
void mascri_pod_info_free(struct mascri_pod_info *info);
static inline bool mascri_pod_has(const struct mascri_pod_info *info, enum mascri_pod_path which)
{
  return info->paths & (1u << which);
}
/* The path of one of the pod's pins or files (heap), NULL when the pod has none. */
char *mascri_pod_path(const struct mascri_pod_info *info, enum mascri_pod_path which);
/* What containers need of the pod's config: whether it is privileged and its PID mode
 * (CONTAINER when it has no config). */
bool mascri_pod_info_privileged(const struct mascri_pod_info *info);
enum mascri_ns_mode mascri_pod_info_pid_mode(const struct mascri_pod_info *info);

/* By full id or unique id prefix: NOT_FOUND when none, INVALID_ARGUMENT when ambiguous. */
int mascri_pods_get(struct mascri_pods *pods, const char *id_or_prefix,
                    struct mascri_pod_info **out, mascri_error_t *err);

/* RunPodSandbox: validates, reserves the name (ALREADY_EXISTS naming the holder), starts
 * pause in its namespaces, sets up the network, records the pod; *id is the new id. */
int mascri_pods_run(struct mascri_pods *pods, const struct mascri_pod_config *config,
                    const char *runtime_handler, char **id, mascri_error_t *err);
/* Stops pause, tears the network down, unmounts the pod's /dev/shm; idempotent.
 * NOT_FOUND for an unknown pod. */
int mascri_pods_stop(struct mascri_pods *pods, const char *id_or_prefix, mascri_error_t *err);
/* Stops if needed, unpins the namespaces, removes the record and frees the name.
 * NOT_FOUND for an unknown pod. */
int mascri_pods_remove(struct mascri_pods *pods, const char *id_or_prefix, mascri_error_t *err);
/* Calls fn for every pod (created ones only, in creation order) with the table's lock held,
 * from memory: fn copies what it keeps and must not call into the pods. The cheap form of
 * mascri_pods_list (no copy of every pod's config) for ListPodSandbox. */
typedef void (*mascri_pod_visit_fn)(void *data, const struct mascri_pod_info *info);
void mascri_pods_foreach(struct mascri_pods *pods, mascri_pod_visit_fn fn, void *data);
/* Snapshot of every pod (created ones only), in creation order. */
int mascri_pods_list(struct mascri_pods *pods, struct mascri_pod_info ***out, size_t *n,
                     mascri_error_t *err);
void mascri_pod_info_list_free(struct mascri_pod_info **v, size_t n);
/* cpu/memory/pids of the pod's cgroup (cgroupfs manager). NOT_FOUND when it has none. */
int mascri_pods_cgroup_stats(struct mascri_pods *pods, const struct mascri_pod_info *info,
                             mascri_container_stats_t *out, mascri_error_t *err);

/* Counters of one interface of the pod's network namespace (read through the pause
 * process's /proc/<pid>/net/dev). NOT_FOUND when the pod is not running or has no such
 * interface. */
struct mascri_pod_net_stats {
  uint64_t rx_bytes, rx_errors, tx_bytes, tx_errors;
};
int mascri_pods_net_stats(const struct mascri_pod_info *info, const char *ifname,
                          struct mascri_pod_net_stats *out, mascri_error_t *err);

#endif
