/* Writes an unpacked layer directory back as a tar stream (overlay whiteouts turned into
 * OCI ones: a 0:0 character device becomes .wh.NAME, an opaque directory gets
 * .wh..wh..opq), hashing what it writes. */
#ifndef MASCRI_IMAGE_LAYER_TAR_H
#define MASCRI_IMAGE_LAYER_TAR_H

#include <stdint.h>

#include "common/error.h"

/* Writes the tar of the directory dirfd to out_fd; *diff_id gets its sha256 and *size its
 * length. */
int mascri_layer_tar(int dirfd, int out_fd, char **diff_id, uint64_t *size, mascri_error_t *err);

#endif
