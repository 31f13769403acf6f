/* Manifests: Docker schema 2 and OCI image manifests, Docker manifest lists and OCI
 * indexes (with platform selection). Schema 1 is refused with a clear error. */
#ifndef MASCRI_IMAGE_MANIFEST_H
#define MASCRI_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MEDIA_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MEDIA_ACCEPT_MANIFESTS                                                                     \
  MEDIA_OCI_MANIFEST ", " MEDIA_OCI_INDEX ", " MEDIA_DOCKER_MANIFEST ", " MEDIA_DOCKER_LIST

typedef enum {
  MASCRI_COMPRESSION_NONE = 0,
  MASCRI_COMPRESSION_GZIP,
  MASCRI_COMPRESSION_ZSTD,
} mascri_compression_t;

struct mascri_descriptor {
  char *media_type;
  char *digest;
  int64_t size;
  /* platform (index entries only) */
  char *os;
  char *architecture;
  char *variant;
};

struct mascri_manifest {
  bool is_index;
  struct mascri_descriptor config;   /* image manifests */
  struct mascri_descriptor *entries; /* layers, or the index's manifests */
  size_t n_entries;
};

/* content_type is the HTTP Content-Type (may be NULL: the mediaType field decides). */
int mascri_manifest_parse(const char *buf, size_t len, const char *content_type,
                          struct mascri_manifest *out, mascri_error_t *err);
void mascri_manifest_clear(struct mascri_manifest *m);

/* "linux/amd64", "linux/arm64/v8" for the running host. */
char *mascri_platform_host(void);
/* Picks the index entry matching platform ("os/arch[/variant]"); returns its position or
 * NOT_FOUND listing what the index offers. */
int mascri_manifest_select(const struct mascri_manifest *index, const char *platform,
                           mascri_error_t *err);
/* Compression of a layer media type; -1 and INVALID_ARGUMENT for unknown ones. */
int mascri_layer_compression(const char *media_type, mascri_compression_t *out,
                             mascri_error_t *err);

static inline void cleanup_manifestp(struct mascri_manifest *m)
{
  mascri_manifest_clear(m);
}
#define _cleanup_manifest_ _cleanup_(cleanup_manifestp)

#endif
