/* Shared between the pod store files (pods.c, pod-record.c, pod-run.c). */
#ifndef MASCRI_SANDBOX_PODS_INTERNAL_H
#define MASCRI_SANDBOX_PODS_INTERNAL_H

#include <stddef.h>

#include "runtime/cgroup.h"
#include "sandbox/objtable.h"
#include "sandbox/pods.h"

struct pod {
  struct mascri_obj obj; /* id: info.id, name: full_name; op serialises stop/remove */
  struct mascri_pod_info info;
  bool own_cgroup_parent; /* cgroup_parent was made by us (no linux.cgroup_parent) */
  char *full_name;        /* k8s_POD_... */
};

static inline struct pod *mascri_pod_of(const struct mascri_obj *o)
{
  return (struct pod *)((char *)o - offsetof(struct pod, obj));
}

struct mascri_pods {
  char *root, *state, *pause_path, *cgroup_parent;
  char *files_dir, *ns_dir; /* <root>/pods, <state>/ns: each pod's info points to them */
  mascri_cgroup_manager_t cgroup_manager;
  const mascri_cgroup_ops_t *cgroup_ops; /* cgroup_manager's */
  struct mascri_network *net;
  mascri_pod_legacy_config_fn legacy_config;
  struct mascri_objtable table; /* its lock also guards every pod's info */
};

/* pod-record.c */
char *mascri_pod_dir(const struct mascri_pods *pods, const char *id);
char *mascri_pod_ns_dir(const struct mascri_pods *pods, const char *id);
int mascri_pod_record_write(const struct mascri_pods *pods, const struct pod *p,
                            mascri_error_t *err);
/* *old is set when the record is of an older form (its config read through legacy, which
 * may be NULL: such a record is then an error): the caller rewrites it. */
int mascri_pod_record_read(const char *path, mascri_pod_legacy_config_fn legacy, struct pod **out,
                           bool *old, mascri_error_t *err);
char *mascri_pod_record_json(const struct pod *p, size_t *len);
int mascri_pod_record_parse(const char *buf, size_t len, mascri_pod_legacy_config_fn legacy,
                            struct pod **out, bool *old, mascri_error_t *err);
/* A zeroed pod with one reference (the table's once added); the table's kind frees it. */
struct pod *mascri_pod_alloc(void);
extern const struct mascri_objtable_kind mascri_pod_kind;
void mascri_pod_free(struct pod *p);
void mascri_pod_info_clear(struct mascri_pod_info *info);
void mascri_pod_info_copy(struct mascri_pod_info *dst, const struct mascri_pod_info *src);

/* pod-run.c: removes the cgroups a RunPodSandbox noted in pod_dir before making them (the
 * leftovers of one a crash interrupted). */
void mascri_pods_remove_noted_cgroups(struct mascri_pods *pods, const char *pod_dir);

#endif
