/* Capabilities: the five sets of process.capabilities applied with libcap. */
#ifndef MASCRI_RUNTIME_CAPS_H
#define MASCRI_RUNTIME_CAPS_H

#include <stdint.h>

#include "common/error.h"
#include "runtime/spec.h"

/* Highest capability the running kernel knows (from /proc/sys/kernel/cap_last_cap). */
int mascri_caps_last_cap(void);
/* Drops from the bounding set every capability not in caps->bounding. */
int mascri_caps_drop_bounding(const mascri_spec_caps_t *caps, mascri_error_t *err);
/* Sets effective/permitted/inheritable, then raises the ambient set. Call after setuid
 * (with PR_SET_KEEPCAPS set before it). */
int mascri_caps_apply(const mascri_spec_caps_t *caps, mascri_error_t *err);
/* Mask from names ("CAP_KILL" or "kill"); unknown names are an error naming them. */
int mascri_caps_from_names(char *const *names, uint64_t *mask, mascri_error_t *err);

#endif
