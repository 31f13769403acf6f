/* The container config sandbox keeps: what CreateContainer's ContainerConfig says that the
 * spec, the store and the CRI answers (status, list, stats) use, as plain C types. cri/
 * converts the request into it; the container record stores it as JSON.
 *
 * Every pointer is owned by the struct holding it; absent strings are NULL, absent string
 * vectors NULL (never empty), absent lists empty. Enum values are CRI's, so cri/ converts
 * by cast. Left out because nothing reads them: selinux_options, supplemental_groups_policy,
 * the deprecated apparmor_profile, CDI devices, windows, a mount's id maps (only whether it
 * has some: refused) and image_sub_path. */
#ifndef MASCRI_SANDBOX_CTR_CONFIG_H
#define MASCRI_SANDBOX_CTR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"
#include "sandbox/config-types.h"

/* CRI's MountPropagation. */
enum mascri_mount_propagation {
  MASCRI_PROPAGATION_PRIVATE = 0,
  MASCRI_PROPAGATION_HOST_TO_CONTAINER = 1,
  MASCRI_PROPAGATION_BIDIRECTIONAL = 2,
};

struct mascri_ctr_mount {
  char *container_path, *host_path;
  bool readonly, selinux_relabel, recursive_read_only;
  enum mascri_mount_propagation propagation;
  bool id_mapped; /* uidMappings or gidMappings given: refused at create */
  char *image;    /* an image volume's reference: refused at create */
};

struct mascri_ctr_device {
  char *container_path, *host_path, *permissions;
};

struct mascri_hugepage_limit {
  char *page_size;
  uint64_t limit;
};

/* LinuxContainerResources; set is false when the request has none. 0 means "not set" in
 * every number, as in the CRI. */
struct mascri_ctr_resources {
  bool set;
  int64_t cpu_period, cpu_quota, cpu_shares;
  int64_t memory_limit_in_bytes, memory_swap_limit_in_bytes;
  int64_t oom_score_adj;
  char *cpuset_cpus, *cpuset_mems;
  struct mascri_hugepage_limit *hugepage_limits;
  size_t n_hugepage_limits;
  struct mascri_kv_list unified;
};

/* LinuxContainerSecurityContext. An absent one and an empty one mean the same to the spec,
 * except for namespace_options (absent: a new PID namespace; given: its modes). */
struct mascri_ctr_security {
  char **add_caps, **drop_caps, **add_ambient_caps;
  bool privileged, readonly_rootfs, no_new_privs;
  bool has_namespace_options;
  struct mascri_ns_options namespace_options;
  /* Int64Value wrappers: absent is not 0 (root). */
  bool has_run_as_user, has_run_as_group;
  int64_t run_as_user, run_as_group;
  char *run_as_username;
  int64_t *supplemental_groups;
  size_t n_supplemental_groups;
  char **masked_paths, **readonly_paths;
  struct mascri_security_profile seccomp, apparmor;
  char *seccomp_profile_path; /* the deprecated string, still sent by older kubelets */
};

/* ImageSpec as the request gave it. */
struct mascri_ctr_image {
  char *image, *user_specified_image, *runtime_handler;
  struct mascri_kv_list annotations;
};

struct mascri_ctr_config {
  struct mascri_metadata metadata; /* name and attempt */
  struct mascri_ctr_image image;
  char **command, **args;
  char *working_dir;
  struct mascri_kv_list envs; /* in order, duplicates kept (the last one wins in the spec) */
  struct mascri_ctr_mount *mounts;
  size_t n_mounts;
  struct mascri_ctr_device *devices;
  size_t n_devices;
  struct mascri_kv_list labels, annotations;
  char *log_path; /* relative to the pod's log directory */
  bool stdin_, stdin_once, tty;
  struct mascri_ctr_resources resources;
  struct mascri_ctr_security security;
  char *stop_signal; /* CRI's Signal name ("SIGKILL"); NULL: the image's, else SIGTERM */
};

void mascri_ctr_config_clear(struct mascri_ctr_config *c);
/* A heap config; mascri_ctr_config_free frees one. */
struct mascri_ctr_config *mascri_ctr_config_new(void);
void mascri_ctr_config_free(struct mascri_ctr_config *c);
static inline void cleanup_ctr_configp(struct mascri_ctr_config **p)
{
  mascri_ctr_config_free(*p);
}
#define _cleanup_ctr_config_ _cleanup_(cleanup_ctr_configp)
/* A deep heap copy. */
struct mascri_ctr_config *mascri_ctr_config_dup(const struct mascri_ctr_config *c);
/* Whether a and b say the same (CreateContainer's retry check). */
bool mascri_ctr_config_equal(const struct mascri_ctr_config *a, const struct mascri_ctr_config *b);

/* The copies overwrite dst: clear it first when it holds anything. */
void mascri_ctr_resources_clear(struct mascri_ctr_resources *r);
void mascri_ctr_resources_copy(struct mascri_ctr_resources *dst,
                               const struct mascri_ctr_resources *src);
void mascri_ctr_security_clear(struct mascri_ctr_security *s);
void mascri_ctr_security_copy(struct mascri_ctr_security *dst,
                              const struct mascri_ctr_security *src);

/* JSON, as config-types.h's pairs: gen writes `key` and the config into an open map;
 * parse reads the member `key` of obj into *cfg (cleared first) and fails naming the
 * member that has the wrong shape ("config: mounts[1]: readonly: expected a boolean ..."). */
void mascri_ctr_config_gen(yajl_gen g, const char *key, const struct mascri_ctr_config *cfg);
int mascri_ctr_config_parse(yajl_val obj, const char *key, struct mascri_ctr_config *cfg,
                            mascri_error_t *err);
/* The resources and security context alone (ctr-config-linux.c). */
void mascri_ctr_resources_gen(yajl_gen g, const char *key, const struct mascri_ctr_resources *r);
int mascri_ctr_resources_parse(yajl_val obj, const char *key, struct mascri_ctr_resources *r,
                               mascri_error_t *err);
void mascri_ctr_security_gen(yajl_gen g, const char *key, const struct mascri_ctr_security *s);
int mascri_ctr_security_parse(yajl_val obj, const char *key, struct mascri_ctr_security *s,
                              mascri_error_t *err);

#endif
