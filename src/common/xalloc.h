/* Allocation that aborts on out-of-memory, so callers carry no NULL-check noise. */
#ifndef MASCRI_COMMON_XALLOC_H
#define MASCRI_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xmalloc0(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
