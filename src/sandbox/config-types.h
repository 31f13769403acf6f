/* Plain building blocks of the pod and container configs (pod-config.h, ctr-config.h):
 * what sandbox keeps of a CRI request, with no protobuf. cri/ converts the request into
 * these; the records store them as JSON through the gen/parse pairs below.
 *
 * Every pointer is owned by the struct holding it; absent strings are NULL, absent lists
 * empty. */
#ifndef MASCRI_SANDBOX_CONFIG_TYPES_H
#define MASCRI_SANDBOX_CONFIG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"

/* The values are CRI's NamespaceMode, so cri/ converts by cast (checked there). */
enum mascri_ns_mode {
  MASCRI_NS_MODE_POD = 0,
  MASCRI_NS_MODE_CONTAINER = 1,
  MASCRI_NS_MODE_NODE = 2,
  MASCRI_NS_MODE_TARGET = 3,
};

/* NamespaceOption. userns is NODE when the request has no userns_options. */
struct mascri_ns_options {
  enum mascri_ns_mode network, pid, ipc, userns;
  char *target_id;
};

/* The values are CRI's SecurityProfile.ProfileType. */
enum mascri_profile_type {
  MASCRI_PROFILE_RUNTIME_DEFAULT = 0,
  MASCRI_PROFILE_UNCONFINED = 1,
  MASCRI_PROFILE_LOCALHOST = 2,
};

/* SecurityProfile (seccomp, AppArmor); set is false when the request has none. */
struct mascri_security_profile {
  bool set;
  enum mascri_profile_type type;
  char *localhost_ref;
};

/* PodSandboxMetadata and ContainerMetadata (a container's has no uid or namespace). */
struct mascri_metadata {
  char *name, *uid, *namespace_;
  uint32_t attempt;
};

/* A map<string,string> in request order (labels, annotations, sysctls, unified). */
struct mascri_kv {
  char *key, *value;
};
struct mascri_kv_list {
  struct mascri_kv *v;
  size_t n;
};

void mascri_ns_options_clear(struct mascri_ns_options *o);
void mascri_security_profile_clear(struct mascri_security_profile *p);
void mascri_metadata_clear(struct mascri_metadata *m);
void mascri_kv_list_clear(struct mascri_kv_list *l);
/* Appends copies of key and value. */
void mascri_kv_list_add(struct mascri_kv_list *l, const char *key, const char *value);
/* Appends copies of src's entries to dst. */
void mascri_kv_list_copy(struct mascri_kv_list *dst, const struct mascri_kv_list *src);
/* The value of key, NULL when absent. */
const char *mascri_kv_list_get(const struct mascri_kv_list *l, const char *key);
/* A deep copy into dst (not cleared first). */
void mascri_security_profile_copy(struct mascri_security_profile *dst,
                                  const struct mascri_security_profile *src);
/* Copies that keep absence: NULL for NULL (and, for a strv, for an empty one too: the
 * configs keep an empty list as NULL). */
char *mascri_config_str_copy(const char *s);
char **mascri_config_strv_copy(char *const *v);

/* JSON: each gen writes `key` and its value into an open map; each parse reads the member
 * `key` of obj (absent: the cleared value) and fails with an error naming `key` when it has
 * the wrong shape. */
void mascri_ns_options_gen(yajl_gen g, const char *key, const struct mascri_ns_options *o);
int mascri_ns_options_parse(yajl_val obj, const char *key, struct mascri_ns_options *o,
                            mascri_error_t *err);
void mascri_security_profile_gen(yajl_gen g, const char *key,
                                 const struct mascri_security_profile *p);
int mascri_security_profile_parse(yajl_val obj, const char *key, struct mascri_security_profile *p,
                                  mascri_error_t *err);
void mascri_metadata_gen(yajl_gen g, const char *key, const struct mascri_metadata *m);
int mascri_metadata_parse(yajl_val obj, const char *key, struct mascri_metadata *m,
                          mascri_error_t *err);
void mascri_kv_list_gen(yajl_gen g, const char *key, const struct mascri_kv_list *l);
int mascri_kv_list_parse(yajl_val obj, const char *key, struct mascri_kv_list *l,
                         mascri_error_t *err);

/* Typed members for the config parsers: absent leaves *out as it is; the wrong type fails
 * naming key. A string is copied (*out freed first); an empty string array is kept as
 * NULL. */
int mascri_config_get_string(yajl_val obj, const char *key, char **out, mascri_error_t *err);
int mascri_config_get_strv(yajl_val obj, const char *key, char ***out, mascri_error_t *err);
/* An object or array member: *out NULL when absent. */
int mascri_config_get_object(yajl_val obj, const char *key, yajl_val *out, mascri_error_t *err);
int mascri_config_get_array(yajl_val obj, const char *key, yajl_val *out, mascri_error_t *err);
/* An integer member that may be absent (a protobuf Int64Value): *has tells. */
int mascri_config_get_optional_int64(yajl_val obj, const char *key, bool *has, int64_t *out,
                                     mascri_error_t *err);
/* An array of integers (supplemental groups): *out heap (NULL when empty), *n its length. */
int mascri_config_get_int64s(yajl_val obj, const char *key, int64_t **out, size_t *n,
                             mascri_error_t *err);
/* Generation that leaves absence out: a NULL string, a NULL or empty strv. */
void mascri_config_gen_string(yajl_gen g, const char *key, const char *s);
void mascri_config_gen_strv(yajl_gen g, const char *key, char *const *v);
/* An array of integers, left out when n is 0 (mascri_config_get_int64s reads it back). */
void mascri_config_gen_int64s(yajl_gen g, const char *key, const int64_t *v, size_t n);
int mascri_config_get_bool(yajl_val obj, const char *key, bool *out, mascri_error_t *err);
int mascri_config_get_int64(yajl_val obj, const char *key, int64_t *out, mascri_error_t *err);
/* An integer in [min, max]. */
int mascri_config_get_range(yajl_val obj, const char *key, int64_t min, int64_t max, int64_t *out,
                            mascri_error_t *err);

#endif
