/* A registry client (OCI distribution / Docker Registry v2) over libcurl for one
 * repository: endpoints (mirrors in order, then the registry itself), TLS with the system
 * CAs plus per-registry CA files, plain HTTP for insecure registries and loopback, and
 * Bearer/Basic authentication with tokens cached per scope. Thread-safe: blobs may be
 * fetched from several threads at once. */
#ifndef MASCRI_IMAGE_REGISTRY_H
#define MASCRI_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/registry-http.h"

typedef struct mascri_registry_client mascri_registry_client_t;

int mascri_registry_client_new(const struct mascri_reference *ref,
                               const struct mascri_registry_auth *auth,
                               const struct mascri_registry_config *config,
                               mascri_registry_client_t **out, mascri_error_t *err);
void mascri_registry_client_free(mascri_registry_client_t *c);
/* Transfers stop (CANCELLED) once *cancel is nonzero. */
void mascri_registry_client_set_cancel(mascri_registry_client_t *c, const volatile int *cancel);

/* GET /v2/<repo>/manifests/<reference>, trying the endpoints in order; the endpoint that
 * answers is preferred for the blobs. NOT_FOUND when no endpoint has it. */
int mascri_registry_get_manifest(mascri_registry_client_t *c, const char *reference, char **buf,
                                 size_t *len, char **content_type, mascri_error_t *err);
/* A small blob (configs) into memory, at most max bytes. Not verified: callers check. */
int mascri_registry_get_blob(mascri_registry_client_t *c, const char *digest, size_t max,
                             char **buf, size_t *len, mascri_error_t *err);

/* Streams a blob, from byte offset on (an HTTP Range; bytes before it are dropped when the
 * server ignores the Range), into sink. Falls back to the next endpoint only while nothing
 * has been delivered. Transient failures are UNAVAILABLE. */
int mascri_registry_stream_blob(mascri_registry_client_t *c, const char *digest, uint64_t offset,
                                mascri_blob_sink_fn sink, void *data, bool *delivered,
                                mascri_error_t *err);

/* true for "localhost" and the IP literals 127.0.0.0/8 and ::1 (with or without a port);
 * DNS names that merely begin with "127." are not loopback. */
bool mascri_registry_host_is_loopback(const char *host);

static inline void cleanup_registry_clientp(mascri_registry_client_t **c)
{
  if (*c)
    mascri_registry_client_free(*c);
}
#define _cleanup_registry_client_ _cleanup_(cleanup_registry_clientp)

#endif
