/* The one status line `mascri-image pull --sync-fd N` writes for mascrid (which runs its
 * pulls in that child so the daemon never maps curl, libarchive or a TLS library):
 *   "ok <image id>\n"  or  "error <KIND> <message>\n"
 * KIND is mascri_error_kind_name() upper-cased with spaces as '_' (NOT_FOUND, ...), so the
 * error comes back in mascrid with the kind (and the gRPC code) it had in the child. */
#ifndef MASCRI_IMAGE_PULL_STATUS_H
#define MASCRI_IMAGE_PULL_STATUS_H

#include <stddef.h>

#include "common/error.h"

/* The line for an image id, or for an error (its message with newlines flattened). */
char *mascri_pull_status_ok(const char *image_id);
char *mascri_pull_status_error(mascri_error_t *err);

/* Parses what the child wrote (len bytes, one line, the newline optional). 0 and *image_id
 * for "ok"; -1 with the child's error (kind and message) in err for "error"; -1 with an
 * INTERNAL error for anything else. */
int mascri_pull_status_parse(const char *buf, size_t len, char **image_id, mascri_error_t *err);

#endif
