/* Typed field readers for the config.json parser. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

int spec_field_error(mascri_error_t *err, const char *where, const char *key, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (key)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s%s%s: %s",
                                  where ? where : "", where && *where ? "." : "", key,
                                  msg ? msg : "invalid");
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s: %s", where,
                                msg ? msg : "invalid");
}

int spec_check_object(yajl_val v, const char *where, mascri_error_t *err)
{
  if (v == NULL || YAJL_IS_OBJECT(v))
    return 0;
  return spec_field_error(err, where, NULL, "expected an object, got %s", mascri_json_type_name(v));
}

int spec_check_array(yajl_val v, const char *where, mascri_error_t *err)
{
  if (v == NULL || YAJL_IS_ARRAY(v))
    return 0;
  return spec_field_error(err, where, NULL, "expected an array, got %s", mascri_json_type_name(v));
}

static yajl_val present(yajl_val obj, const char *key)
{
  yajl_val v = mascri_json_get(obj, key);
  if (v && YAJL_IS_NULL(v))
    return NULL;
  return v;
}

int spec_get_string(yajl_val obj, const char *where, const char *key, char **out,
                    mascri_error_t *err)
{
  yajl_val v = present(obj, key);
  if (!v)
    return 0;
  if (!YAJL_IS_STRING(v))
    return spec_field_error(err, where, key, "expected a string, got %s", mascri_json_type_name(v));
  free(*out);
  *out = xstrdup(YAJL_GET_STRING(v));
  return 1;
}

int spec_require_string(yajl_val obj, const char *where, const char *key, char **out,
                        mascri_error_t *err)
{
  int r = spec_get_string(obj, where, key, out, err);
  if (r == 0)
    return spec_field_error(err, where, key, "required but missing");
  return r;
}

int spec_get_strv(yajl_val obj, const char *where, const char *key, char ***out,
                  mascri_error_t *err)
{
  yajl_val v = present(obj, key);
  if (!v)
    return 0;
  if (!YAJL_IS_ARRAY(v))
    return spec_field_error(err, where, key, "expected an array of strings, got %s",
                            mascri_json_type_name(v));
  char **res = xcalloc(v->u.array.len + 1, sizeof(char *));
  for (size_t i = 0; i < v->u.array.len; i++) {
    yajl_val e = v->u.array.values[i];
    if (!YAJL_IS_STRING(e)) {
      mascri_strv_free(res);
      return spec_field_error(err, where, key, "element %zu: expected a string, got %s", i,
                              mascri_json_type_name(e));
    }
    res[i] = xstrdup(YAJL_GET_STRING(e));
  }
  mascri_strv_free(*out);
  *out = res;
  return 1;
}

int spec_get_bool(yajl_val obj, const char *where, const char *key, bool *out, mascri_error_t *err)
{
  yajl_val v = present(obj, key);
  if (!v)
    return 0;
  if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
    return spec_field_error(err, where, key, "expected a boolean, got %s",
                            mascri_json_type_name(v));
  *out = YAJL_IS_TRUE(v);
  return 1;
}

int spec_get_i64(yajl_val obj, const char *where, const char *key, int64_t *out,
                 mascri_error_t *err)
{
  yajl_val v = present(obj, key);
  if (!v)
    return 0;
  if (!YAJL_IS_INTEGER(v))
    return spec_field_error(err, where, key, "expected an integer, got %s",
                            YAJL_IS_NUMBER(v) ? "a non-integral or too large number"
                                              : mascri_json_type_name(v));
  *out = YAJL_GET_INTEGER(v);
  return 1;
}

int spec_get_u64(yajl_val obj, const char *where, const char *key, uint64_t *out,
                 mascri_error_t *err)
{
  return spec_get_uint(obj, where, key, UINT64_MAX, out, err);
}

int spec_get_uint(yajl_val obj, const char *where, const char *key, uint64_t max, uint64_t *out,
                  mascri_error_t *err)
{
  yajl_val v = present(obj, key);
  if (!v)
    return 0;
  if (!YAJL_IS_NUMBER(v) || v->u.number.r == NULL)
    return spec_field_error(err, where, key, "expected an unsigned integer, got %s",
                            mascri_json_type_name(v));
  const char *s = v->u.number.r;
  char *end = NULL;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  if (*s == '-' || errno != 0 || end == s || *end != '\0' || n > max)
    return spec_field_error(err, where, key,
                            "expected an unsigned integer up to %" PRIu64 ", got %s", max, s);
  *out = n;
  return 1;
}

int spec_get_string_map(yajl_val obj, const char *where, const char *key, char ***keys,
                        char ***values, mascri_error_t *err)
{
  yajl_val v = present(obj, key);
  if (!v)
    return 0;
  if (!YAJL_IS_OBJECT(v))
    return spec_field_error(err, where, key, "expected an object of strings, got %s",
                            mascri_json_type_name(v));
  size_t n = v->u.object.len;
  char **k = xcalloc(n + 1, sizeof(char *));
  char **val = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    yajl_val e = v->u.object.values[i];
    k[i] = xstrdup(v->u.object.keys[i]);
    if (!YAJL_IS_STRING(e)) {
      int r = spec_field_error(err, where, key, "%s: expected a string, got %s", k[i],
                               mascri_json_type_name(e));
      mascri_strv_free(k);
      mascri_strv_free(val);
      return r;
    }
    val[i] = xstrdup(YAJL_GET_STRING(e));
  }
  mascri_strv_free(*keys);
  mascri_strv_free(*values);
  *keys = k;
  *values = val;
  return 1;
}
