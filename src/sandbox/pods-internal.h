/* Shared between the pod store files (pods.c, pod-record.c, pod-run.c). */
#ifndef MASCRI_SANDBOX_PODS_INTERNAL_H
#define MASCRI_SANDBOX_PODS_INTERNAL_H

#include <pthread.h>

#include "runtime/cgroup.h"
#include "sandbox/pods.h"

struct pod {
  struct mascri_pod_info info;
  bool creating;          /* RunPodSandbox in progress: the name is reserved, nothing else */
  bool own_cgroup_parent; /* cgroup_parent was made by us (no linux.cgroup_parent) */
  char *full_name;        /* k8s_POD_... */
  pthread_mutex_t op;     /* serialises stop/remove of this pod */
  unsigned refs;          /* the table's reference plus one per call in flight (pods->lock) */
  bool removed;           /* unlinked from the table (under op) */
};

struct mascri_pods {
  char *root, *state, *pause_path, *cgroup_parent;
  mascri_cgroup_manager_t cgroup_manager;
  const mascri_cgroup_ops_t *cgroup_ops; /* cgroup_manager's */
  struct mascri_network *net;
  pthread_mutex_t lock;   /* the table and every entry's fields */
  pthread_cond_t created; /* broadcast when a RunPodSandbox in flight ends (with lock) */
  struct pod **v;
  size_t n;
};

/* pod-record.c */
char *mascri_pod_dir(const struct mascri_pods *pods, const char *id);
char *mascri_pod_ns_dir(const struct mascri_pods *pods, const char *id);
int mascri_pod_record_write(const struct mascri_pods *pods, const struct pod *p,
                            mascri_error_t *err);
int mascri_pod_record_read(const char *path, struct pod **out, mascri_error_t *err);
char *mascri_pod_record_json(const struct pod *p, size_t *len);
int mascri_pod_record_parse(const char *buf, size_t len, struct pod **out, mascri_error_t *err);
/* A zeroed pod with its mutex initialised and one reference (the table's). */
struct pod *mascri_pod_alloc(void);
void mascri_pod_free(struct pod *p);
void mascri_pod_info_clear(struct mascri_pod_info *info);
void mascri_pod_info_copy(struct mascri_pod_info *dst, const struct mascri_pod_info *src);

/* pods.c, with pods->lock held */
struct pod *mascri_pods_find_locked(struct mascri_pods *pods, const char *id_or_prefix,
                                    mascri_error_t *err);
void mascri_pods_unlink_locked(struct mascri_pods *pods, struct pod *p);

/* pod-run.c: removes the cgroups a RunPodSandbox noted in pod_dir before making them (the
 * leftovers of one a crash interrupted). */
void mascri_pods_remove_noted_cgroups(struct mascri_pods *pods, const char *pod_dir);

#endif
