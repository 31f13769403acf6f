/* The container config, protobuf <-> plain (rpc-ctr-conv.h). */
#include "cri/rpc-ctr-conv.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "cri/rpc-conv.h"

/* The plain enum takes CRI's values so that converting is a cast. */
_Static_assert((int)MASCRI_PROPAGATION_PRIVATE ==
                   RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE,
               "propagation");
_Static_assert((int)MASCRI_PROPAGATION_HOST_TO_CONTAINER ==
                   RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER,
               "propagation");
_Static_assert((int)MASCRI_PROPAGATION_BIDIRECTIONAL ==
                   RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL,
               "propagation");

static char *dup_or_empty(const char *s)
{
  return xstrdup(s ? s : "");
}

/* NULL for an empty repeated string (the plain form's "absent"). */
static char **strv_in(char *const *v, size_t n)
{
  return n ? mascri_conv_strv(v, n) : NULL;
}

/* ---- in ---------------------------------------------------------------------------- */

void mascri_conv_ctr_resources_in(struct mascri_ctr_resources *dst,
                                  const Runtime__V1__LinuxContainerResources *src)
{
  memset(dst, 0, sizeof(*dst));
  if (!src)
    return;
  dst->set = true;
  dst->cpu_period = src->cpu_period;
  dst->cpu_quota = src->cpu_quota;
  dst->cpu_shares = src->cpu_shares;
  dst->memory_limit_in_bytes = src->memory_limit_in_bytes;
  dst->memory_swap_limit_in_bytes = src->memory_swap_limit_in_bytes;
  dst->oom_score_adj = src->oom_score_adj;
  dst->cpuset_cpus = mascri_conv_str(src->cpuset_cpus);
  dst->cpuset_mems = mascri_conv_str(src->cpuset_mems);
  if (src->n_hugepage_limits)
    dst->hugepage_limits = xcalloc(src->n_hugepage_limits, sizeof(*dst->hugepage_limits));
  for (size_t i = 0; i < src->n_hugepage_limits; i++) {
    dst->hugepage_limits[i].page_size = mascri_conv_str(src->hugepage_limits[i]->page_size);
    dst->hugepage_limits[i].limit = src->hugepage_limits[i]->limit;
  }
  dst->n_hugepage_limits = src->n_hugepage_limits;
  mascri_conv_kv_in(&dst->unified, (void *const *)src->unified, src->n_unified);
}

static int64_t wrapped(const Runtime__V1__Int64Value *v, bool *has)
{
  *has = v != NULL;
  return v ? v->value : 0;
}

static void security_in(struct mascri_ctr_security *dst,
                        const Runtime__V1__LinuxContainerSecurityContext *src)
{
  mascri_conv_ns_options_in(&dst->namespace_options, NULL);
  if (!src)
    return;
  const Runtime__V1__Capability *cap = src->capabilities;
  if (cap) {
    dst->add_caps = strv_in(cap->add_capabilities, cap->n_add_capabilities);
    dst->drop_caps = strv_in(cap->drop_capabilities, cap->n_drop_capabilities);
    dst->add_ambient_caps = strv_in(cap->add_ambient_capabilities, cap->n_add_ambient_capabilities);
  }
  dst->privileged = src->privileged;
  dst->readonly_rootfs = src->readonly_rootfs;
  dst->no_new_privs = src->no_new_privs;
  dst->has_namespace_options = src->namespace_options != NULL;
  mascri_conv_ns_options_in(&dst->namespace_options, src->namespace_options);
  dst->run_as_user = wrapped(src->run_as_user, &dst->has_run_as_user);
  dst->run_as_group = wrapped(src->run_as_group, &dst->has_run_as_group);
  dst->run_as_username = mascri_conv_str(src->run_as_username);
  if (src->n_supplemental_groups) {
    size_t size = src->n_supplemental_groups * sizeof(*src->supplemental_groups);
    dst->supplemental_groups = xmalloc(size);
    memcpy(dst->supplemental_groups, src->supplemental_groups, size);
    dst->n_supplemental_groups = src->n_supplemental_groups;
  }
  dst->masked_paths = strv_in(src->masked_paths, src->n_masked_paths);
  dst->readonly_paths = strv_in(src->readonly_paths, src->n_readonly_paths);
  mascri_conv_profile_in(&dst->seccomp, src->seccomp);
  mascri_conv_profile_in(&dst->apparmor, src->apparmor);
  /* still sent by older kubelets and crictl configs */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  dst->seccomp_profile_path = mascri_conv_str(src->seccomp_profile_path);
#pragma GCC diagnostic pop
}

static void mounts_in(struct mascri_ctr_config *dst, const Runtime__V1__ContainerConfig *src)
{
  if (src->n_mounts)
    dst->mounts = xcalloc(src->n_mounts, sizeof(*dst->mounts));
  for (size_t i = 0; i < src->n_mounts; i++) {
    const Runtime__V1__Mount *m = src->mounts[i];
    struct mascri_ctr_mount *d = &dst->mounts[i];
    d->container_path = mascri_conv_str(m->container_path);
    d->host_path = mascri_conv_str(m->host_path);
    d->readonly = m->readonly;
    d->selinux_relabel = m->selinux_relabel;
    d->propagation = (enum mascri_mount_propagation)m->propagation;
    d->recursive_read_only = m->recursive_read_only;
    d->id_mapped = m->n_uidmappings || m->n_gidmappings;
    d->image = m->image ? mascri_conv_str(m->image->image) : NULL;
  }
  dst->n_mounts = src->n_mounts;
}

static void devices_in(struct mascri_ctr_config *dst, const Runtime__V1__ContainerConfig *src)
{
  if (src->n_devices)
    dst->devices = xcalloc(src->n_devices, sizeof(*dst->devices));
  for (size_t i = 0; i < src->n_devices; i++) {
    dst->devices[i].container_path = mascri_conv_str(src->devices[i]->container_path);
    dst->devices[i].host_path = mascri_conv_str(src->devices[i]->host_path);
    dst->devices[i].permissions = mascri_conv_str(src->devices[i]->permissions);
  }
  dst->n_devices = src->n_devices;
}

static void image_in(struct mascri_ctr_image *dst, const Runtime__V1__ImageSpec *src)
{
  if (!src)
    return;
  dst->image = mascri_conv_str(src->image);
  dst->user_specified_image = mascri_conv_str(src->user_specified_image);
  dst->runtime_handler = mascri_conv_str(src->runtime_handler);
  mascri_conv_kv_in(&dst->annotations, (void *const *)src->annotations, src->n_annotations);
}

/* RUNTIME_DEFAULT and values this build does not know give NULL (the image's signal). */
static char *signal_in(Runtime__V1__Signal sig)
{
  if (sig == RUNTIME__V1__SIGNAL__RUNTIME_DEFAULT)
    return NULL;
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&runtime__v1__signal__descriptor, sig);
  return v ? xstrdup(v->name) : NULL;
}

void mascri_conv_ctr_config_in(struct mascri_ctr_config *dst,
                               const Runtime__V1__ContainerConfig *src)
{
  mascri_conv_ctr_metadata_in(&dst->metadata, src->metadata);
  image_in(&dst->image, src->image);
  dst->command = strv_in(src->command, src->n_command);
  dst->args = strv_in(src->args, src->n_args);
  dst->working_dir = mascri_conv_str(src->working_dir);
  for (size_t i = 0; i < src->n_envs; i++)
    mascri_kv_list_add(&dst->envs, src->envs[i]->key, src->envs[i]->value);
  mounts_in(dst, src);
  devices_in(dst, src);
  mascri_conv_kv_in(&dst->labels, (void *const *)src->labels, src->n_labels);
  mascri_conv_kv_in(&dst->annotations, (void *const *)src->annotations, src->n_annotations);
  dst->log_path = mascri_conv_str(src->log_path);
  dst->stdin_ = src->stdin;
  dst->stdin_once = src->stdin_once;
  dst->tty = src->tty;
  const Runtime__V1__LinuxContainerConfig *lx = src->linux;
  mascri_conv_ctr_resources_in(&dst->resources, lx ? lx->resources : NULL);
  security_in(&dst->security, lx ? lx->security_context : NULL);
  dst->stop_signal = signal_in(src->stop_signal);
}

int mascri_conv_ctr_legacy_config(const uint8_t *buf, size_t len, struct mascri_ctr_config *out,
                                  mascri_error_t *err)
{
  mascri_ctr_config_clear(out);
  Runtime__V1__ContainerConfig *pb = runtime__v1__container_config__unpack(NULL, len, buf);
  if (!pb)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "not a packed ContainerConfig");
  mascri_conv_ctr_config_in(out, pb);
  runtime__v1__container_config__free_unpacked(pb, NULL);
  return 0;
}

/* ---- out --------------------------------------------------------------------------- */

Runtime__V1__LinuxContainerResources *
mascri_conv_ctr_resources_out(const struct mascri_ctr_resources *src)
{
  Runtime__V1__LinuxContainerResources *r = xmalloc(sizeof(*r));
  runtime__v1__linux_container_resources__init(r);
  r->cpu_period = src->cpu_period;
  r->cpu_quota = src->cpu_quota;
  r->cpu_shares = src->cpu_shares;
  r->memory_limit_in_bytes = src->memory_limit_in_bytes;
  r->memory_swap_limit_in_bytes = src->memory_swap_limit_in_bytes;
  r->oom_score_adj = src->oom_score_adj;
  r->cpuset_cpus = dup_or_empty(src->cpuset_cpus);
  r->cpuset_mems = dup_or_empty(src->cpuset_mems);
  r->hugepage_limits = xcalloc(src->n_hugepage_limits + 1, sizeof(*r->hugepage_limits));
  for (size_t i = 0; i < src->n_hugepage_limits; i++) {
    Runtime__V1__HugepageLimit *h = xmalloc(sizeof(*h));
    runtime__v1__hugepage_limit__init(h);
    h->page_size = dup_or_empty(src->hugepage_limits[i].page_size);
    h->limit = src->hugepage_limits[i].limit;
    r->hugepage_limits[i] = h;
  }
  r->n_hugepage_limits = src->n_hugepage_limits;
  r->unified =
      mascri_conv_kv_out(&runtime__v1__linux_container_resources__unified_entry__descriptor,
                         &src->unified, &r->n_unified);
  return r;
}

Runtime__V1__Mount *mascri_conv_ctr_mount_out(const struct mascri_ctr_mount *src)
{
  Runtime__V1__Mount *m = xmalloc(sizeof(*m));
  runtime__v1__mount__init(m);
  m->container_path = dup_or_empty(src->container_path);
  m->host_path = dup_or_empty(src->host_path);
  m->readonly = src->readonly;
  m->selinux_relabel = src->selinux_relabel;
  m->propagation = (Runtime__V1__MountPropagation)src->propagation;
  m->recursive_read_only = src->recursive_read_only;
  if (src->image) {
    m->image = xmalloc(sizeof(*m->image));
    runtime__v1__image_spec__init(m->image);
    m->image->image = xstrdup(src->image);
  }
  return m;
}

Runtime__V1__Signal mascri_conv_signal_out(const char *name)
{
  const ProtobufCEnumValue *v =
      name ? protobuf_c_enum_descriptor_get_value_by_name(&runtime__v1__signal__descriptor, name)
           : NULL;
  return v ? (Runtime__V1__Signal)v->value : RUNTIME__V1__SIGNAL__RUNTIME_DEFAULT;
}
