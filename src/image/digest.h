/* sha256 digests in the "sha256:<hex>" form: streaming ones through OpenSSL EVP
 * (digester.c, pull and archive code only), one-shot digests of small buffers through
 * nettle's SHA-256 (digest.c, part of the store code mascrid links, which so needs no
 * OpenSSL). */
#ifndef MASCRI_IMAGE_DIGEST_H
#define MASCRI_IMAGE_DIGEST_H

#include <stddef.h>

#include "common/cleanup.h"

typedef struct mascri_digester mascri_digester_t;

mascri_digester_t *mascri_digester_new(void);
void mascri_digester_update(mascri_digester_t *d, const void *buf, size_t len);
/* "sha256:<hex>" of everything fed so far; the digester can no longer be updated. */
char *mascri_digester_finish(mascri_digester_t *d);
void mascri_digester_free(mascri_digester_t *d);
/* One-shot digest of a buffer. */
char *mascri_digest_buffer(const void *buf, size_t len);

static inline void cleanup_digesterp(mascri_digester_t **d)
{
  if (*d)
    mascri_digester_free(*d);
}
#define _cleanup_digester_ _cleanup_(cleanup_digesterp)

#endif
