#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static int retcode(int errnum)
{
  return errnum > 0 ? -errnum : -1;
}

static int make_errorv(mascri_error_t *err, mascri_error_kind_t kind, int errnum, const char *fmt,
                       va_list ap)
{
  if (err == NULL)
    return retcode(errnum);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = xstrdup("(error message lost: out of memory)");

  mascri_error_release(err);
  struct mascri_error *e = xmalloc0(sizeof(*e));
  e->errnum = errnum;
  e->kind = kind;
  e->msg = errnum ? xasprintf("%s: %s", msg, strerror(errnum)) : TAKE_PTR(msg);
  *err = e;
  return retcode(errnum);
}

int mascri_make_error(mascri_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = make_errorv(err, MASCRI_ERR_INTERNAL, errnum, fmt, ap);
  va_end(ap);
  return r;
}

int mascri_make_error_kind(mascri_error_t *err, mascri_error_kind_t kind, int errnum,
                           const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = make_errorv(err, kind, errnum, fmt, ap);
  va_end(ap);
  return r;
}

int mascri_error_wrap(mascri_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  _cleanup_free_ char *ctx = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end(ap);
  if (ctx) {
    char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
    free((*err)->msg);
    (*err)->msg = msg;
  }
  return retcode((*err)->errnum);
}

void mascri_error_release(mascri_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free((*err)->msg);
  free(*err);
  *err = NULL;
}

void mascri_error_move(mascri_error_t *dst, mascri_error_t *src)
{
  if (dst == NULL) {
    mascri_error_release(src);
    return;
  }
  mascri_error_release(dst);
  *dst = TAKE_PTR(*src);
}

const char *mascri_error_message(const mascri_error_t *err)
{
  return (err && *err) ? (*err)->msg : "unknown error";
}

mascri_error_kind_t mascri_error_kind(const mascri_error_t *err)
{
  return (err && *err) ? (*err)->kind : MASCRI_ERR_INTERNAL;
}

int mascri_error_retcode(const mascri_error_t *err)
{
  return (err && *err) ? retcode((*err)->errnum) : -1;
}

const char *mascri_error_kind_name(mascri_error_kind_t kind)
{
  static const char *const names[] = {
      [MASCRI_ERR_INTERNAL] = "internal",
      [MASCRI_ERR_NOT_FOUND] = "not found",
      [MASCRI_ERR_ALREADY_EXISTS] = "already exists",
      [MASCRI_ERR_INVALID_ARGUMENT] = "invalid argument",
      [MASCRI_ERR_FAILED_PRECONDITION] = "failed precondition",
      [MASCRI_ERR_DEADLINE] = "deadline exceeded",
      [MASCRI_ERR_UNIMPLEMENTED] = "unimplemented",
      [MASCRI_ERR_UNAVAILABLE] = "unavailable",
      [MASCRI_ERR_PERMISSION_DENIED] = "permission denied",
      [MASCRI_ERR_RESOURCE_EXHAUSTED] = "resource exhausted",
      [MASCRI_ERR_CANCELLED] = "cancelled",
  };
  if ((unsigned)kind >= ARRAY_SIZE(names) || names[kind] == NULL)
    return "internal";
  return names[kind];
}
