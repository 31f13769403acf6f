/* Re-emitting a parsed yajl tree through a generator. */
#ifndef MASCRI_COMMON_JSON_EMIT_H
#define MASCRI_COMMON_JSON_EMIT_H

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* Emits v (any JSON value, recursively) into g at its current position: as a value, after a
 * key in an open object, or as an array element. Numbers keep their source text, so large
 * unsigned values (seccomp masks) survive unchanged. A NULL v emits null. */
void mascri_json_gen_value(yajl_gen g, yajl_val v);

#endif
