/* OCI hooks: run with the container state JSON on stdin, with timeouts. */
#ifndef MASCRI_RUNTIME_HOOKS_H
#define MASCRI_RUNTIME_HOOKS_H

#include "common/error.h"
#include "runtime/spec.h"

/* Runs the hooks in order; the first failing one (non-zero exit, signal, timeout) stops
 * the list and is returned as the error. */
int mascri_hooks_run(const mascri_spec_hook_list_t *list, const char *kind, const char *state_json,
                     mascri_error_t *err);

#endif
