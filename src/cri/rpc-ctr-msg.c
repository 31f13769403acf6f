/* Heap messages of the container RPCs from container snapshots (rpc.h's heap rule). */
#include "cri/rpc-ctr-msg.h"

#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "cri/rpc-conv.h"
#include "cri/rpc-ctr-conv.h"
#include "cri/rpc-packed.h"
#include "cri/rpc-pod-msg.h"

static char *dup_or_empty(const char *s)
{
  return xstrdup(s ? s : "");
}

Runtime__V1__ContainerMetadata *mascri_ctr_metadata_msg(const struct mascri_ctr_info *in)
{
  Runtime__V1__ContainerMetadata *m = xmalloc(sizeof(*m));
  runtime__v1__container_metadata__init(m);
  m->name = dup_or_empty(in->name);
  m->attempt = in->attempt;
  return m;
}

static Runtime__V1__ImageSpec *image_spec(const struct mascri_ctr_info *in)
{
  Runtime__V1__ImageSpec *s = xmalloc(sizeof(*s));
  runtime__v1__image_spec__init(s);
  const struct mascri_ctr_image *c = in->config ? &in->config->image : NULL;
  s->image = dup_or_empty(in->image_ref);
  s->user_specified_image =
      dup_or_empty(c && c->user_specified_image ? c->user_specified_image : in->image_ref);
  if (c && c->runtime_handler)
    s->runtime_handler = xstrdup(c->runtime_handler);
  if (c)
    s->annotations = mascri_conv_kv_out(&runtime__v1__image_spec__annotations_entry__descriptor,
                                        &c->annotations, &s->n_annotations);
  return s;
}

#define COPY_CFG_MAP(dst, field, desc, in)                                                         \
  do {                                                                                             \
    if ((in)->config)                                                                              \
      (dst)->field = mascri_conv_kv_out(&desc, &(in)->config->field, &(dst)->n_##field);           \
  } while (0)

void mascri_ctr_list_item_add(struct mascri_packed_list *l, const struct mascri_ctr_info *in,
                              const char *image_ref)
{
  const struct mascri_ctr_config *cfg = in->config;
  const struct mascri_ctr_image *c = cfg ? &cfg->image : NULL;
  Runtime__V1__ContainerMetadata m;
  runtime__v1__container_metadata__init(&m);
  m.name = in->name;
  m.attempt = in->attempt;
  Runtime__V1__ImageSpec img; /* as image_spec() builds it */
  runtime__v1__image_spec__init(&img);
  img.image = in->image_ref;
  img.user_specified_image = c && c->user_specified_image ? c->user_specified_image : in->image_ref;
  _cleanup_free_ void *img_annotations = NULL, *labels = NULL, *annotations = NULL;
  if (c) {
    if (c->runtime_handler)
      img.runtime_handler = c->runtime_handler;
    img.annotations = img_annotations =
        mascri_conv_kv_borrow(&runtime__v1__image_spec__annotations_entry__descriptor,
                              &c->annotations, &img.n_annotations);
  }
  Runtime__V1__Container v;
  runtime__v1__container__init(&v);
  v.id = in->id;
  v.pod_sandbox_id = in->pod_id;
  v.metadata = &m;
  v.image = &img;
  v.image_ref = (char *)(image_ref ? image_ref : in->image_id);
  v.image_id = in->image_id;
  v.state = (Runtime__V1__ContainerState)in->state;
  v.created_at = in->created_at;
  if (cfg) {
    v.labels = labels = mascri_conv_kv_borrow(&runtime__v1__container__labels_entry__descriptor,
                                              &cfg->labels, &v.n_labels);
    v.annotations = annotations =
        mascri_conv_kv_borrow(&runtime__v1__container__annotations_entry__descriptor,
                              &cfg->annotations, &v.n_annotations);
  }
  mascri_packed_list_add(l, &v.base);
}

Runtime__V1__ContainerAttributes *mascri_ctr_attributes_msg(const struct mascri_ctr_info *in)
{
  Runtime__V1__ContainerAttributes *a = xmalloc(sizeof(*a));
  runtime__v1__container_attributes__init(a);
  a->id = xstrdup(in->id);
  a->metadata = mascri_ctr_metadata_msg(in);
  COPY_CFG_MAP(a, labels, runtime__v1__container_attributes__labels_entry__descriptor, in);
  COPY_CFG_MAP(a, annotations, runtime__v1__container_attributes__annotations_entry__descriptor,
               in);
  return a;
}

static Runtime__V1__Mount **mounts_copy(const struct mascri_ctr_config *cfg, size_t *n)
{
  *n = cfg ? cfg->n_mounts : 0;
  Runtime__V1__Mount **v = xcalloc(*n + 1, sizeof(*v));
  for (size_t i = 0; i < *n; i++)
    v[i] = mascri_conv_ctr_mount_out(&cfg->mounts[i]);
  return v;
}

static Runtime__V1__ContainerResources *resources(const struct mascri_ctr_info *in)
{
  if (!in->config || !in->config->resources.set)
    return NULL;
  Runtime__V1__ContainerResources *r = xmalloc(sizeof(*r));
  runtime__v1__container_resources__init(r);
  r->linux = mascri_conv_ctr_resources_out(&in->config->resources);
  return r;
}

Runtime__V1__ContainerStatus *mascri_ctr_status_msg(const struct mascri_ctr_info *in,
                                                    const char *image_ref)
{
  Runtime__V1__ContainerStatus *s = xmalloc(sizeof(*s));
  runtime__v1__container_status__init(s);
  s->id = xstrdup(in->id);
  s->metadata = mascri_ctr_metadata_msg(in);
  s->state = (Runtime__V1__ContainerState)in->state;
  s->created_at = in->created_at;
  s->started_at = in->started_at;
  s->finished_at = in->finished_at;
  s->exit_code = in->exit_code;
  s->image = image_spec(in);
  s->image_ref = dup_or_empty(image_ref ? image_ref : in->image_id);
  s->image_id = dup_or_empty(in->image_id);
  s->reason = dup_or_empty(in->reason);
  s->message = dup_or_empty(in->message);
  COPY_CFG_MAP(s, labels, runtime__v1__container_status__labels_entry__descriptor, in);
  COPY_CFG_MAP(s, annotations, runtime__v1__container_status__annotations_entry__descriptor, in);
  s->mounts = mounts_copy(in->config, &s->n_mounts);
  s->log_path = dup_or_empty(in->log_path);
  s->resources = resources(in);
  if (in->config)
    s->stop_signal = mascri_conv_signal_out(in->config->stop_signal);
  return s;
}

char *mascri_ctr_verbose_info(const struct mascri_ctr_info *in, const char *bundle_dir)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "sandboxID", in->pod_id);
  mascri_json_gen_kv_int(g, "pid", in->init_pid);
  mascri_json_gen_kv_int(g, "monitorPid", in->monitor_pid);
  mascri_json_gen_kv_string(g, "name", in->full_name);
  if (in->log_path)
    mascri_json_gen_kv_string(g, "logPath", in->log_path);
  mascri_json_gen_kv_string(g, "bundle", bundle_dir);
  yajl_gen_map_close(g);
  size_t len = 0;
  char *head = mascri_json_gen_take(g, &len);
  /* Append the OCI spec as an object ("runtimeSpec"), as crictl inspect shows it. */
  _cleanup_free_ char *spec_path = mascri_path_join(bundle_dir, "config.json");
  _cleanup_free_ char *spec = NULL;
  size_t spec_len = 0;
  _cleanup_error_ mascri_error_t err = NULL;
  if (len < 2 || mascri_read_file(spec_path, &spec, &spec_len, &err) < 0)
    return head;
  head[len - 1] = '\0'; /* drop the closing brace */
  char *out = xasprintf("%s,\"runtimeSpec\":%s}", head, spec);
  free(head);
  return out;
}

static Runtime__V1__UInt64Value *u64(uint64_t v)
{
  Runtime__V1__UInt64Value *x = xmalloc(sizeof(*x));
  runtime__v1__uint64_value__init(x);
  x->value = v;
  return x;
}

void mascri_ctr_stats_msg_set_cgroup(Runtime__V1__ContainerStats *s,
                                     const struct mascri_ctr_usage *u, int64_t now)
{
  if (u->has_cgroup) {
    s->cpu = xmalloc(sizeof(*s->cpu));
    runtime__v1__cpu_usage__init(s->cpu);
    s->cpu->timestamp = now;
    s->cpu->usage_core_nano_seconds = u64(u->cg.cpu_usage_ns);
    s->memory = xmalloc(sizeof(*s->memory));
    runtime__v1__memory_usage__init(s->memory);
    s->memory->timestamp = now;
    s->memory->working_set_bytes = u64(u->cg.memory_working_set);
    s->memory->usage_bytes = u64(u->cg.memory_usage);
    s->memory->rss_bytes = u64(u->cg.memory_rss);
    if (u->cg.memory_limit)
      s->memory->available_bytes = u64(u->cg.memory_limit > u->cg.memory_working_set
                                           ? u->cg.memory_limit - u->cg.memory_working_set
                                           : 0);
  }
}

Runtime__V1__ContainerStats *mascri_ctr_stats_msg(const struct mascri_ctr_info *in,
                                                  const struct mascri_ctr_usage *u, int64_t now)
{
  Runtime__V1__ContainerStats *s = xmalloc(sizeof(*s));
  runtime__v1__container_stats__init(s);
  s->attributes = mascri_ctr_attributes_msg(in);
  mascri_ctr_stats_msg_set_cgroup(s, u, now);
  s->writable_layer = xmalloc(sizeof(*s->writable_layer));
  runtime__v1__filesystem_usage__init(s->writable_layer);
  s->writable_layer->timestamp = now;
  s->writable_layer->fs_id = xmalloc(sizeof(*s->writable_layer->fs_id));
  runtime__v1__filesystem_identifier__init(s->writable_layer->fs_id);
  s->writable_layer->fs_id->mountpoint = dup_or_empty(u->rw_mountpoint);
  s->writable_layer->used_bytes = u64(u->rw_bytes);
  s->writable_layer->inodes_used = u64(u->rw_inodes);
  return s;
}
