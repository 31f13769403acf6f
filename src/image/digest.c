/* The one-shot half of digest.h: small buffers (manifests, configs, chain IDs) through
 * nettle's SHA-256, so the store code mascrid links needs neither OpenSSL (about 3 MB of
 * resident pages once loaded) nor hand-written crypto. */
#include "image/digest.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

char *mascri_digest_buffer(const void *buf, size_t len)
{
  struct sha256_ctx ctx;
  uint8_t md[SHA256_DIGEST_SIZE];
  sha256_init(&ctx);
  sha256_update(&ctx, len, buf);
  sha256_digest(&ctx, sizeof(md), md);
  char *out = xmalloc(7 + 2 * SHA256_DIGEST_SIZE + 1);
  memcpy(out, "sha256:", 7);
  for (size_t i = 0; i < sizeof(md); i++)
    snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
  return out;
}
