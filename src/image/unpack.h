/* Layer unpacking with libarchive (gzip, zstd or plain tar) into an empty layer directory,
 * converting OCI whiteouts to overlayfs ones (.wh.NAME -> 0:0 character device,
 * .wh..wh..opq -> trusted.overlay.opaque=y).
 *
 * Nothing is ever written outside the directory: every operation is relative to a directory
 * fd reached component by component without following symlinks, and absolute names, ".."
 * components, a bare ".wh." and hard links leaving the layer are refused. On error the
 * caller removes the directory (nothing of a refused layer is kept). */
#ifndef MASCRI_IMAGE_UNPACK_H
#define MASCRI_IMAGE_UNPACK_H

#include <stdint.h>

#include "common/error.h"

struct mascri_unpack_stats {
  /* in: limits on the uncompressed tar stream's bytes and on its entries (0: the defaults
   * of image.h); past one, RESOURCE_EXHAUSTED */
  uint64_t max_bytes, max_entries;
  uint64_t bytes;    /* regular file data written */
  uint64_t entries;  /* tar entries processed */
  uint64_t tar_size; /* uncompressed stream size */
  char *diff_id;     /* "sha256:..." of the uncompressed stream (caller frees) */
};

/* Reads a (possibly compressed) tar stream from fd to its end and unpacks it below
 * rootfd. Errors in the content are INVALID_ARGUMENT, a layer past the limits in *stats
 * (stats may be NULL: the defaults) RESOURCE_EXHAUSTED. */
int mascri_layer_unpack(int fd, int rootfd, struct mascri_unpack_stats *stats, mascri_error_t *err);

/* Splits a tar entry name into a clean relative path ("a/b/c"): strips "./" and empty
 * components; refuses absolute names and ".." (returns NULL with INVALID_ARGUMENT).
 * An empty result ("" for "./") means the layer root. */
char *mascri_unpack_clean_path(const char *name, mascri_error_t *err);

#endif
