/* NULL-terminated string vectors. */
#ifndef MASCRI_COMMON_STRV_H
#define MASCRI_COMMON_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cleanup.h"

void mascri_strv_free(char **v);
size_t mascri_strv_length(char *const *v);
/* Appends a copy of s; *v may be NULL. */
void mascri_strv_append(char ***v, const char *s);
/* Appends s itself, taking ownership. */
void mascri_strv_push(char ***v, char *s);
char **mascri_strv_dup(char *const *v);
bool mascri_strv_contains(char *const *v, const char *s);
/* Splits s at each sep character; empty fields are kept. */
char **mascri_strv_split(const char *s, char sep);
char *mascri_strv_join(char *const *v, const char *sep);

static inline void cleanup_strvp(char ***v)
{
  mascri_strv_free(*v);
}
#define _cleanup_strv_ _cleanup_(cleanup_strvp)

#endif
