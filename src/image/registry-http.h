/* The HTTP layer of the registry client: one GET over libcurl with TLS settings, headers
 * of interest captured, the body either buffered (bounded) or streamed to a sink; and the
 * Bearer token request. Internal to src/image. */
#ifndef MASCRI_IMAGE_REGISTRY_HTTP_H
#define MASCRI_IMAGE_REGISTRY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/auth.h"
#include "common/error.h"

/* Receives blob bytes as they arrive; returns < 0 to abort the transfer. */
typedef int (*mascri_blob_sink_fn)(void *data, const void *buf, size_t len);

struct mascri_http_share;

struct mascri_http_target {
  bool insecure;                   /* plain HTTP allowed, TLS not verified */
  const char *ca_file;             /* extra CA bundle, may be NULL */
  struct mascri_http_share *share; /* connections, DNS and TLS sessions reused; may be NULL */
  const volatile int *cancel;      /* nonzero: abort transfers (CANCELLED); may be NULL */
};

/* A cache shared by the requests of one client (thread-safe). */
struct mascri_http_share *mascri_http_share_new(void);
void mascri_http_share_free(struct mascri_http_share *s);

struct mascri_http_response {
  long code;
  char *content_type;
  char *www_authenticate;
  char *body; /* buffered body (always for non-200 answers, up to max) */
  size_t len;
  size_t cap; /* bytes allocated for body */
  size_t max;
  mascri_blob_sink_fn sink; /* when set, a 200 body goes here instead */
  void *sink_data;
  uint64_t offset;  /* > 0: ask for the body from this byte on (Range) */
  uint64_t skipped; /* bytes dropped because the server ignored the Range */
  bool delivered;   /* the sink got bytes */
  bool sink_failed;
  bool too_big;
};

void mascri_http_response_reset(struct mascri_http_response *r);
void mascri_http_response_clear(struct mascri_http_response *r);

/* Performs the GET; 0 once an HTTP answer arrived (whatever its code), -1 with UNAVAILABLE
 * on transport errors, INTERNAL when the sink aborted, RESOURCE_EXHAUSTED past max. */
int mascri_http_get(const struct mascri_http_target *t, const char *url, const char *accept,
                    const char *authorization, struct mascri_http_response *resp,
                    mascri_error_t *err);

/* Asks realm for a token (GET with Basic credentials, or POST of a refresh token). */
int mascri_http_fetch_token(const struct mascri_http_target *t, const char *realm,
                            const char *service, const char *scope,
                            const struct mascri_credentials *creds, char **token,
                            int64_t *expires_in, mascri_error_t *err);

#endif
