/* JSON helpers over yajl: parse into a tree with clear errors, typed getters, and a
 * generator with key/value shorthands. */
#ifndef MASCRI_COMMON_JSON_H
#define MASCRI_COMMON_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"

static inline void cleanup_json_valp(yajl_val *v)
{
  if (*v)
    yajl_tree_free(*v);
}
static inline void cleanup_json_genp(yajl_gen *g)
{
  if (*g)
    yajl_gen_free(*g);
}
#define _cleanup_json_ _cleanup_(cleanup_json_valp)
#define _cleanup_json_gen_ _cleanup_(cleanup_json_genp)

/* Deepest nesting of arrays and objects accepted. Every JSON mascri reads (OCI specs, image
 * manifests and configs, CNI results, its own records) stays under 10 levels; 64 leaves room
 * and keeps yajl's recursive tree code far from the end of any stack. */
#define MASCRI_JSON_MAX_DEPTH 64

/* Parses len bytes (need not be NUL-terminated). what names the input in errors. Input
 * nested deeper than MASCRI_JSON_MAX_DEPTH is INVALID_ARGUMENT. */
int mascri_json_parse(const char *buf, size_t len, const char *what, yajl_val *out,
                      mascri_error_t *err);
int mascri_json_parse_file(const char *path, yajl_val *out, mascri_error_t *err);

/* Member of an object, or NULL when obj is not an object or has no such key. */
yajl_val mascri_json_get(yajl_val obj, const char *key);
/* Member by path of keys, e.g. {"config", "Env", NULL}. */
yajl_val mascri_json_get_path(yajl_val obj, const char *const *path);
/* String member or NULL when absent or not a string. */
const char *mascri_json_get_string(yajl_val obj, const char *key);
/* Integer member: 1 and *out set when present and integral, 0 when absent, -1 when of
 * another type. */
int mascri_json_get_int64(yajl_val obj, const char *key, int64_t *out);
int mascri_json_get_bool(yajl_val obj, const char *key, bool *out);
/* Number of elements of an array value (0 when not an array). */
size_t mascri_json_array_len(yajl_val arr);
yajl_val mascri_json_array_at(yajl_val arr, size_t i);
/* NULL-terminated copy of an array of strings; NULL and an error naming `what` when an
 * element is not a string. A missing array gives an empty vector. */
char **mascri_json_string_array(yajl_val arr, const char *what, mascri_error_t *err);
const char *mascri_json_type_name(yajl_val v);

yajl_gen mascri_json_gen_new(bool beautify);
void mascri_json_gen_string(yajl_gen g, const char *s);
void mascri_json_gen_kv_string(yajl_gen g, const char *key, const char *value);
void mascri_json_gen_kv_int(yajl_gen g, const char *key, long long value);
void mascri_json_gen_kv_uint(yajl_gen g, const char *key, unsigned long long value);
void mascri_json_gen_kv_bool(yajl_gen g, const char *key, bool value);
void mascri_json_gen_key(yajl_gen g, const char *key);
void mascri_json_gen_kv_strv(yajl_gen g, const char *key, char *const *strv);
/* Copies the generated text into a new NUL-terminated string. */
char *mascri_json_gen_take(yajl_gen g, size_t *len);

#endif
