/* The streaming half of digest.h: OpenSSL's EVP sha256 (tuned, for layers being pulled,
 * unpacked or saved). Not linked into mascrid. */
#include "image/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct mascri_digester {
  EVP_MD_CTX *ctx;
};

mascri_digester_t *mascri_digester_new(void)
{
  mascri_digester_t *d = xmalloc0(sizeof(*d));
  d->ctx = EVP_MD_CTX_new();
  if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
    abort();
  return d;
}

void mascri_digester_update(mascri_digester_t *d, const void *buf, size_t len)
{
  if (len && EVP_DigestUpdate(d->ctx, buf, len) != 1)
    abort();
}

char *mascri_digester_finish(mascri_digester_t *d)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
    abort();
  char *out = xmalloc(7 + 2 * n + 1);
  memcpy(out, "sha256:", 7);
  for (unsigned i = 0; i < n; i++)
    sprintf(out + 7 + 2 * i, "%02x", md[i]);
  return out;
}

void mascri_digester_free(mascri_digester_t *d)
{
  EVP_MD_CTX_free(d->ctx);
  free(d);
}
