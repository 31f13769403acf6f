/* The image library: pull images from registries, keep them in a crash-safe store under a
 * root directory, and make overlay root filesystems for containers from them.
 *
 * Every function is thread-safe on one store (the daemon calls them from its worker pool).
 * Errors come back as values with a kind: NOT_FOUND for unknown images, INVALID_ARGUMENT for
 * bad references, FAILED_PRECONDITION for an image in use, UNAVAILABLE for registries that
 * cannot be reached, PERMISSION_DENIED for refused credentials.
 *
 * On disk, under root (default /var/lib/mascri):
 *   blobs/sha256/<hex>            manifests and configs (content-addressed, verified)
 *   layers/<chainid-hex>/{diff,link,layer.json}   unpacked layers shared between images
 *   l/<short> -> ../layers/<chainid-hex>/diff     short names for overlay lowerdirs
 *   images/<id-hex>.json          one record per image (id = config digest)
 *   rootfs/<container>/{rootfs.json,upper,work,merged}   per-container overlay state
 *   tmp/                          partial downloads and unpacks, cleaned at open
 */
#ifndef MASCRI_IMAGE_IMAGE_H
#define MASCRI_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MASCRI_IMAGE_DEFAULT_ROOT "/var/lib/mascri"

typedef struct mascri_image_store mascri_image_store_t;

/* Credentials for one pull (CRI AuthConfig). Any field may be NULL. `auth` is base64
 * "user:password"; identity_token is an OAuth2 refresh token for the Bearer flow;
 * registry_token is a Bearer token used as is. */
struct mascri_registry_auth {
  const char *username;
  const char *password;
  const char *auth;
  const char *identity_token;
  const char *registry_token;
};

/* Per-registry settings, matched by host[:port] as written in references ("docker.io" for
 * Docker Hub). Mirrors are hosts (optionally "http://host:port" or "https://...") tried in
 * order before the registry itself. Without a configuration, localhost and 127.0.0.0/8 speak
 * plain HTTP (as with Docker) and everything else verified HTTPS with the system CAs plus
 * /etc/containers/certs.d/HOST/ca.crt or /etc/docker/certs.d/HOST/ca.crt. */
struct mascri_registry_host {
  const char *host;
  const char *const *mirrors; /* NULL-terminated, may be NULL */
  bool insecure;              /* HTTPS without verification, falling back to plain HTTP */
  const char *ca_file;        /* extra CA bundle (PEM) trusted for this host */
  const char *username;       /* static credentials from mascri's config */
  const char *password;
};

struct mascri_registry_config {
  const struct mascri_registry_host *hosts;
  size_t n_hosts;
  /* Docker config.json consulted for credentials ("auths"); NULL: $DOCKER_CONFIG/config.json
   * then /root/.docker/config.json. "" disables it. */
  const char *docker_config;
  /* Parallel layer downloads (0: 4). */
  unsigned max_parallel;
};

enum mascri_pull_event {
  MASCRI_PULL_RESOLVED = 0, /* manifest fetched: n_layers known */
  MASCRI_PULL_LAYER_EXISTS, /* layer already in the store */
  MASCRI_PULL_LAYER_PROGRESS,
  MASCRI_PULL_LAYER_DONE,
  MASCRI_PULL_LAYER_RETRY,
  MASCRI_PULL_DONE,
};

struct mascri_pull_progress {
  enum mascri_pull_event event;
  const char *digest; /* the layer's compressed digest (layer events) */
  uint64_t done;      /* bytes downloaded of this layer */
  uint64_t total;     /* its size from the manifest */
  unsigned n_layers;
};

/* Called from download threads: must be thread-safe and quick. */
typedef void (*mascri_pull_progress_fn)(void *data, const struct mascri_pull_progress *p);

struct mascri_pull_options {
  const struct mascri_registry_auth *auth;     /* may be NULL */
  const struct mascri_registry_config *config; /* may be NULL */
  mascri_pull_progress_fn progress;            /* may be NULL */
  void *progress_data;
  const char *platform; /* "os/arch[/variant]"; NULL: the host's */
  /* When it becomes nonzero (e.g. the CRI request's deadline passed) the pull stops with
   * CANCELLED, leaving nothing half-made; checked as data arrives and between steps. */
  const volatile int *cancel;
};

/* What CRI's ImageStatus and container creation need. Vectors are NULL-terminated and
 * never NULL (possibly empty). labels are "key=value" strings. */
struct mascri_image_info {
  char *id; /* "sha256:<hex>" of the config */
  char **repo_tags;
  char **repo_digests;
  uint64_t size; /* unpacked size of its layers in bytes */
  char *os;
  char *architecture;
  char *created;
  char *user;
  char **env;
  char **entrypoint;
  char **cmd;
  char *working_dir;
  char **exposed_ports; /* "8080/tcp" */
  char **volumes;       /* absolute, clean paths */
  char **labels;        /* "key=value" */
  char *stop_signal;
  char **layers; /* chain IDs, bottom first */
  bool pinned;   /* always false for now (no pinned images yet) */
};

struct mascri_image_fs_usage {
  char *mountpoint; /* root/layers */
  uint64_t used_bytes;
  uint64_t inodes_used;
};

/* Opens (creating if needed) the store under root; removes leftovers in tmp/, checks every
 * record (images whose layers are missing are reported and hidden, dangling links
 * repaired) and never wipes anything else. Several processes may share a root (the CLI
 * next to the daemon, mascri-image pulling for mascrid). */
int mascri_image_store_open(const char *root, mascri_image_store_t **out, mascri_error_t *err);
void mascri_image_store_close(mascri_image_store_t *store);
/* What one layer may unpack to, pulled or imported: uncompressed tar bytes and entries
 * (0: MASCRI_LAYER_DEFAULT_MAX_BYTES / _ENTRIES). A layer past either fails with
 * RESOURCE_EXHAUSTED naming it and the limit, and nothing of it is kept. */
#define MASCRI_LAYER_DEFAULT_MAX_BYTES (32ull << 30)
#define MASCRI_LAYER_DEFAULT_MAX_ENTRIES (4ull << 20)
void mascri_image_store_set_layer_limits(mascri_image_store_t *store, uint64_t max_bytes,
                                         uint64_t max_entries);
const char *mascri_image_store_root(const mascri_image_store_t *store);
/* Takes image_id's record, written by another process sharing the root (mascri-image
 * pulling for mascrid), into this store's index: lookups see it and its tags leave the
 * images that had them, as they did on disk. NOT_FOUND when it is missing or incomplete. */
int mascri_image_store_adopt(mascri_image_store_t *store, const char *image_id,
                             mascri_error_t *err);

/* Pulls ref (normalised like Docker: "busybox" is docker.io/library/busybox:latest).
 * On success *image_id is the image's id ("sha256:..."). Layers already present are reused;
 * two pulls needing the same layer at once download it once. */
int mascri_image_pull(mascri_image_store_t *store, const char *ref,
                      const struct mascri_pull_options *opts, char **image_id, mascri_error_t *err);

/* Finds an image by reference (normalised), repo digest, full id, hex id or a unique id
 * prefix (>= 3 hex chars). NOT_FOUND when none. */
int mascri_image_lookup(mascri_image_store_t *store, const char *name,
                        struct mascri_image_info **out, mascri_error_t *err);
int mascri_image_list(mascri_image_store_t *store, struct mascri_image_info ***out, size_t *n,
                      mascri_error_t *err);
void mascri_image_info_free(struct mascri_image_info *info);
void mascri_image_info_list_free(struct mascri_image_info **list, size_t n);
static inline void cleanup_image_infop(struct mascri_image_info **p)
{
  if (*p)
    mascri_image_info_free(*p);
}
#define _cleanup_image_info_ _cleanup_(cleanup_image_infop)

#define MASCRI_IMAGE_REMOVE_FORCE 1u
/* Removes a tag (when name is a tag and the image has others, only that tag goes) or the
 * whole image (by id or digest, or its last tag). Refused with FAILED_PRECONDITION while a
 * container rootfs uses it, unless FORCE (the layers stay until that container is removed).
 * Unreferenced layers are garbage-collected. */
int mascri_image_remove(mascri_image_store_t *store, const char *name, unsigned flags,
                        mascri_error_t *err);
/* Adds the tag new_ref to the image named by name (moving it from another image). */
int mascri_image_tag(mascri_image_store_t *store, const char *name, const char *new_ref,
                     mascri_error_t *err);
/* Removes images without tags and not used by containers, then unreferenced layers and
 * blobs; *freed gets the bytes reclaimed (may be NULL). */
int mascri_image_prune(mascri_image_store_t *store, uint64_t *freed, mascri_error_t *err);
int mascri_image_fs_usage(mascri_image_store_t *store, struct mascri_image_fs_usage *out,
                          mascri_error_t *err);
void mascri_image_fs_usage_clear(struct mascri_image_fs_usage *u);

/* Container root filesystems: an overlay of the image's layers with an upper and work dir
 * of the container's own. The layers stay referenced until rootfs_remove. */
int mascri_image_rootfs_create(mascri_image_store_t *store, const char *container_id,
                               const char *image, mascri_error_t *err);
/* Mounts it on target (NULL: root/rootfs/<id>/merged); *mountpoint gets the path. */
int mascri_image_rootfs_mount(mascri_image_store_t *store, const char *container_id,
                              const char *target, char **mountpoint, mascri_error_t *err);
int mascri_image_rootfs_unmount(mascri_image_store_t *store, const char *container_id,
                                mascri_error_t *err);
/* Unmounts if needed and deletes upper/work; absent is fine. */
int mascri_image_rootfs_remove(mascri_image_store_t *store, const char *container_id,
                               mascri_error_t *err);
/* The image id a container rootfs was made from (NULL and NOT_FOUND when none). */
char *mascri_image_rootfs_image(mascri_image_store_t *store, const char *container_id,
                                mascri_error_t *err);

/* Imports a `docker save` tarball (legacy or OCI-layout flavour) or an OCI image-layout
 * archive read from fd, keeping its tags; *ids gets the imported image ids. */
int mascri_image_import(mascri_image_store_t *store, int fd, char ***ids, mascri_error_t *err);
/* Writes a docker-archive (`docker load` format) of the named images to fd. */
int mascri_image_save(mascri_image_store_t *store, const char *const *names, int fd,
                      mascri_error_t *err);

#endif
