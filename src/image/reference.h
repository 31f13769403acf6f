/* Image references: the Docker/OCI grammar (domain/path:tag@digest) with Docker's
 * normalisation ("busybox" -> "docker.io/library/busybox:latest"). */
#ifndef MASCRI_IMAGE_REFERENCE_H
#define MASCRI_IMAGE_REFERENCE_H

#include <stdbool.h>

#include "common/error.h"

struct mascri_reference {
  char *domain; /* "docker.io", "127.0.0.1:5000" */
  char *path;   /* "library/busybox" */
  char *tag;    /* NULL when only a digest was given */
  char *digest; /* "sha256:<hex>" or NULL */
};

/* Parses and normalises s; a reference without tag or digest gets "latest".
 * Errors are INVALID_ARGUMENT with the reason. */
int mascri_reference_parse(const char *s, struct mascri_reference *ref, mascri_error_t *err);
void mascri_reference_clear(struct mascri_reference *ref);
/* "domain/path" */
char *mascri_reference_name(const struct mascri_reference *ref);
/* "domain/path:tag", or "domain/path@digest" when there is no tag. */
char *mascri_reference_string(const struct mascri_reference *ref);
/* "domain/path:tag" or NULL when there is no tag. */
char *mascri_reference_tagged(const struct mascri_reference *ref);
/* "domain/path@digest" for a given digest. */
char *mascri_reference_with_digest(const struct mascri_reference *ref, const char *digest);
/* The host to talk to for the domain ("docker.io" -> "registry-1.docker.io"). */
const char *mascri_reference_api_host(const struct mascri_reference *ref);
/* Checks "sha256:<64 lowercase hex>" (other algorithms are refused). */
bool mascri_digest_valid(const char *digest);

static inline void cleanup_referencep(struct mascri_reference *r)
{
  mascri_reference_clear(r);
}
#define _cleanup_reference_ _cleanup_(cleanup_referencep)

#endif
