#include "common/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p)
{
  if (p == NULL) {
    fputs("mascri: out of memory\n", stderr);
    abort();
  }
  return p;
}

void *xmalloc(size_t size)
{
  return check(malloc(size ? size : 1));
}

void *xmalloc0(size_t size)
{
  return check(calloc(1, size ? size : 1));
}

void *xcalloc(size_t nmemb, size_t size)
{
  return check(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *xrealloc(void *ptr, size_t size)
{
  return check(realloc(ptr, size ? size : 1));
}

char *xstrdup(const char *s)
{
  return s ? check(strdup(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
  return s ? check(strndup(s, n)) : NULL;
}

char *xasprintf(const char *fmt, ...)
{
  char *out = NULL;
  va_list ap;

  va_start(ap, fmt);
  int r = vasprintf(&out, fmt, ap);
  va_end(ap);
  if (r < 0)
    check(NULL);
  return out;
}
