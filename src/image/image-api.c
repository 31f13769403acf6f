/* The query and management half of image.h: lookup, list, remove, tag, prune, usage. */
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/config.h"
#include "image/reference.h"
#include "image/store-internal.h"

void mascri_image_info_free(struct mascri_image_info *i)
{
  if (!i)
    return;
  free(i->id);
  mascri_strv_free(i->repo_tags);
  mascri_strv_free(i->repo_digests);
  free(i->os);
  free(i->architecture);
  free(i->created);
  free(i->user);
  mascri_strv_free(i->env);
  mascri_strv_free(i->entrypoint);
  mascri_strv_free(i->cmd);
  free(i->working_dir);
  mascri_strv_free(i->exposed_ports);
  mascri_strv_free(i->volumes);
  mascri_strv_free(i->labels);
  free(i->stop_signal);
  mascri_strv_free(i->layers);
  free(i);
}

void mascri_image_info_list_free(struct mascri_image_info **list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    mascri_image_info_free(list[i]);
  free(list);
}

static char **empty_strv(void)
{
  return xcalloc(1, sizeof(char *));
}

/* Under lock: the record's fields plus its parsed config. */
static struct mascri_image_info *info_from_rec(mascri_image_store_t *s, const struct image_rec *r,
                                               mascri_error_t *err)
{
  _cleanup_free_ char *cfg = NULL;
  _cleanup_strv_ char **diff_ids = NULL;
  size_t len;
  if (blob_get(s, r->id, &cfg, &len, err) < 0)
    return NULL;
  struct mascri_image_info *i = xmalloc0(sizeof(*i));
  if (mascri_image_config_parse(cfg, len, i, &diff_ids, err) < 0) {
    mascri_image_info_free(i);
    return NULL;
  }
  i->id = xstrdup(r->id);
  i->repo_tags = mascri_strv_dup(r->repo_tags);
  i->repo_digests = mascri_strv_dup(r->repo_digests);
  i->layers = mascri_strv_dup(r->layers);
  i->size = r->size;
#define FILL(f)                                                                                    \
  if (!i->f)                                                                                       \
  i->f = empty_strv()
  FILL(env);
  FILL(entrypoint);
  FILL(cmd);
  FILL(exposed_ports);
  FILL(volumes);
  FILL(labels);
#undef FILL
  return i;
}

int mascri_image_lookup(mascri_image_store_t *s, const char *name, struct mascri_image_info **out,
                        mascri_error_t *err)
{
  pthread_mutex_lock(&s->lock);
  struct image_rec *r = image_find_locked(s, name, err);
  struct mascri_image_info *i = r ? info_from_rec(s, r, err) : NULL;
  pthread_mutex_unlock(&s->lock);
  if (!i)
    return -1;
  *out = i;
  return 0;
}

int mascri_image_list(mascri_image_store_t *s, struct mascri_image_info ***out, size_t *n,
                      mascri_error_t *err)
{
  pthread_mutex_lock(&s->lock);
  struct mascri_image_info **list = xcalloc(s->n_images + 1, sizeof(*list));
  size_t k = 0;
  for (size_t i = 0; i < s->n_images; i++) {
    _cleanup_error_ mascri_error_t e = NULL;
    struct mascri_image_info *info = info_from_rec(s, s->images[i], &e);
    if (info)
      list[k++] = info;
    else
      log_warning("image %s: %s", s->images[i]->id, mascri_error_message(&e));
  }
  pthread_mutex_unlock(&s->lock);
  *out = list;
  *n = k;
  return 0;
}

static bool image_in_use_locked(mascri_image_store_t *s, const char *id, mascri_error_t *err)
{
  _cleanup_strv_ char **chains = NULL, **ids = NULL;
  if (rootfs_references_locked(s, &chains, &ids, err) < 0) {
    mascri_error_release(err);
    return true; /* when in doubt, keep it */
  }
  return mascri_strv_contains(ids, id);
}

static void drop_rec_locked(mascri_image_store_t *s, struct image_rec *r)
{
  for (size_t i = 0; i < s->n_images; i++) {
    if (s->images[i] == r) {
      memmove(&s->images[i], &s->images[i + 1], (s->n_images - i - 1) * sizeof(*s->images));
      s->n_images--;
      break;
    }
  }
  image_rec_free(r);
}

static int delete_image_locked(mascri_image_store_t *s, struct image_rec *r, mascri_error_t *err)
{
  _cleanup_free_ char *name = xasprintf("images/%s.json", digest_hex(r->id));
  if (unlinkat(s->rootfd, name, 0) < 0 && errno != ENOENT)
    return mascri_make_error(err, errno, "remove %s", name);
  _cleanup_free_ char *dir = xasprintf("%s/images", s->root);
  if (mascri_fsync_dir(dir, err) < 0)
    return -1;
  drop_rec_locked(s, r);
  if (layers_gc_locked(s, NULL, err) < 0 || blobs_gc_locked(s, err) < 0)
    return mascri_error_wrap(err, "garbage collection");
  return 0;
}

/* The normalised tag when name is a tag of r, else NULL. */
static char *matching_tag(const struct image_rec *r, const char *name)
{
  struct mascri_reference ref;
  _cleanup_error_ mascri_error_t e = NULL;
  if (mascri_reference_parse(name, &ref, &e) < 0)
    return NULL;
  char *tagged = ref.digest ? NULL : mascri_reference_tagged(&ref);
  mascri_reference_clear(&ref);
  if (tagged && !mascri_strv_contains(r->repo_tags, tagged)) {
    free(tagged);
    return NULL;
  }
  return tagged;
}

static int remove_locked(mascri_image_store_t *s, const char *name, unsigned flags,
                         mascri_error_t *err)
{
  struct image_rec *r = image_find_locked(s, name, err);
  if (!r)
    return -1;
  _cleanup_free_ char *tag = matching_tag(r, name);
  if (tag && mascri_strv_length(r->repo_tags) > 1) {
    for (size_t i = 0, o = 0;; i++) {
      if (r->repo_tags[i] && strcmp(r->repo_tags[i], tag) == 0) {
        free(r->repo_tags[i]);
        continue;
      }
      r->repo_tags[o++] = r->repo_tags[i];
      if (!r->repo_tags[i])
        break;
    }
    return image_rec_save(s, r, err);
  }
  if (!(flags & MASCRI_IMAGE_REMOVE_FORCE) && image_in_use_locked(s, r->id, err))
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "image %s is in use by a container", r->id);
  return delete_image_locked(s, r, err);
}

int mascri_image_remove(mascri_image_store_t *s, const char *name, unsigned flags,
                        mascri_error_t *err)
{
  pthread_mutex_lock(&s->lock);
  int r = remove_locked(s, name, flags, err);
  pthread_mutex_unlock(&s->lock);
  return r;
}

int mascri_image_tag(mascri_image_store_t *s, const char *name, const char *new_ref,
                     mascri_error_t *err)
{
  struct mascri_reference ref;
  if (mascri_reference_parse(new_ref, &ref, err) < 0)
    return -1;
  _cleanup_free_ char *tagged = mascri_reference_tagged(&ref);
  mascri_reference_clear(&ref);
  if (!tagged)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "tag \"%s\": a tag, not a digest, is needed", new_ref);
  pthread_mutex_lock(&s->lock);
  int r = -1;
  struct image_rec *rec = image_find_locked(s, name, err);
  if (rec) {
    struct image_rec *n = xmalloc0(sizeof(*n));
    n->id = xstrdup(rec->id);
    n->repo_tags = empty_strv();
    mascri_strv_append(&n->repo_tags, tagged);
    n->repo_digests = empty_strv();
    n->layers = mascri_strv_dup(rec->layers);
    n->diff_ids = mascri_strv_dup(rec->diff_ids);
    r = image_register_locked(s, n, err);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

int mascri_image_prune(mascri_image_store_t *s, uint64_t *freed, mascri_error_t *err)
{
  uint64_t total = 0;
  int r = 0;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->n_images;) {
    struct image_rec *rec = s->images[i];
    _cleanup_error_ mascri_error_t e = NULL;
    if (rec->repo_tags[0] || image_in_use_locked(s, rec->id, &e)) {
      i++;
      continue;
    }
    _cleanup_free_ char *name = xasprintf("images/%s.json", digest_hex(rec->id));
    if (unlinkat(s->rootfd, name, 0) < 0 && errno != ENOENT) {
      r = mascri_make_error(err, errno, "remove %s", name);
      break;
    }
    drop_rec_locked(s, rec);
  }
  if (r == 0)
    r = layers_gc_locked(s, &total, err);
  if (r == 0)
    r = blobs_gc_locked(s, err);
  pthread_mutex_unlock(&s->lock);
  if (freed)
    *freed = total;
  return r;
}

/* From the sizes recorded when layers were made (no tree walk: kubelet asks often), plus
 * the containers' upper dirs are not counted (they belong to the containers). */
int mascri_image_fs_usage(mascri_image_store_t *s, struct mascri_image_fs_usage *out,
                          mascri_error_t *err)
{
  memset(out, 0, sizeof(*out));
  out->mountpoint = xasprintf("%s/layers", s->root);
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "layers", 0);
  if (!d)
    return mascri_make_error(err, errno, "open %s", out->mountpoint);
  struct dirent *de;
  while ((de = readdir(d))) {
    uint64_t inodes = 0;
    if (de->d_name[0] == '.')
      continue;
    _cleanup_free_ char *chain = xasprintf("sha256:%s", de->d_name);
    out->used_bytes += layer_size_inodes(s, chain, &inodes);
    out->inodes_used += inodes;
  }
  return 0;
}

void mascri_image_fs_usage_clear(struct mascri_image_fs_usage *u)
{
  free(u->mountpoint);
  u->mountpoint = NULL;
}
