/* `mascri image save`: a docker-archive (manifest.json, <config>.json, <diffid>.tar per
 * layer) that `docker load`, `podman load`, skopeo and `mascri image import` read. Layers are
 * written again from their unpacked directories; when that changes their digests the config's
 * diff IDs are updated to match, so the archive is always self-consistent. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/layer-tar.h"
#include "image/reference.h"
#include "image/store-internal.h"

struct saved_image {
  char *config; /* possibly rewritten */
  size_t config_len;
  char *config_name;
  char **tags;
  char **layer_names;
};

struct save_ctx {
  mascri_image_store_t *s;
  struct archive *out;
  int tmpfd;          /* tmp/save-XXXXXX */
  char **done_chains; /* chain IDs already written, and their diff IDs */
  char **done_diffs;
  struct saved_image *images;
  size_t n_images;
};

static int write_member(struct save_ctx *c, const char *name, const void *buf, size_t len, int fd,
                        mascri_error_t *err)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, len);
  archive_entry_set_mtime(e, 0, 0);
  int r = 0;
  if (archive_write_header(c->out, e) != ARCHIVE_OK)
    r = mascri_make_error(err, 0, "save %s: %s", name, archive_error_string(c->out));
  archive_entry_free(e);
  if (r == 0 && buf && archive_write_data(c->out, buf, len) != (la_ssize_t)len)
    r = mascri_make_error(err, 0, "save %s: %s", name, archive_error_string(c->out));
  char chunk[65536];
  ssize_t n;
  while (r == 0 && fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      r = mascri_make_error(err, errno, "read layer tar");
    else if (archive_write_data(c->out, chunk, n) != n)
      r = mascri_make_error(err, 0, "save %s: %s", name, archive_error_string(c->out));
  }
  return r;
}

/* Writes a layer (once per archive); *name gets its member name, *diff_id its digest. */
static int save_layer(struct save_ctx *c, const char *chain, char **name, char **diff_id,
                      mascri_error_t *err)
{
  for (size_t i = 0; c->done_chains && c->done_chains[i]; i++) {
    if (strcmp(c->done_chains[i], chain) == 0) {
      *diff_id = xstrdup(c->done_diffs[i]);
      *name = xasprintf("%s.tar", digest_hex(*diff_id));
      return 0;
    }
  }
  _cleanup_free_ char *dir = xasprintf("layers/%s/diff", digest_hex(chain));
  _cleanup_close_ int dfd = openat(c->s->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int tfd = openat(c->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  uint64_t size;
  if (dfd < 0 || tfd < 0)
    return mascri_make_error(err, errno, "save layer %s", chain);
  if (mascri_layer_tar(dfd, tfd, diff_id, &size, err) < 0)
    return mascri_error_wrap(err, "save layer %s", chain);
  *name = xasprintf("%s.tar", digest_hex(*diff_id));
  lseek(tfd, 0, SEEK_SET);
  if (write_member(c, *name, NULL, size, tfd, err) < 0)
    return -1;
  mascri_strv_append(&c->done_chains, chain);
  mascri_strv_append(&c->done_diffs, *diff_id);
  return 0;
}

/* Replaces each old diff ID string in the config with the new one. */
static char *rewrite_config(const char *cfg, char *const *old, char *const *new)
{
  char *out = xstrdup(cfg);
  for (size_t i = 0; old[i] && new[i]; i++) {
    if (strcmp(old[i], new[i]) == 0)
      continue;
    char *p = out;
    while ((p = strstr(p, old[i]))) {
      memcpy(p, new[i], strlen(new[i])); /* same length: sha256 both */
      p += strlen(new[i]);
    }
  }
  return out;
}

static char *short_tag(const char *tag)
{
  if (strncmp(tag, "docker.io/library/", 18) == 0)
    return xstrdup(tag + 18);
  if (strncmp(tag, "docker.io/", 10) == 0)
    return xstrdup(tag + 10);
  return xstrdup(tag);
}

static int save_image(struct save_ctx *c, const char *name, mascri_error_t *err)
{
  pthread_mutex_lock(&c->s->lock);
  struct image_rec *r = image_find_locked(c->s, name, err);
  _cleanup_strv_ char **chains = r ? mascri_strv_dup(r->layers) : NULL;
  _cleanup_strv_ char **old = r ? mascri_strv_dup(r->diff_ids) : NULL;
  _cleanup_strv_ char **tags = r ? mascri_strv_dup(r->repo_tags) : NULL;
  _cleanup_free_ char *id = r ? xstrdup(r->id) : NULL;
  pthread_mutex_unlock(&c->s->lock);
  if (!r)
    return -1;
  layers_lease(c->s, chains);
  struct saved_image img = {0};
  _cleanup_strv_ char **newd = xcalloc(1, sizeof(char *));
  _cleanup_free_ char *cfg = NULL;
  size_t cfg_len;
  int ret = blob_get(c->s, id, &cfg, &cfg_len, err);
  img.layer_names = xcalloc(1, sizeof(char *));
  for (size_t i = 0; ret == 0 && chains[i]; i++) {
    char *member = NULL, *d = NULL;
    ret = save_layer(c, chains[i], &member, &d, err);
    if (ret == 0) {
      mascri_strv_push(&img.layer_names, member);
      mascri_strv_push(&newd, d);
    }
  }
  layers_release(c->s, chains);
  if (ret < 0) {
    mascri_strv_free(img.layer_names);
    return -1;
  }
  img.config = rewrite_config(cfg, old, newd);
  img.config_len = strlen(img.config);
  _cleanup_free_ char *cd = mascri_digest_buffer(img.config, img.config_len);
  img.config_name = xasprintf("%s.json", digest_hex(cd));
  img.tags = xcalloc(1, sizeof(char *));
  for (char **t = tags; *t; t++)
    mascri_strv_push(&img.tags, short_tag(*t));
  c->images = xrealloc(c->images, (c->n_images + 1) * sizeof(*c->images));
  c->images[c->n_images++] = img;
  return write_member(c, img.config_name, img.config, img.config_len, -1, err);
}

static int write_manifest(struct save_ctx *c, mascri_error_t *err)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_array_open(g);
  for (size_t i = 0; i < c->n_images; i++) {
    yajl_gen_map_open(g);
    mascri_json_gen_kv_string(g, "Config", c->images[i].config_name);
    mascri_json_gen_kv_strv(g, "RepoTags", c->images[i].tags);
    mascri_json_gen_kv_strv(g, "Layers", c->images[i].layer_names);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
  size_t len;
  _cleanup_free_ char *json = mascri_json_gen_take(g, &len);
  return write_member(c, "manifest.json", json, len, -1, err);
}

static la_ssize_t out_write(struct archive *a, void *data, const void *buf, size_t len)
{
  mascri_error_t err = NULL;
  if (mascri_write_all(*(int *)data, buf, len, &err) < 0) {
    archive_set_error(a, EIO, "%s", mascri_error_message(&err));
    mascri_error_release(&err);
    return -1;
  }
  return (la_ssize_t)len;
}

int mascri_image_save(mascri_image_store_t *s, const char *const *names, int fd,
                      mascri_error_t *err)
{
  struct save_ctx c = {.s = s, .out = archive_write_new(), .tmpfd = -1};
  int r = 0;
  archive_write_set_format_pax_restricted(c.out);
  c.tmpfd = openat(s->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c.tmpfd < 0)
    r = mascri_make_error(err, errno, "open tmp");
  else if (archive_write_open(c.out, &fd, NULL, out_write, NULL) != ARCHIVE_OK)
    r = mascri_make_error(err, 0, "save: %s", archive_error_string(c.out));
  for (size_t i = 0; r == 0 && names[i]; i++)
    r = save_image(&c, names[i], err);
  if (r == 0)
    r = write_manifest(&c, err);
  if (archive_write_close(c.out) != ARCHIVE_OK && r == 0)
    r = mascri_make_error(err, 0, "save: %s", archive_error_string(c.out));
  archive_write_free(c.out);
  for (size_t i = 0; i < c.n_images; i++) {
    free(c.images[i].config);
    free(c.images[i].config_name);
    mascri_strv_free(c.images[i].tags);
    mascri_strv_free(c.images[i].layer_names);
  }
  free(c.images);
  mascri_strv_free(c.done_chains);
  mascri_strv_free(c.done_diffs);
  if (c.tmpfd >= 0)
    close(c.tmpfd);
  return r < 0 ? mascri_error_wrap(err, "save") : 0;
}
