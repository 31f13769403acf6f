#include "common/json.h"

#include <string.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* The deepest nesting of arrays and objects in buf, counted without parsing (strings and
 * their escapes skipped), stopping as soon as it passes limit. yajl's tree is built and freed
 * recursively, so 300,000 '[' overflow the stack: the depth is bounded before yajl sees the
 * text. */
static size_t nesting_depth(const char *buf, size_t len, size_t limit)
{
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < len && deepest <= limit; i++) {
    char c = buf[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest)
        deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return deepest;
}

int mascri_json_parse(const char *buf, size_t len, const char *what, yajl_val *out,
                      mascri_error_t *err)
{
  if (nesting_depth(buf, len, MASCRI_JSON_MAX_DEPTH) > MASCRI_JSON_MAX_DEPTH)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "parse %s: JSON nested deeper than %d levels", what,
                                  MASCRI_JSON_MAX_DEPTH);
  char errbuf[1024] = "";
  _cleanup_free_ char *copy = xstrndup(buf, len);
  if (strlen(copy) != len)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "parse %s: JSON text contains a NUL byte", what);
  yajl_val v = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
  if (v == NULL) {
    char *nl = strchr(errbuf, '\n');
    if (nl)
      *nl = '\0';
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "parse %s: %s", what,
                                  errbuf[0] ? errbuf : "invalid JSON");
  }
  *out = v;
  return 0;
}

int mascri_json_parse_file(const char *path, yajl_val *out, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  if (mascri_read_file(path, &buf, &len, err) < 0)
    return -1;
  return mascri_json_parse(buf, len, path, out, err);
}

yajl_val mascri_json_get(yajl_val obj, const char *key)
{
  if (obj == NULL || !YAJL_IS_OBJECT(obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp(obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

yajl_val mascri_json_get_path(yajl_val obj, const char *const *path)
{
  for (; obj && *path; path++)
    obj = mascri_json_get(obj, *path);
  return obj;
}

const char *mascri_json_get_string(yajl_val obj, const char *key)
{
  yajl_val v = mascri_json_get(obj, key);
  return (v && YAJL_IS_STRING(v)) ? YAJL_GET_STRING(v) : NULL;
}

int mascri_json_get_int64(yajl_val obj, const char *key, int64_t *out)
{
  yajl_val v = mascri_json_get(obj, key);
  if (v == NULL || YAJL_IS_NULL(v))
    return 0;
  if (!YAJL_IS_INTEGER(v))
    return -1;
  *out = YAJL_GET_INTEGER(v);
  return 1;
}

int mascri_json_get_bool(yajl_val obj, const char *key, bool *out)
{
  yajl_val v = mascri_json_get(obj, key);
  if (v == NULL || YAJL_IS_NULL(v))
    return 0;
  if (YAJL_IS_TRUE(v)) {
    *out = true;
    return 1;
  }
  if (YAJL_IS_FALSE(v)) {
    *out = false;
    return 1;
  }
  return -1;
}

size_t mascri_json_array_len(yajl_val arr)
{
  return (arr && YAJL_IS_ARRAY(arr)) ? arr->u.array.len : 0;
}

yajl_val mascri_json_array_at(yajl_val arr, size_t i)
{
  return i < mascri_json_array_len(arr) ? arr->u.array.values[i] : NULL;
}

const char *mascri_json_type_name(yajl_val v)
{
  if (v == NULL || YAJL_IS_NULL(v))
    return "null";
  if (YAJL_IS_STRING(v))
    return "string";
  if (YAJL_IS_NUMBER(v))
    return "number";
  if (YAJL_IS_OBJECT(v))
    return "object";
  if (YAJL_IS_ARRAY(v))
    return "array";
  return "boolean";
}

char **mascri_json_string_array(yajl_val arr, const char *what, mascri_error_t *err)
{
  if (arr && !YAJL_IS_NULL(arr) && !YAJL_IS_ARRAY(arr)) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s: expected an array, got %s",
                           what, mascri_json_type_name(arr));
    return NULL;
  }
  size_t n = mascri_json_array_len(arr);
  _cleanup_strv_ char **out = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    yajl_val e = arr->u.array.values[i];
    if (!YAJL_IS_STRING(e)) {
      mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                             "%s[%zu]: expected a string, got %s", what, i,
                             mascri_json_type_name(e));
      return NULL;
    }
    out[i] = xstrdup(YAJL_GET_STRING(e));
  }
  return TAKE_PTR(out);
}

yajl_gen mascri_json_gen_new(bool beautify)
{
  yajl_gen g = yajl_gen_alloc(NULL);
  if (g == NULL)
    xmalloc((size_t)-1); /* aborts: out of memory */
  yajl_gen_config(g, yajl_gen_beautify, beautify ? 1 : 0);
  yajl_gen_config(g, yajl_gen_validate_utf8, 0);
  return g;
}

void mascri_json_gen_string(yajl_gen g, const char *s)
{
  if (s == NULL) {
    yajl_gen_null(g);
    return;
  }
  yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void mascri_json_gen_key(yajl_gen g, const char *key)
{
  yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

void mascri_json_gen_kv_string(yajl_gen g, const char *key, const char *value)
{
  mascri_json_gen_key(g, key);
  mascri_json_gen_string(g, value);
}

void mascri_json_gen_kv_int(yajl_gen g, const char *key, long long value)
{
  mascri_json_gen_key(g, key);
  yajl_gen_integer(g, value);
}

void mascri_json_gen_kv_uint(yajl_gen g, const char *key, unsigned long long value)
{
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%llu", value);
  mascri_json_gen_key(g, key);
  yajl_gen_number(g, buf, (size_t)n);
}

void mascri_json_gen_kv_bool(yajl_gen g, const char *key, bool value)
{
  mascri_json_gen_key(g, key);
  yajl_gen_bool(g, value);
}

void mascri_json_gen_kv_strv(yajl_gen g, const char *key, char *const *strv)
{
  mascri_json_gen_key(g, key);
  yajl_gen_array_open(g);
  for (; strv && *strv; strv++)
    mascri_json_gen_string(g, *strv);
  yajl_gen_array_close(g);
}

char *mascri_json_gen_take(yajl_gen g, size_t *len)
{
  const unsigned char *buf = NULL;
  size_t n = 0;
  yajl_gen_get_buf(g, &buf, &n);
  if (len)
    *len = n;
  return xstrndup((const char *)buf, n);
}
