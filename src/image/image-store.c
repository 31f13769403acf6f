/* Image records (images/<hex>.json): loading, saving, names, lookup, tag moves. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/reference.h"
#include "image/store-internal.h"

void image_rec_free(struct image_rec *r)
{
  if (!r)
    return;
  free(r->id);
  mascri_strv_free(r->repo_tags);
  mascri_strv_free(r->repo_digests);
  mascri_strv_free(r->layers);
  mascri_strv_free(r->diff_ids);
  free(r->manifest_digest);
  free(r);
}

static char *rec_json(const struct image_rec *r, size_t *len)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "id", r->id);
  mascri_json_gen_kv_strv(g, "repo_tags", r->repo_tags);
  mascri_json_gen_kv_strv(g, "repo_digests", r->repo_digests);
  mascri_json_gen_kv_strv(g, "layers", r->layers);
  mascri_json_gen_kv_strv(g, "diff_ids", r->diff_ids);
  mascri_json_gen_kv_uint(g, "size", r->size);
  if (r->manifest_digest)
    mascri_json_gen_kv_string(g, "manifest", r->manifest_digest);
  mascri_json_gen_kv_int(g, "updated", r->updated);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, len);
}

int image_rec_save(mascri_image_store_t *s, struct image_rec *r, mascri_error_t *err)
{
  size_t len;
  r->updated = mascri_clock_realtime_ns();
  _cleanup_free_ char *json = rec_json(r, &len);
  _cleanup_free_ char *name = xasprintf("%s.json", digest_hex(r->id));
  _cleanup_close_ int dfd = openat(s->rootfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return mascri_make_error(err, errno, "open images");
  return mascri_write_file_atomic_at(dfd, name, json, len, 0644, err);
}

static struct image_rec *rec_parse(const char *buf, size_t len, const char *what,
                                   mascri_error_t *err)
{
  _cleanup_json_ yajl_val v = NULL;
  if (mascri_json_parse(buf, len, what, &v, err) < 0)
    return NULL;
  struct image_rec *r = xmalloc0(sizeof(*r));
  const char *id = mascri_json_get_string(v, "id");
  const char *m = mascri_json_get_string(v, "manifest");
  int64_t size = 0;
  r->id = xstrdup(id ? id : "");
  r->manifest_digest = m ? xstrdup(m) : NULL;
  mascri_json_get_int64(v, "size", &size);
  mascri_json_get_int64(v, "updated", &r->updated);
  r->size = size > 0 ? (uint64_t)size : 0;
  if (!(r->repo_tags =
            mascri_json_string_array(mascri_json_get(v, "repo_tags"), "repo_tags", err)) ||
      !(r->repo_digests =
            mascri_json_string_array(mascri_json_get(v, "repo_digests"), "repo_digests", err)) ||
      !(r->layers = mascri_json_string_array(mascri_json_get(v, "layers"), "layers", err)) ||
      !(r->diff_ids = mascri_json_string_array(mascri_json_get(v, "diff_ids"), "diff_ids", err)) ||
      !mascri_digest_valid(r->id)) {
    if (!*err)
      mascri_make_error(err, 0, "%s: bad image id", what);
    image_rec_free(r);
    return NULL;
  }
  return r;
}

/* A record is usable when its config blob and all its layers exist. */
static bool rec_complete(mascri_image_store_t *s, const struct image_rec *r)
{
  if (!blob_exists(s, r->id)) {
    log_warning("store check: image %s: config blob missing; image hidden", r->id);
    return false;
  }
  for (char **l = r->layers; *l; l++) {
    if (!layer_exists_locked(s, *l)) {
      log_warning("store check: image %s: layer %s missing; image hidden (pull it again)", r->id,
                  *l);
      return false;
    }
  }
  return true;
}

static void remove_str(char **v, const char *s)
{
  size_t o = 0;
  for (size_t i = 0; v[i]; i++) {
    if (strcmp(v[i], s) == 0)
      free(v[i]);
    else
      v[o++] = v[i];
  }
  v[o] = NULL;
}

/* Two records naming the same tag (a crash during a tag move): the newer one keeps it. */
static void fix_duplicate_tags(mascri_image_store_t *s)
{
  for (size_t i = 0; i < s->n_images; i++) {
    for (size_t j = i + 1; j < s->n_images; j++) {
      struct image_rec *a = s->images[i], *b = s->images[j];
      for (size_t t = 0; a->repo_tags[t]; t++) {
        if (!mascri_strv_contains(b->repo_tags, a->repo_tags[t]))
          continue;
        struct image_rec *older = a->updated < b->updated ? a : b;
        _cleanup_free_ char *tag = xstrdup(a->repo_tags[t]);
        _cleanup_error_ mascri_error_t err = NULL;
        log_warning("store check: tag %s on two images; keeping it on the newer", tag);
        remove_str(older->repo_tags, tag);
        if (image_rec_save(s, older, &err) < 0)
          log_warning("store check: %s", mascri_error_message(&err));
        t = (size_t)-1; /* restart: a's tags changed */
        if (older == a)
          break;
      }
    }
  }
}

int images_load(mascri_image_store_t *s, mascri_error_t *err)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "images", 0);
  if (!d)
    return mascri_make_error(err, errno, "open images");
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
      continue;
    _cleanup_free_ char *buf = NULL;
    _cleanup_error_ mascri_error_t e = NULL;
    size_t len;
    struct image_rec *r = NULL;
    if (mascri_read_file_at(dirfd(d), de->d_name, &buf, &len, &e) == 0)
      r = rec_parse(buf, len, de->d_name, &e);
    if (!r) {
      log_warning("store check: skipping image record %s: %s", de->d_name,
                  mascri_error_message(&e));
      continue;
    }
    if (!rec_complete(s, r)) {
      image_rec_free(r);
      continue;
    }
    s->images = xrealloc(s->images, (s->n_images + 1) * sizeof(*s->images));
    s->images[s->n_images++] = r;
  }
  fix_duplicate_tags(s);
  return 0;
}

static bool is_hex(const char *s)
{
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static struct image_rec *find_by_id_prefix(mascri_image_store_t *s, const char *name)
{
  const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
  size_t n = strlen(hex);
  struct image_rec *found = NULL;
  if (n < 3 || !is_hex(hex))
    return NULL;
  for (size_t i = 0; i < s->n_images; i++) {
    if (strncmp(digest_hex(s->images[i]->id), hex, n) == 0) {
      if (found && n < 64)
        return NULL; /* ambiguous */
      found = s->images[i];
    }
  }
  return found;
}

struct image_rec *image_find_locked(mascri_image_store_t *s, const char *name, mascri_error_t *err)
{
  struct image_rec *r = find_by_id_prefix(s, name);
  if (r && (strlen(name) >= 64 || strncmp(name, "sha256:", 7) == 0))
    return r;
  struct mascri_reference ref;
  _cleanup_error_ mascri_error_t perr = NULL;
  if (mascri_reference_parse(name, &ref, &perr) == 0) {
    _cleanup_free_ char *tagged = mascri_reference_tagged(&ref);
    _cleanup_free_ char *dig = ref.digest ? mascri_reference_with_digest(&ref, ref.digest) : NULL;
    mascri_reference_clear(&ref);
    for (size_t i = 0; i < s->n_images; i++) {
      if ((dig && mascri_strv_contains(s->images[i]->repo_digests, dig)) ||
          (!dig && tagged && mascri_strv_contains(s->images[i]->repo_tags, tagged)))
        return s->images[i];
    }
  }
  if (r)
    return r;
  mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "image \"%s\" not found", name);
  return NULL;
}

static struct image_rec *find_exact_id(mascri_image_store_t *s, const char *id)
{
  for (size_t i = 0; i < s->n_images; i++)
    if (strcmp(s->images[i]->id, id) == 0)
      return s->images[i];
  return NULL;
}

/* Takes the tags of rec away from other records (saving them). */
/* Another process sharing the store (mascrid, while this one pulls for it) may have changed
 * or removed o since we loaded it: take its tags from disk before rewriting it, so a tag
 * move does not bring back what was removed there. false: o is gone from disk. */
static bool rec_refresh(mascri_image_store_t *s, struct image_rec *o)
{
  _cleanup_free_ char *name = xasprintf("images/%s.json", digest_hex(o->id));
  _cleanup_free_ char *buf = NULL;
  _cleanup_error_ mascri_error_t e = NULL;
  size_t len;
  if (mascri_read_file_at(s->rootfd, name, &buf, &len, &e) < 0)
    return !(e && e->errnum == ENOENT);
  struct image_rec *disk = rec_parse(buf, len, name, &e);
  if (!disk)
    return true;
  mascri_strv_free(o->repo_tags);
  o->repo_tags = TAKE_PTR(disk->repo_tags);
  disk->repo_tags = xcalloc(1, sizeof(char *));
  image_rec_free(disk);
  return true;
}

static int steal_tags(mascri_image_store_t *s, const struct image_rec *rec, mascri_error_t *err)
{
  for (size_t i = 0; i < s->n_images; i++) {
    struct image_rec *o = s->images[i];
    bool changed = false;
    if (strcmp(o->id, rec->id) == 0)
      continue;
    for (char **t = rec->repo_tags; *t && !changed; t++)
      changed = mascri_strv_contains(o->repo_tags, *t);
    if (!changed || !rec_refresh(s, o))
      continue;
    for (char **t = rec->repo_tags; *t; t++)
      remove_str(o->repo_tags, *t);
    if (image_rec_save(s, o, err) < 0)
      return -1;
  }
  return 0;
}

int image_register_locked(mascri_image_store_t *s, struct image_rec *rec, mascri_error_t *err)
{
  struct image_rec *old = find_exact_id(s, rec->id);
  if (old) {
    for (char **t = rec->repo_tags; *t; t++)
      if (!mascri_strv_contains(old->repo_tags, *t))
        mascri_strv_append(&old->repo_tags, *t);
    for (char **d = rec->repo_digests; *d; d++)
      if (!mascri_strv_contains(old->repo_digests, *d))
        mascri_strv_append(&old->repo_digests, *d);
    if (!old->manifest_digest && rec->manifest_digest)
      old->manifest_digest = xstrdup(rec->manifest_digest);
    image_rec_free(rec);
    rec = old;
  }
  /* the new owner first: a crash between the writes leaves the tag on both, and the
   * newer record wins at the next open */
  if (image_rec_save(s, rec, err) < 0) {
    if (!old)
      image_rec_free(rec);
    return -1;
  }
  if (!old) {
    s->images = xrealloc(s->images, (s->n_images + 1) * sizeof(*s->images));
    s->images[s->n_images++] = rec;
  }
  return steal_tags(s, rec, err);
}

/* The record another process wrote replaces (or joins) ours; the tags it took from other
 * records were saved by that process, so they only go from our copies here. */
static void adopt_locked(mascri_image_store_t *s, struct image_rec *rec)
{
  struct image_rec *old = find_exact_id(s, rec->id);
  for (size_t i = 0; i < s->n_images; i++) {
    if (s->images[i] == old)
      continue;
    for (char **t = rec->repo_tags; *t; t++)
      if (mascri_strv_contains(s->images[i]->repo_tags, *t))
        remove_str(s->images[i]->repo_tags, *t);
  }
  for (size_t i = 0; old && i < s->n_images; i++) {
    if (s->images[i] == old) {
      s->images[i] = rec;
      image_rec_free(old);
      return;
    }
  }
  s->images = xrealloc(s->images, (s->n_images + 1) * sizeof(*s->images));
  s->images[s->n_images++] = rec;
}

int mascri_image_store_adopt(mascri_image_store_t *s, const char *image_id, mascri_error_t *err)
{
  if (!mascri_digest_valid(image_id))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "bad image id \"%s\"",
                                  image_id);
  _cleanup_free_ char *name = xasprintf("images/%s.json", digest_hex(image_id));
  _cleanup_free_ char *buf = NULL;
  size_t len;
  pthread_mutex_lock(&s->lock);
  struct image_rec *r = NULL;
  if (mascri_read_file_at(s->rootfd, name, &buf, &len, err) == 0)
    r = rec_parse(buf, len, name, err);
  if (r && (strcmp(r->id, image_id) != 0 || !rec_complete(s, r))) {
    image_rec_free(TAKE_PTR(r));
    mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "image %s incomplete in the store",
                           image_id);
  }
  if (r)
    adopt_locked(s, r);
  pthread_mutex_unlock(&s->lock);
  if (!r)
    return mascri_error_wrap(err, "adopt image %s", image_id);
  /* a GC of ours skipped while the other process was adding runs now (as after a pull) */
  store_gc_if_pending(s);
  return 0;
}

void image_refs_on_disk(mascri_image_store_t *s, char ***chains, char ***blobs)
{
  *chains = xcalloc(1, sizeof(char *));
  *blobs = xcalloc(1, sizeof(char *));
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "images", 0);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    _cleanup_free_ char *buf = NULL;
    _cleanup_error_ mascri_error_t e = NULL;
    size_t len;
    if (de->d_name[0] == '.')
      continue;
    if (mascri_read_file_at(dirfd(d), de->d_name, &buf, &len, &e) < 0)
      continue;
    struct image_rec *r = rec_parse(buf, len, de->d_name, &e);
    if (!r)
      continue;
    for (char **l = r->layers; *l; l++)
      mascri_strv_append(chains, *l);
    mascri_strv_append(blobs, r->id);
    if (r->manifest_digest)
      mascri_strv_append(blobs, r->manifest_digest);
    image_rec_free(r);
  }
}
