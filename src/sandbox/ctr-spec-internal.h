/* Pieces of the CRI container spec builder (ctr-spec.h), one per section of config.json. */
#ifndef MASCRI_SANDBOX_CTR_SPEC_INTERNAL_H
#define MASCRI_SANDBOX_CTR_SPEC_INTERNAL_H

#include <stdbool.h>
#include <yajl/yajl_gen.h>

#include "sandbox/ctr-spec.h"

struct ctr_spec_ctx {
  const struct mascri_ctr_spec_input *in;
  const struct mascri_ctr_config *cfg;
  const struct mascri_ctr_security *sc;   /* &cfg->security */
  const struct mascri_ctr_resources *res; /* NULL when none given */
  bool privileged;
  bool readonly_rootfs;
  char **caps; /* the container's capability names, "CAP_..." */
};

/* The capability set: containerd's defaults + add - drop ("ALL" honoured both ways), or
 * every capability mascrid may give when privileged. INVALID_ARGUMENT names an unknown one. */
int ctr_spec_capabilities(const struct mascri_ctr_security *sc, char *const *defaults, char ***out,
                          mascri_error_t *err);
/* Every capability name the running kernel knows and mascrid holds in its bounding set. */
char **ctr_spec_all_capabilities(void);

/* "process": args, env, cwd, user, capabilities, ... */
int ctr_spec_gen_process(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err);
/* "mounts": the defaults, the pod's files, then the CRI mounts. */
int ctr_spec_gen_mounts(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err);
/* linux.rootfsPropagation the CRI mounts need: "rshared" when one is bidirectional (its
 * bind must stay in the host's peer group), else "rslave" when one is host-to-container,
 * else NULL (the runtime's default). */
const char *ctr_spec_rootfs_propagation(const struct mascri_ctr_config *cfg);
/* "linux": namespaces, resources, devices, cgroupsPath, masked/readonly paths, seccomp. */
int ctr_spec_gen_linux(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err);
/* "devices" (inside "linux"): device nodes of config.devices, every host device when
 * privileged. */
int ctr_spec_gen_devices(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err);
/* "devices" (inside "linux.resources"): the cgroup rules that go with them. */
int ctr_spec_gen_device_rules(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err);
/* "resources" (inside "linux") from the CRI resources and devices. */
int ctr_spec_gen_resources(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err);

#endif
