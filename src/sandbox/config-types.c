/* The plain config building blocks: clear, copy-in and their JSON form in records. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/config-types.h"

void mascri_ns_options_clear(struct mascri_ns_options *o)
{
  free(o->target_id);
  memset(o, 0, sizeof(*o));
}

void mascri_security_profile_clear(struct mascri_security_profile *p)
{
  free(p->localhost_ref);
  memset(p, 0, sizeof(*p));
}

void mascri_metadata_clear(struct mascri_metadata *m)
{
  free(m->name);
  free(m->uid);
  free(m->namespace_);
  memset(m, 0, sizeof(*m));
}

void mascri_kv_list_clear(struct mascri_kv_list *l)
{
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].key);
    free(l->v[i].value);
  }
  free(l->v);
  memset(l, 0, sizeof(*l));
}

void mascri_kv_list_add(struct mascri_kv_list *l, const char *key, const char *value)
{
  l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
  l->v[l->n].key = xstrdup(key ? key : "");
  l->v[l->n].value = xstrdup(value ? value : "");
  l->n++;
}

void mascri_kv_list_copy(struct mascri_kv_list *dst, const struct mascri_kv_list *src)
{
  for (size_t i = 0; i < src->n; i++)
    mascri_kv_list_add(dst, src->v[i].key, src->v[i].value);
}

void mascri_security_profile_copy(struct mascri_security_profile *dst,
                                  const struct mascri_security_profile *src)
{
  *dst = *src;
  dst->localhost_ref = mascri_config_str_copy(src->localhost_ref);
}

char *mascri_config_str_copy(const char *s)
{
  return s ? xstrdup(s) : NULL;
}

char **mascri_config_strv_copy(char *const *v)
{
  return v && v[0] ? mascri_strv_dup(v) : NULL;
}

const char *mascri_kv_list_get(const struct mascri_kv_list *l, const char *key)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i].key, key) == 0)
      return l->v[i].value;
  return NULL;
}

/* ---- typed members ------------------------------------------------------------------- */

static int wrong_type(mascri_error_t *err, const char *key, const char *want, yajl_val v)
{
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s: expected %s, got %s", key,
                                want, mascri_json_type_name(v));
}

int mascri_config_get_string(yajl_val obj, const char *key, char **out, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(obj, key);
  if (!v || YAJL_IS_NULL(v))
    return 0;
  if (!YAJL_IS_STRING(v))
    return wrong_type(err, key, "a string", v);
  free(*out);
  *out = xstrdup(YAJL_GET_STRING(v));
  return 0;
}

int mascri_config_get_strv(yajl_val obj, const char *key, char ***out, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(obj, key);
  if (!v || YAJL_IS_NULL(v))
    return 0;
  char **strv = mascri_json_string_array(v, key, err);
  if (!strv)
    return -1;
  mascri_strv_free(*out);
  *out = strv;
  if (!strv[0]) {
    free(strv);
    *out = NULL;
  }
  return 0;
}

int mascri_config_get_bool(yajl_val obj, const char *key, bool *out, mascri_error_t *err)
{
  if (mascri_json_get_bool(obj, key, out) < 0)
    return wrong_type(err, key, "a boolean", mascri_json_get(obj, key));
  return 0;
}

int mascri_config_get_int64(yajl_val obj, const char *key, int64_t *out, mascri_error_t *err)
{
  if (mascri_json_get_int64(obj, key, out) < 0)
    return wrong_type(err, key, "an integer", mascri_json_get(obj, key));
  return 0;
}

int mascri_config_get_range(yajl_val obj, const char *key, int64_t min, int64_t max, int64_t *out,
                            mascri_error_t *err)
{
  int64_t v = *out;
  if (mascri_config_get_int64(obj, key, &v, err) < 0)
    return -1;
  if (v < min || v > max)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "%s: %lld is out of range [%lld, %lld]", key, (long long)v,
                                  (long long)min, (long long)max);
  *out = v;
  return 0;
}

static int get_typed(yajl_val obj, const char *key, bool array, yajl_val *out, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(obj, key);
  *out = NULL;
  if (!v || YAJL_IS_NULL(v))
    return 0;
  if (array ? !YAJL_IS_ARRAY(v) : !YAJL_IS_OBJECT(v))
    return wrong_type(err, key, array ? "an array" : "an object", v);
  *out = v;
  return 0;
}

int mascri_config_get_object(yajl_val obj, const char *key, yajl_val *out, mascri_error_t *err)
{
  return get_typed(obj, key, false, out, err);
}

int mascri_config_get_array(yajl_val obj, const char *key, yajl_val *out, mascri_error_t *err)
{
  return get_typed(obj, key, true, out, err);
}

int mascri_config_get_optional_int64(yajl_val obj, const char *key, bool *has, int64_t *out,
                                     mascri_error_t *err)
{
  if (mascri_config_get_int64(obj, key, out, err) < 0)
    return -1;
  yajl_val v = mascri_json_get(obj, key);
  *has = v && !YAJL_IS_NULL(v);
  return 0;
}

int mascri_config_get_int64s(yajl_val obj, const char *key, int64_t **out, size_t *n,
                             mascri_error_t *err)
{
  yajl_val arr;
  if (get_typed(obj, key, true, &arr, err) < 0)
    return -1;
  size_t len = mascri_json_array_len(arr);
  int64_t *v = len ? xcalloc(len, sizeof(*v)) : NULL;
  for (size_t i = 0; i < len; i++) {
    yajl_val e = mascri_json_array_at(arr, i);
    if (!YAJL_IS_INTEGER(e)) {
      free(v);
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "%s[%zu]: expected an integer, got %s", key, i,
                                    mascri_json_type_name(e));
    }
    v[i] = YAJL_GET_INTEGER(e);
  }
  free(*out);
  *out = v;
  *n = len;
  return 0;
}

void mascri_config_gen_string(yajl_gen g, const char *key, const char *s)
{
  if (s)
    mascri_json_gen_kv_string(g, key, s);
}

void mascri_config_gen_strv(yajl_gen g, const char *key, char *const *v)
{
  if (v && v[0])
    mascri_json_gen_kv_strv(g, key, v);
}

void mascri_config_gen_int64s(yajl_gen g, const char *key, const int64_t *v, size_t n)
{
  if (!n)
    return;
  mascri_json_gen_key(g, key);
  yajl_gen_array_open(g);
  for (size_t i = 0; i < n; i++)
    yajl_gen_integer(g, v[i]);
  yajl_gen_array_close(g);
}

static int get_enum(yajl_val obj, const char *key, int max, int *out, mascri_error_t *err)
{
  int64_t v = *out;
  if (mascri_config_get_range(obj, key, 0, max, &v, err) < 0)
    return -1;
  *out = (int)v;
  return 0;
}

/* ---- namespace options ------------------------------------------------------------- */

void mascri_ns_options_gen(yajl_gen g, const char *key, const struct mascri_ns_options *o)
{
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_int(g, "network", o->network);
  mascri_json_gen_kv_int(g, "pid", o->pid);
  mascri_json_gen_kv_int(g, "ipc", o->ipc);
  mascri_json_gen_kv_int(g, "userns", o->userns);
  mascri_config_gen_string(g, "targetId", o->target_id);
  yajl_gen_map_close(g);
}

int mascri_ns_options_parse(yajl_val obj, const char *key, struct mascri_ns_options *o,
                            mascri_error_t *err)
{
  mascri_ns_options_clear(o);
  o->userns = MASCRI_NS_MODE_NODE;
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  int network = 0, pid = 0, ipc = 0, userns = MASCRI_NS_MODE_NODE;
  if (get_enum(v, "network", MASCRI_NS_MODE_TARGET, &network, err) < 0 ||
      get_enum(v, "pid", MASCRI_NS_MODE_TARGET, &pid, err) < 0 ||
      get_enum(v, "ipc", MASCRI_NS_MODE_TARGET, &ipc, err) < 0 ||
      get_enum(v, "userns", MASCRI_NS_MODE_TARGET, &userns, err) < 0 ||
      mascri_config_get_string(v, "targetId", &o->target_id, err) < 0)
    return mascri_error_wrap(err, "%s", key);
  o->network = (enum mascri_ns_mode)network;
  o->pid = (enum mascri_ns_mode)pid;
  o->ipc = (enum mascri_ns_mode)ipc;
  o->userns = (enum mascri_ns_mode)userns;
  return 0;
}

/* ---- security profile -------------------------------------------------------------- */

void mascri_security_profile_gen(yajl_gen g, const char *key,
                                 const struct mascri_security_profile *p)
{
  if (!p->set)
    return;
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_int(g, "type", p->type);
  mascri_config_gen_string(g, "localhostRef", p->localhost_ref);
  yajl_gen_map_close(g);
}

int mascri_security_profile_parse(yajl_val obj, const char *key, struct mascri_security_profile *p,
                                  mascri_error_t *err)
{
  mascri_security_profile_clear(p);
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  int type = 0;
  if (get_enum(v, "type", MASCRI_PROFILE_LOCALHOST, &type, err) < 0 ||
      mascri_config_get_string(v, "localhostRef", &p->localhost_ref, err) < 0)
    return mascri_error_wrap(err, "%s", key);
  p->set = true;
  p->type = (enum mascri_profile_type)type;
  return 0;
}

/* ---- metadata ---------------------------------------------------------------------- */

void mascri_metadata_gen(yajl_gen g, const char *key, const struct mascri_metadata *m)
{
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  mascri_config_gen_string(g, "name", m->name);
  mascri_config_gen_string(g, "uid", m->uid);
  mascri_config_gen_string(g, "namespace", m->namespace_);
  mascri_json_gen_kv_uint(g, "attempt", m->attempt);
  yajl_gen_map_close(g);
}

int mascri_metadata_parse(yajl_val obj, const char *key, struct mascri_metadata *m,
                          mascri_error_t *err)
{
  mascri_metadata_clear(m);
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  int64_t attempt = 0;
  if (mascri_config_get_string(v, "name", &m->name, err) < 0 ||
      mascri_config_get_string(v, "uid", &m->uid, err) < 0 ||
      mascri_config_get_string(v, "namespace", &m->namespace_, err) < 0 ||
      mascri_config_get_range(v, "attempt", 0, UINT32_MAX, &attempt, err) < 0)
    return mascri_error_wrap(err, "%s", key);
  m->attempt = (uint32_t)attempt;
  return 0;
}

/* ---- maps -------------------------------------------------------------------------- */

void mascri_kv_list_gen(yajl_gen g, const char *key, const struct mascri_kv_list *l)
{
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  for (size_t i = 0; i < l->n; i++)
    mascri_json_gen_kv_string(g, l->v[i].key, l->v[i].value);
  yajl_gen_map_close(g);
}

int mascri_kv_list_parse(yajl_val obj, const char *key, struct mascri_kv_list *l,
                         mascri_error_t *err)
{
  mascri_kv_list_clear(l);
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  for (size_t i = 0; v && i < v->u.object.len; i++) {
    yajl_val e = v->u.object.values[i];
    if (!YAJL_IS_STRING(e)) {
      mascri_kv_list_clear(l);
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "%s.%s: expected a string, got %s", key, v->u.object.keys[i],
                                    mascri_json_type_name(e));
    }
    mascri_kv_list_add(l, v->u.object.keys[i], YAJL_GET_STRING(e));
  }
  return 0;
}
