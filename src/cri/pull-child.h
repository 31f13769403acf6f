/* PullImage out of process: mascrid runs `mascri-image pull --sync-fd 3` (next to it, as
 * installed and in the build tree) so that libcurl, libarchive and the TLS and crypto
 * libraries are never mapped in the daemon. The store is shared on disk (image.h allows
 * several processes on one root); the child's one status line (image/pull-status.h) gives
 * back the image id or the error with its kind. Credentials go on the child's stdin (a
 * memfd holding JSON), never in its argv or environment. */
#ifndef MASCRI_CRI_PULL_CHILD_H
#define MASCRI_CRI_PULL_CHILD_H

#include <stdint.h>

#include "common/error.h"
#include "image/image.h"

struct mascri_pull_child_config {
  const char *exe;             /* mascri-image */
  const char *root;            /* the image store's root */
  const char *registry_config; /* mascri's registries file, NULL: the default (optional) */
  uint64_t max_layer_bytes;    /* --max-layer-size, 0: mascri-image's default */
  uint64_t max_layer_entries;  /* --max-layer-entries, 0: mascri-image's default */
};

/* Pulls ref in a child and waits for it. auth NULL: none given (CRI AuthConfig absent).
 * When *cancel becomes nonzero the child gets SIGTERM (it stops cleanly and reports
 * CANCELLED), SIGKILL for its process group if it is still there 10 s later. *image_id
 * is "sha256:..."; the caller adopts it into its store (mascri_image_store_adopt). */
int mascri_pull_child_run(const struct mascri_pull_child_config *cfg, const char *ref,
                          const struct mascri_registry_auth *auth, const volatile int *cancel,
                          char **image_id, mascri_error_t *err);

/* The argv the child gets (for tests: credentials are not in it). NULL-terminated. */
char **mascri_pull_child_argv(const struct mascri_pull_child_config *cfg, const char *ref,
                              bool with_auth);

#endif
