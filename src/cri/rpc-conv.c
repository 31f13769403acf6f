/* The building blocks of the pod and container configs, protobuf <-> plain. */
#include <string.h>

#include "common/xalloc.h"
#include "cri/rpc-conv.h"

/* The plain enums take CRI's values so that converting is a cast. */
_Static_assert((int)MASCRI_NS_MODE_POD == RUNTIME__V1__NAMESPACE_MODE__POD, "ns mode");
_Static_assert((int)MASCRI_NS_MODE_CONTAINER == RUNTIME__V1__NAMESPACE_MODE__CONTAINER, "ns mode");
_Static_assert((int)MASCRI_NS_MODE_NODE == RUNTIME__V1__NAMESPACE_MODE__NODE, "ns mode");
_Static_assert((int)MASCRI_NS_MODE_TARGET == RUNTIME__V1__NAMESPACE_MODE__TARGET, "ns mode");
_Static_assert((int)MASCRI_PROFILE_RUNTIME_DEFAULT ==
                   RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault,
               "profile type");
_Static_assert((int)MASCRI_PROFILE_UNCONFINED ==
                   RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined,
               "profile type");
_Static_assert((int)MASCRI_PROFILE_LOCALHOST ==
                   RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost,
               "profile type");

/* Every generated map entry message has this layout. */
struct kv_entry {
  ProtobufCMessage base;
  char *key;
  char *value;
};

void mascri_conv_kv_in(struct mascri_kv_list *dst, void *const *entries, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    const struct kv_entry *e = entries[i];
    mascri_kv_list_add(dst, e->key, e->value);
  }
}

void *mascri_conv_kv_out(const ProtobufCMessageDescriptor *desc, const struct mascri_kv_list *l,
                         size_t *n_out)
{
  struct kv_entry **out = xcalloc(l->n + 1, sizeof(*out));
  for (size_t i = 0; i < l->n; i++) {
    struct kv_entry *e = xmalloc0(desc->sizeof_message);
    protobuf_c_message_init(desc, e);
    e->key = xstrdup(l->v[i].key);
    e->value = xstrdup(l->v[i].value);
    out[i] = e;
  }
  *n_out = l->n;
  return out;
}

void *mascri_conv_kv_borrow(const ProtobufCMessageDescriptor *desc, const struct mascri_kv_list *l,
                            size_t *n_out)
{
  *n_out = l->n;
  if (l->n == 0)
    return NULL;
  size_t ptrs = (l->n + 1) * sizeof(struct kv_entry *);
  char *block = xmalloc(ptrs + l->n * desc->sizeof_message);
  struct kv_entry **v = (struct kv_entry **)block;
  for (size_t i = 0; i < l->n; i++) {
    struct kv_entry *e = (struct kv_entry *)(block + ptrs + i * desc->sizeof_message);
    protobuf_c_message_init(desc, e);
    e->key = l->v[i].key;
    e->value = l->v[i].value;
    v[i] = e;
  }
  v[l->n] = NULL;
  return v;
}

bool mascri_conv_kv_match(const struct mascri_kv_list *labels, void *const *selector, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    const struct kv_entry *want = selector[i];
    const char *have = mascri_kv_list_get(labels, want->key ? want->key : "");
    if (!have || strcmp(have, want->value ? want->value : "") != 0)
      return false;
  }
  return true;
}

char *mascri_conv_str(const char *s)
{
  return s && s[0] ? xstrdup(s) : NULL;
}

char **mascri_conv_strv(char *const *v, size_t n)
{
  char **out = xcalloc(n + 1, sizeof(*out));
  for (size_t i = 0; i < n; i++)
    out[i] = xstrdup(v[i] ? v[i] : "");
  return out;
}

void mascri_conv_ns_options_in(struct mascri_ns_options *dst,
                               const Runtime__V1__NamespaceOption *src)
{
  memset(dst, 0, sizeof(*dst));
  dst->userns = MASCRI_NS_MODE_NODE;
  if (!src)
    return;
  dst->network = (enum mascri_ns_mode)src->network;
  dst->pid = (enum mascri_ns_mode)src->pid;
  dst->ipc = (enum mascri_ns_mode)src->ipc;
  dst->target_id = mascri_conv_str(src->target_id);
  if (src->userns_options)
    dst->userns = (enum mascri_ns_mode)src->userns_options->mode;
}

Runtime__V1__NamespaceOption *mascri_conv_ns_options_out(const struct mascri_ns_options *src)
{
  Runtime__V1__NamespaceOption *o = xmalloc(sizeof(*o));
  runtime__v1__namespace_option__init(o);
  o->network = (Runtime__V1__NamespaceMode)src->network;
  o->pid = (Runtime__V1__NamespaceMode)src->pid;
  o->ipc = (Runtime__V1__NamespaceMode)src->ipc;
  o->target_id = xstrdup(src->target_id ? src->target_id : "");
  if (src->userns != MASCRI_NS_MODE_NODE) {
    o->userns_options = xmalloc(sizeof(*o->userns_options));
    runtime__v1__user_namespace__init(o->userns_options);
    o->userns_options->mode = (Runtime__V1__NamespaceMode)src->userns;
  }
  return o;
}

void mascri_conv_profile_in(struct mascri_security_profile *dst,
                            const Runtime__V1__SecurityProfile *src)
{
  memset(dst, 0, sizeof(*dst));
  if (!src)
    return;
  dst->set = true;
  dst->type = (enum mascri_profile_type)src->profile_type;
  dst->localhost_ref = mascri_conv_str(src->localhost_ref);
}

void mascri_conv_pod_metadata_in(struct mascri_metadata *dst,
                                 const Runtime__V1__PodSandboxMetadata *src)
{
  memset(dst, 0, sizeof(*dst));
  if (!src)
    return;
  dst->name = mascri_conv_str(src->name);
  dst->uid = mascri_conv_str(src->uid);
  dst->namespace_ = mascri_conv_str(src->namespace_);
  dst->attempt = src->attempt;
}

void mascri_conv_ctr_metadata_in(struct mascri_metadata *dst,
                                 const Runtime__V1__ContainerMetadata *src)
{
  memset(dst, 0, sizeof(*dst));
  if (!src)
    return;
  dst->name = mascri_conv_str(src->name);
  dst->attempt = src->attempt;
}
