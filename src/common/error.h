/* Errors are values: a fallible function returns < 0 (or NULL) and fills the
 * mascri_error_t passed last with an errno, a kind and a message with context.
 * Every function here accepts err == NULL: the error is then dropped (nothing is
 * allocated) and the return code is still -errnum, for callers that only want to know
 * whether a step failed. */
#ifndef MASCRI_COMMON_ERROR_H
#define MASCRI_COMMON_ERROR_H

#include "common/cleanup.h"

typedef enum {
  MASCRI_ERR_INTERNAL = 0,
  MASCRI_ERR_NOT_FOUND,
  MASCRI_ERR_ALREADY_EXISTS,
  MASCRI_ERR_INVALID_ARGUMENT,
  MASCRI_ERR_FAILED_PRECONDITION,
  MASCRI_ERR_DEADLINE,
  MASCRI_ERR_UNIMPLEMENTED,
  MASCRI_ERR_UNAVAILABLE,
  MASCRI_ERR_PERMISSION_DENIED,
  MASCRI_ERR_RESOURCE_EXHAUSTED,
  MASCRI_ERR_CANCELLED,
} mascri_error_kind_t;

struct mascri_error {
  int errnum;               /* errno value, 0 when none applies */
  mascri_error_kind_t kind; /* what the caller should make of it */
  char *msg;                /* full message, context first */
};
typedef struct mascri_error *mascri_error_t;

/* Sets *err (releasing any previous error) and returns -errnum, or -1 when errnum is 0.
 * When errnum is not 0, ": strerror(errnum)" is appended to the message. */
int mascri_make_error(mascri_error_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mascri_make_error_kind(mascri_error_t *err, mascri_error_kind_t kind, int errnum,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Adds context in front of the message ("ctx: old message"); returns the error's return code. */
int mascri_error_wrap(mascri_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mascri_error_release(mascri_error_t *err);
/* Moves *src into *dst (dst must be empty or is released first); dst NULL releases *src. */
void mascri_error_move(mascri_error_t *dst, mascri_error_t *src);
const char *mascri_error_message(const mascri_error_t *err);
mascri_error_kind_t mascri_error_kind(const mascri_error_t *err);
const char *mascri_error_kind_name(mascri_error_kind_t kind);
int mascri_error_retcode(const mascri_error_t *err);

#define _cleanup_error_ _cleanup_(mascri_error_release)

#endif
