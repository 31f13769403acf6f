/* Re-emitting a parsed yajl tree. */
#include "common/json-emit.h"

#include <string.h>

void mascri_json_gen_value(yajl_gen g, yajl_val v)
{
  if (v == NULL || YAJL_IS_NULL(v)) {
    yajl_gen_null(g);
  } else if (YAJL_IS_STRING(v)) {
    const char *s = YAJL_GET_STRING(v);
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
  } else if (YAJL_IS_NUMBER(v)) {
    /* the original text: yajl_tree keeps it for every number */
    const char *s = YAJL_GET_NUMBER(v);
    yajl_gen_number(g, s, strlen(s));
  } else if (YAJL_IS_TRUE(v)) {
    yajl_gen_bool(g, 1);
  } else if (YAJL_IS_FALSE(v)) {
    yajl_gen_bool(g, 0);
  } else if (YAJL_IS_ARRAY(v)) {
    yajl_gen_array_open(g);
    for (size_t i = 0; i < v->u.array.len; i++)
      mascri_json_gen_value(g, v->u.array.values[i]);
    yajl_gen_array_close(g);
  } else if (YAJL_IS_OBJECT(v)) {
    yajl_gen_map_open(g);
    for (size_t i = 0; i < v->u.object.len; i++) {
      const char *k = v->u.object.keys[i];
      yajl_gen_string(g, (const unsigned char *)k, strlen(k));
      mascri_json_gen_value(g, v->u.object.values[i]);
    }
    yajl_gen_map_close(g);
  }
}
