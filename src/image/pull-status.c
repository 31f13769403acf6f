#include "image/pull-status.h"

#include <ctype.h>
#include <string.h>

#include "common/xalloc.h"
#include "image/reference.h"

/* "not found" -> "NOT_FOUND" */
static char *kind_token(mascri_error_kind_t kind)
{
  char *t = xstrdup(mascri_error_kind_name(kind));
  for (char *p = t; *p; p++)
    *p = *p == ' ' ? '_' : (char)toupper((unsigned char)*p);
  return t;
}

char *mascri_pull_status_ok(const char *image_id)
{
  return xasprintf("ok %s\n", image_id);
}

char *mascri_pull_status_error(mascri_error_t *err)
{
  _cleanup_free_ char *kind = kind_token(mascri_error_kind(err));
  const char *msg = *err ? mascri_error_message(err) : "unknown error";
  char *line = xasprintf("error %s %s\n", kind, msg[0] ? msg : "unknown error");
  for (char *p = line; p[1]; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return line;
}

static int kind_from_token(const char *tok, size_t n, mascri_error_kind_t *kind)
{
  for (int k = MASCRI_ERR_INTERNAL; k <= MASCRI_ERR_CANCELLED; k++) {
    _cleanup_free_ char *t = kind_token((mascri_error_kind_t)k);
    if (strlen(t) == n && memcmp(t, tok, n) == 0) {
      *kind = (mascri_error_kind_t)k;
      return 0;
    }
  }
  return -1;
}

static int bad_line(const char *line, mascri_error_t *err)
{
  return mascri_make_error_kind(err, MASCRI_ERR_INTERNAL, 0,
                                "mascri-image: unexpected status \"%.200s\"", line);
}

int mascri_pull_status_parse(const char *buf, size_t len, char **image_id, mascri_error_t *err)
{
  _cleanup_free_ char *line = xstrndup(buf, len);
  size_t n = strlen(line);
  if (n != len)
    return bad_line(line, err); /* a NUL inside */
  if (n && line[n - 1] == '\n')
    line[--n] = '\0';
  if (strchr(line, '\n'))
    return bad_line(line, err);
  if (strncmp(line, "ok ", 3) == 0) {
    if (!mascri_digest_valid(line + 3))
      return bad_line(line, err);
    *image_id = xstrdup(line + 3);
    return 0;
  }
  if (strncmp(line, "error ", 6) != 0)
    return bad_line(line, err);
  const char *tok = line + 6;
  size_t tn = strcspn(tok, " ");
  mascri_error_kind_t kind;
  if (tn == 0 || tok[tn] != ' ' || tok[tn + 1] == '\0' || kind_from_token(tok, tn, &kind) < 0)
    return bad_line(line, err);
  return mascri_make_error_kind(err, kind, 0, "%s", tok + tn + 1);
}
