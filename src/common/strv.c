#include "common/strv.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void mascri_strv_free(char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

size_t mascri_strv_length(char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void mascri_strv_push(char ***v, char *s)
{
  size_t n = mascri_strv_length(*v);
  *v = xrealloc(*v, (n + 2) * sizeof(char *));
  (*v)[n] = s;
  (*v)[n + 1] = NULL;
}

void mascri_strv_append(char ***v, const char *s)
{
  mascri_strv_push(v, xstrdup(s));
}

char **mascri_strv_dup(char *const *v)
{
  size_t n = mascri_strv_length(v);
  char **out = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++)
    out[i] = xstrdup(v[i]);
  return out;
}

bool mascri_strv_contains(char *const *v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp(*v, s) == 0)
      return true;
  return false;
}

char **mascri_strv_split(const char *s, char sep)
{
  char **out = xcalloc(1, sizeof(char *));
  const char *start = s;
  for (const char *p = s;; p++) {
    if (*p == sep || *p == '\0') {
      mascri_strv_push(&out, xstrndup(start, (size_t)(p - start)));
      if (*p == '\0')
        break;
      start = p + 1;
    }
  }
  return out;
}

char *mascri_strv_join(char *const *v, const char *sep)
{
  size_t seplen = strlen(sep), len = 1;
  for (char *const *p = v; p && *p; p++)
    len += strlen(*p) + seplen;
  char *out = xmalloc(len);
  char *w = out;
  for (char *const *p = v; p && *p; p++) {
    if (p != v) {
      memcpy(w, sep, seplen);
      w += seplen;
    }
    size_t l = strlen(*p);
    memcpy(w, *p, l);
    w += l;
  }
  *w = '\0';
  return out;
}
