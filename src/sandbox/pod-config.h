/* A pod's config as sandbox keeps it: the part of RunPodSandbox's PodSandboxConfig that
 * pods use or that the CRI status and list answers echo, with no protobuf (cri/ converts
 * the request). Recorded in pod.json as the JSON object of mascri_pod_config_gen.
 *
 * Every pointer is owned by the struct holding it; absent strings and lists are NULL
 * (or empty). */
#ifndef MASCRI_SANDBOX_POD_CONFIG_H
#define MASCRI_SANDBOX_POD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "netns/network.h"
#include "sandbox/config-types.h"

/* PortMapping. The ports are kept as asked: RunPodSandbox checks their range. */
struct mascri_pod_port_mapping {
  mascri_port_proto_t protocol;
  int32_t container_port, host_port;
  char *host_ip;
};

/* DNSConfig: NULL-terminated lists, NULL when empty. */
struct mascri_pod_dns {
  char **servers, **searches, **options;
};

/* LinuxSandboxSecurityContext. namespace_options has pid CONTAINER when the request had
 * no namespace options: the pod then gets no PID namespace of its own. */
struct mascri_pod_security {
  struct mascri_ns_options namespace_options;
  bool privileged, readonly_rootfs;
  bool has_run_as_user, has_run_as_group;
  int64_t run_as_user, run_as_group;
  int64_t *supplemental_groups;
  size_t n_supplemental_groups;
  struct mascri_security_profile seccomp, apparmor;
};

struct mascri_pod_config {
  struct mascri_metadata metadata;
  char *hostname;
  char *log_directory;
  struct mascri_pod_dns dns;
  struct mascri_pod_port_mapping *port_mappings;
  size_t n_port_mappings;
  struct mascri_kv_list labels, annotations;
  char *cgroup_parent;                 /* linux.cgroup_parent */
  struct mascri_kv_list sysctls;       /* linux.sysctls */
  struct mascri_pod_security security; /* linux.security_context */
};

void mascri_pod_config_clear(struct mascri_pod_config *c);
/* Clears and frees a heap config; NULL is fine. */
void mascri_pod_config_free(struct mascri_pod_config *c);
/* A deep heap copy. */
struct mascri_pod_config *mascri_pod_config_copy(const struct mascri_pod_config *c);
/* Whether two configs say the same (same JSON form: map and list order count). */
bool mascri_pod_config_equal(const struct mascri_pod_config *a, const struct mascri_pod_config *b);

/* Writes `key` and the config as an object into an open map. */
void mascri_pod_config_gen(yajl_gen g, const char *key, const struct mascri_pod_config *c);
/* Reads the member `key` of obj into c (cleared first; absent: the config of a request that
 * sets nothing, with pid CONTAINER and userns NODE). A member of the wrong shape or an enum
 * out of range fails with an error naming it, c left cleared. */
int mascri_pod_config_parse(yajl_val obj, const char *key, struct mascri_pod_config *c,
                            mascri_error_t *err);

static inline void cleanup_pod_configp(struct mascri_pod_config **c)
{
  mascri_pod_config_free(*c);
}
#define _cleanup_pod_config_ _cleanup_(cleanup_pod_configp)

#endif
