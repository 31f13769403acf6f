/* The image store's internal state, shared by the files of src/image that implement
 * image.h (store, layer-store, image-store, pull, rootfs, archive import/save). */
#ifndef MASCRI_IMAGE_STORE_INTERNAL_H
#define MASCRI_IMAGE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "image/image.h"

/* One image record (images/<hex>.json). */
struct image_rec {
  char *id; /* sha256:<hex> of the config */
  char **repo_tags;
  char **repo_digests;
  char **layers; /* chain IDs */
  char **diff_ids;
  uint64_t size;
  char *manifest_digest;
  int64_t updated; /* ns since the epoch: decides between records that share a tag */
};

/* A chain ID some in-flight operation holds: being unpacked (busy) or merely needed
 * (a lease that keeps GC away until the image record is written). */
struct layer_hold {
  char *chain_id;
  unsigned leases;
  bool busy;
  struct layer_hold *next;
};

struct mascri_image_store {
  char *root;
  int rootfd;
  pthread_mutex_t lock; /* guards everything below and the records on disk */
  pthread_cond_t cond;  /* signalled when a busy layer finishes */
  struct image_rec **images;
  size_t n_images;
  struct layer_hold *holds;
  bool gc_pending;                             /* a GC was skipped because the store was busy */
  uint64_t layer_max_bytes, layer_max_entries; /* see mascri_image_store_set_layer_limits */
  /* Lazily probed kernel feature (overlay.c): overlayfs takes "lowerdir+" (Linux 6.8);
   * 0 not probed yet, 1 yes, -1 no. */
  int ovl_lowerdir_plus;
};

/* --- store.c --- */
/* flock on root/lock through a new open file (so threads exclude each other too): adding
 * operations hold LOCK_SH, garbage collection tries LOCK_EX|LOCK_NB and skips when busy.
 * Returns the fd to close, or -1. Take it before s->lock, never while holding it blocking. */
int store_lock(mascri_image_store_t *s, int op);
/* Runs the garbage collection that was skipped while the store was busy (call with no lock
 * held, after an adding operation released its store lock). */
void store_gc_if_pending(mascri_image_store_t *s);

/* --- layer-store.c --- */
/* "<hex>" of a "sha256:<hex>" digest. */
const char *digest_hex(const char *digest);
/* Under lock. */
bool layer_exists_locked(mascri_image_store_t *s, const char *chain_id);
/* Takes (or drops) leases on chain IDs so GC leaves them alone. Takes the lock. */
void layers_lease(mascri_image_store_t *s, char *const *chain_ids);
void layers_release(mascri_image_store_t *s, char *const *chain_ids);
/* Claims a layer for unpacking: 1 when the caller must create it (then layer_end), 0 when it
 * already exists (waits while another thread is making it). */
int layer_begin(mascri_image_store_t *s, const char *chain_id);
void layer_end(mascri_image_store_t *s, const char *chain_id);
/* Makes a temporary layer directory under tmp/; *diff_fd is its diff/ dir. */
int layer_tmp_create(mascri_image_store_t *s, char **tmpname, int *diff_fd, mascri_error_t *err);
/* Syncs the data, writes layer.json and the short link, renames it into layers/. */
int layer_commit(mascri_image_store_t *s, const char *tmpname, int diff_fd, const char *chain_id,
                 const char *diff_id, uint64_t size, uint64_t inodes, mascri_error_t *err);
void layer_tmp_discard(mascri_image_store_t *s, const char *tmpname);
/* Size recorded in layer.json (0 when unknown); inodes (entries) when not NULL. */
uint64_t layer_size(mascri_image_store_t *s, const char *chain_id);
uint64_t layer_size_inodes(mascri_image_store_t *s, const char *chain_id, uint64_t *inodes);
/* "l/<short>" path (relative to the store root) of a layer's diff dir. */
char *layer_lower_path(mascri_image_store_t *s, const char *chain_id, mascri_error_t *err);
/* Removes layers no image record, rootfs record or hold references; under lock. */
int layers_gc_locked(mascri_image_store_t *s, uint64_t *freed, mascri_error_t *err);
/* Removes incomplete layer dirs (no layer.json) and dangling l/ links, restores missing
 * links; at open. */
int layers_check(mascri_image_store_t *s, mascri_error_t *err);

/* --- blob-store.c --- */
/* Verifies buf against digest and stores it (a no-op when present). Takes the lock. */
int blob_put(mascri_image_store_t *s, const char *digest, const void *buf, size_t len,
             mascri_error_t *err);
int blob_get(mascri_image_store_t *s, const char *digest, char **buf, size_t *len,
             mascri_error_t *err);
bool blob_exists(mascri_image_store_t *s, const char *digest);
/* Removes blobs no image record references; under lock. */
int blobs_gc_locked(mascri_image_store_t *s, mascri_error_t *err);

/* --- image-store.c --- */
void image_rec_free(struct image_rec *r);
int images_load(mascri_image_store_t *s, mascri_error_t *err);
int image_rec_save(mascri_image_store_t *s, struct image_rec *r, mascri_error_t *err);
/* Finds a record by any name (see mascri_image_lookup); under lock. NULL + NOT_FOUND. */
struct image_rec *image_find_locked(mascri_image_store_t *s, const char *name, mascri_error_t *err);
/* Chain IDs and blob digests referenced by the records on disk (those of other processes
 * sharing the store included); under lock. */
void image_refs_on_disk(mascri_image_store_t *s, char ***chains, char ***blobs);
/* Adds (or merges into) a record and moves the given tags to it; under lock. */
int image_register_locked(mascri_image_store_t *s, struct image_rec *rec, mascri_error_t *err);

/* --- rootfs.c --- */
/* Chain IDs and image ids used by container rootfs records; under lock. */
int rootfs_references_locked(mascri_image_store_t *s, char ***chain_ids, char ***image_ids,
                             mascri_error_t *err);

/* --- overlay.c --- */
/* Whether overlayfs takes fsconfig "lowerdir+" (Linux 6.8): probed once per store on a
 * throwaway overlay under tmp/, then cached. Takes the lock. */
bool overlay_lowerdir_plus(mascri_image_store_t *s);
/* Mounts an overlay on target (absolute); lowers (topmost first), upper and work are relative
 * to the store root. Uses "lowerdir+" where the kernel has it, else mount(2) options. */
int overlay_mount(mascri_image_store_t *s, const char *target, char *const *lowers,
                  const char *upper, const char *work, mascri_error_t *err);
/* The legacy mount(2) option string, or NULL and a RESOURCE_EXHAUSTED error naming the layer
 * count and the limit when it is longer than limit bytes. */
char *overlay_legacy_options(char *const *lowers, const char *upper, const char *work, size_t limit,
                             mascri_error_t *err);
/* How many bytes of options the legacy mount(2) takes (a page less the kernel's margin). */
size_t overlay_legacy_limit(void);

#endif
