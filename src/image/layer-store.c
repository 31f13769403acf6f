/* Layers: layers/<chainid-hex>/{diff,link,layer.json} with short links l/<short> for overlay
 * lowerdirs; claims so a layer is made once when several pulls want it, leases so GC never
 * removes a layer an in-flight pull relies on, and the crash-safe commit. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/store-internal.h"

const char *digest_hex(const char *digest)
{
  const char *c = strchr(digest, ':');
  return c ? c + 1 : digest;
}

bool layer_exists_locked(mascri_image_store_t *s, const char *chain_id)
{
  _cleanup_free_ char *p = xasprintf("layers/%s/layer.json", digest_hex(chain_id));
  return faccessat(s->rootfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static struct layer_hold *hold_get(mascri_image_store_t *s, const char *chain_id, bool create)
{
  for (struct layer_hold *h = s->holds; h; h = h->next)
    if (strcmp(h->chain_id, chain_id) == 0)
      return h;
  if (!create)
    return NULL;
  struct layer_hold *h = xmalloc0(sizeof(*h));
  h->chain_id = xstrdup(chain_id);
  h->next = s->holds;
  s->holds = h;
  return h;
}

static void hold_put(mascri_image_store_t *s, struct layer_hold *h)
{
  if (h->leases || h->busy)
    return;
  for (struct layer_hold **p = &s->holds; *p; p = &(*p)->next) {
    if (*p == h) {
      *p = h->next;
      free(h->chain_id);
      free(h);
      return;
    }
  }
}

void layers_lease(mascri_image_store_t *s, char *const *chain_ids)
{
  pthread_mutex_lock(&s->lock);
  for (char *const *c = chain_ids; *c; c++)
    hold_get(s, *c, true)->leases++;
  pthread_mutex_unlock(&s->lock);
}

void layers_release(mascri_image_store_t *s, char *const *chain_ids)
{
  pthread_mutex_lock(&s->lock);
  for (char *const *c = chain_ids; *c; c++) {
    struct layer_hold *h = hold_get(s, *c, false);
    if (h && h->leases > 0) {
      h->leases--;
      hold_put(s, h);
    }
  }
  pthread_mutex_unlock(&s->lock);
}

int layer_begin(mascri_image_store_t *s, const char *chain_id)
{
  int r;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    struct layer_hold *h = hold_get(s, chain_id, true);
    if (layer_exists_locked(s, chain_id)) {
      hold_put(s, h);
      r = 0;
      break;
    }
    if (!h->busy) {
      h->busy = true;
      r = 1;
      break;
    }
    pthread_cond_wait(&s->cond, &s->lock);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

void layer_end(mascri_image_store_t *s, const char *chain_id)
{
  pthread_mutex_lock(&s->lock);
  struct layer_hold *h = hold_get(s, chain_id, false);
  if (h) {
    h->busy = false;
    hold_put(s, h);
  }
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

int layer_tmp_create(mascri_image_store_t *s, char **tmpname, int *diff_fd, mascri_error_t *err)
{
  _cleanup_free_ char *path = xasprintf("%s/tmp/layer-%d-XXXXXX", s->root, (int)getpid());
  if (!mkdtemp(path))
    return mascri_make_error(err, errno, "mkdtemp %s", path);
  char *name = xstrdup(path + strlen(s->root) + 1);
  _cleanup_free_ char *diff = xasprintf("%s/diff", name);
  if (mkdirat(s->rootfd, diff, 0755) < 0) {
    free(name);
    return mascri_make_error(err, errno, "mkdir %s", diff);
  }
  int fd = openat(s->rootfd, diff, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    layer_tmp_discard(s, name);
    free(name);
    return mascri_make_error(err, e, "open %s", diff);
  }
  *tmpname = name;
  *diff_fd = fd;
  return 0;
}

void layer_tmp_discard(mascri_image_store_t *s, const char *tmpname)
{
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_rm_rf_at(s->rootfd, tmpname, &err) < 0)
    log_warning("removing %s: %s", tmpname, mascri_error_message(&err));
}

static char *new_short_link(void)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  unsigned char rnd[20];
  char *out = xmalloc(sizeof(rnd) + 1);
  if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
    abort();
  for (size_t i = 0; i < sizeof(rnd); i++)
    out[i] = alphabet[rnd[i] % 32];
  out[sizeof(rnd)] = '\0';
  return out;
}

static char *layer_json(const char *chain_id, const char *diff_id, uint64_t size, uint64_t inodes,
                        const char *link, size_t *len)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "chain_id", chain_id);
  mascri_json_gen_kv_string(g, "diff_id", diff_id);
  mascri_json_gen_kv_uint(g, "size", size);
  mascri_json_gen_kv_uint(g, "inodes", inodes);
  mascri_json_gen_kv_string(g, "link", link);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, len);
}

int layer_commit(mascri_image_store_t *s, const char *tmpname, int diff_fd, const char *chain_id,
                 const char *diff_id, uint64_t size, uint64_t inodes, mascri_error_t *err)
{
  const char *hex = digest_hex(chain_id);
  _cleanup_free_ char *link = new_short_link();
  size_t len;
  _cleanup_free_ char *json = layer_json(chain_id, diff_id, size, inodes, link, &len);
  _cleanup_free_ char *lpath = xasprintf("l/%s", link);
  _cleanup_free_ char *ltarget = xasprintf("../layers/%s/diff", hex);
  _cleanup_free_ char *final = xasprintf("layers/%s", hex);
  _cleanup_close_ int tfd = openat(s->rootfd, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* the data first: nothing points at it until it is on disk */
  if (syncfs(diff_fd) < 0)
    return mascri_make_error(err, errno, "sync layer %s", chain_id);
  if (tfd < 0)
    return mascri_make_error(err, errno, "open %s", tmpname);
  if (mascri_write_file_atomic_at(tfd, "link", link, strlen(link), 0644, err) < 0 ||
      mascri_write_file_atomic_at(tfd, "layer.json", json, len, 0644, err) < 0)
    return -1;
  if (symlinkat(ltarget, s->rootfd, lpath) < 0)
    return mascri_make_error(err, errno, "symlink %s", lpath);
  if (renameat(s->rootfd, tmpname, s->rootfd, final) < 0) {
    int e = errno;
    unlinkat(s->rootfd, lpath, 0);
    /* another process made the same layer first: theirs is as good as ours */
    if ((e == EEXIST || e == ENOTEMPTY) && layer_exists_locked(s, chain_id)) {
      layer_tmp_discard(s, tmpname);
      return 0;
    }
    return mascri_make_error(err, e, "rename %s to %s", tmpname, final);
  }
  _cleanup_free_ char *ldir = xasprintf("%s/l", s->root);
  _cleanup_free_ char *layers = xasprintf("%s/layers", s->root);
  if (mascri_fsync_dir(ldir, err) < 0 || mascri_fsync_dir(layers, err) < 0)
    return -1;
  return 0;
}

uint64_t layer_size_inodes(mascri_image_store_t *s, const char *chain_id, uint64_t *inodes)
{
  _cleanup_free_ char *p = xasprintf("layers/%s/layer.json", digest_hex(chain_id));
  _cleanup_free_ char *buf = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_json_ yajl_val v = NULL;
  size_t len;
  int64_t size = 0, n = 0;
  if (mascri_read_file_at(s->rootfd, p, &buf, &len, &err) < 0 ||
      mascri_json_parse(buf, len, p, &v, &err) < 0)
    return 0;
  mascri_json_get_int64(v, "size", &size);
  mascri_json_get_int64(v, "inodes", &n);
  if (inodes)
    *inodes = n > 0 ? (uint64_t)n : 0;
  return size > 0 ? (uint64_t)size : 0;
}

uint64_t layer_size(mascri_image_store_t *s, const char *chain_id)
{
  return layer_size_inodes(s, chain_id, NULL);
}

char *layer_lower_path(mascri_image_store_t *s, const char *chain_id, mascri_error_t *err)
{
  _cleanup_free_ char *p = xasprintf("layers/%s/link", digest_hex(chain_id));
  _cleanup_free_ char *link = NULL;
  size_t len;
  if (mascri_read_file_at(s->rootfd, p, &link, &len, err) < 0)
    return NULL;
  if (len == 0 || strchr(link, '/') || link[0] == '.') {
    mascri_make_error(err, 0, "%s: bad link name", p);
    return NULL;
  }
  return xasprintf("l/%s", link);
}

static bool referenced(char *const *chains, const char *hex)
{
  for (char *const *c = chains; c && *c; c++)
    if (strcmp(digest_hex(*c), hex) == 0)
      return true;
  return false;
}

/* Moves the layer into tmp/ (one rename: it is gone for readers), drops its link, then
 * deletes it. A crash in between leaves only tmp/ content, cleaned at open. */
static int layer_delete(mascri_image_store_t *s, const char *hex, uint64_t *freed,
                        mascri_error_t *err)
{
  _cleanup_free_ char *chain = xasprintf("sha256:%s", hex);
  _cleanup_free_ char *link = NULL;
  _cleanup_free_ char *lp = xasprintf("layers/%s/link", hex);
  size_t len;
  if (freed)
    *freed += layer_size(s, chain);
  if (mascri_read_file_at(s->rootfd, lp, &link, &len, err) < 0)
    mascri_error_release(err);
  _cleanup_free_ char *from = xasprintf("layers/%s", hex);
  _cleanup_free_ char *to = xasprintf("tmp/gc-%d-%s", (int)getpid(), hex);
  if (mascri_rm_rf_at(s->rootfd, to, err) < 0)
    return -1;
  if (renameat(s->rootfd, from, s->rootfd, to) < 0)
    return mascri_make_error(err, errno, "rename %s", from);
  if (link && !strchr(link, '/')) {
    _cleanup_free_ char *l = xasprintf("l/%s", link);
    unlinkat(s->rootfd, l, 0);
  }
  return mascri_rm_rf_at(s->rootfd, to, err);
}

int layers_gc_locked(mascri_image_store_t *s, uint64_t *freed, mascri_error_t *err)
{
  _cleanup_close_ int lk = store_lock(s, LOCK_EX | LOCK_NB);
  if (lk < 0) {
    log_debug("layer GC skipped: the store is busy (a pull or import is running)");
    s->gc_pending = true;
    return 0;
  }
  s->gc_pending = false;
  _cleanup_strv_ char **rchains = NULL, **rimages = NULL, **dchains = NULL, **dblobs = NULL;
  if (rootfs_references_locked(s, &rchains, &rimages, err) < 0)
    return -1;
  image_refs_on_disk(s, &dchains, &dblobs);
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "layers", 0);
  if (!d)
    return mascri_make_error(err, errno, "open layers");
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    bool used = referenced(rchains, de->d_name) || referenced(dchains, de->d_name);
    for (size_t i = 0; !used && i < s->n_images; i++)
      used = referenced(s->images[i]->layers, de->d_name);
    for (struct layer_hold *h = s->holds; !used && h; h = h->next)
      used = strcmp(digest_hex(h->chain_id), de->d_name) == 0;
    if (!used && layer_delete(s, de->d_name, freed, err) < 0)
      return -1;
  }
  return 0;
}

/* Every committed layer needs its l/<short> link for overlay mounts: make missing ones. */
static void repair_links(mascri_image_store_t *s)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "layers", 0);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    _cleanup_free_ char *lp = xasprintf("layers/%s/link", de->d_name);
    _cleanup_free_ char *link = NULL;
    _cleanup_error_ mascri_error_t err = NULL;
    size_t len;
    if (de->d_name[0] == '.' || mascri_read_file_at(s->rootfd, lp, &link, &len, &err) < 0 ||
        len == 0 || strchr(link, '/') || link[0] == '.')
      continue;
    _cleanup_free_ char *l = xasprintf("l/%s", link);
    _cleanup_free_ char *target = xasprintf("../layers/%s/diff", de->d_name);
    if (faccessat(s->rootfd, l, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
      continue;
    log_warning("store check: restoring missing link l/%s of layer %s", link, de->d_name);
    if (symlinkat(target, s->rootfd, l) < 0)
      log_warning("store check: symlink l/%s: %s", link, strerror(errno));
  }
}

/* A directory in layers/ without its layer.json is no layer (layer_exists_locked says so)
 * yet it blocks the rename that would commit the layer again: remove it. Commits and GC
 * move whole directories, so this is damage from outside, seen under the exclusive lock. */
static void remove_incomplete_layers(mascri_image_store_t *s)
{
  _cleanup_closedir_ DIR *d = NULL;
  int fd = openat(s->rootfd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || !(d = fdopendir(fd))) {
    if (fd >= 0)
      close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    _cleanup_free_ char *chain = xasprintf("sha256:%s", de->d_name);
    _cleanup_error_ mascri_error_t err = NULL;
    if (de->d_name[0] == '.' || layer_exists_locked(s, chain))
      continue;
    log_warning("store check: removing layer %s without its layer.json", de->d_name);
    if (layer_delete(s, de->d_name, NULL, &err) < 0)
      log_warning("store check: %s", mascri_error_message(&err));
  }
}

int layers_check(mascri_image_store_t *s, mascri_error_t *err)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "l", 0);
  if (!d)
    return mascri_make_error(err, errno, "open l");
  /* A link dangles for a moment while another process commits its layer (link first, then
   * the rename into layers/): only drop dangling links when no adder holds the store. */
  _cleanup_close_ int lk = store_lock(s, LOCK_EX | LOCK_NB);
  if (lk >= 0)
    remove_incomplete_layers(s);
  struct dirent *de;
  while (lk >= 0 && (de = readdir(d))) {
    struct stat st;
    if (de->d_name[0] == '.')
      continue;
    if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 && errno == ENOENT) {
      log_warning("store check: removing dangling layer link l/%s", de->d_name);
      unlinkat(dirfd(d), de->d_name, 0);
    }
  }
  repair_links(s);
  return 0;
}
