/* Container root filesystems: rootfs/<container>/{rootfs.json,upper,work,merged}, mounted
 * as overlayfs with the image's layers (their short l/ links) as lowerdirs; overlay.c picks
 * fsconfig "lowerdir+" or the mount(2) options the kernel takes. */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/store-internal.h"

static int check_id(const char *id, mascri_error_t *err)
{
  size_t n = strlen(id);
  if (n == 0 || n > 128 || id[0] == '.')
    goto bad;
  for (const char *c = id; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '-' || *c == '_' || *c == '.'))
      goto bad;
  return 0;
bad:
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "invalid container id \"%s\"",
                                id);
}

static int read_record(mascri_image_store_t *s, const char *dir, char **image, char ***layers,
                       mascri_error_t *err)
{
  _cleanup_free_ char *p = xasprintf("rootfs/%s/rootfs.json", dir);
  _cleanup_free_ char *buf = NULL;
  _cleanup_json_ yajl_val v = NULL;
  size_t len;
  if (mascri_read_file_at(s->rootfd, p, &buf, &len, err) < 0) {
    if (mascri_error_retcode(err) == -ENOENT)
      (*err)->kind = MASCRI_ERR_NOT_FOUND;
    return -1;
  }
  if (mascri_json_parse(buf, len, p, &v, err) < 0)
    return -1;
  const char *img = mascri_json_get_string(v, "image");
  if (layers && !(*layers = mascri_json_string_array(mascri_json_get(v, "layers"), "layers", err)))
    return -1;
  if (image)
    *image = xstrdup(img ? img : "");
  return 0;
}

int rootfs_references_locked(mascri_image_store_t *s, char ***chain_ids, char ***image_ids,
                             mascri_error_t *err)
{
  *chain_ids = xcalloc(1, sizeof(char *));
  *image_ids = xcalloc(1, sizeof(char *));
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "rootfs", 0);
  if (!d)
    return mascri_make_error(err, errno, "open rootfs");
  struct dirent *de;
  while ((de = readdir(d))) {
    _cleanup_free_ char *image = NULL;
    _cleanup_strv_ char **layers = NULL;
    if (de->d_name[0] == '.')
      continue;
    if (read_record(s, de->d_name, &image, &layers, err) < 0) {
      mascri_log_error_release(MASCRI_LOG_WARNING, err, "rootfs %s", de->d_name);
      continue;
    }
    mascri_strv_append(image_ids, image);
    for (char **l = layers; *l; l++)
      mascri_strv_append(chain_ids, *l);
  }
  return 0;
}

static char *record_json(const char *image, char *const *layers, size_t *len)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "image", image);
  mascri_json_gen_kv_strv(g, "layers", layers);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, len);
}

/* Builds the directory in tmp/ and renames it into place: it exists whole or not at all. */
static int create_locked(mascri_image_store_t *s, const char *cid, const struct image_rec *r,
                         mascri_error_t *err)
{
  _cleanup_free_ char *final = xasprintf("rootfs/%s", cid);
  _cleanup_free_ char *dir = xasprintf("%s/rootfs", s->root);
  _cleanup_free_ char *tmp = xasprintf("%s/tmp/rootfs-%d-XXXXXX", s->root, (int)getpid());
  if (faccessat(s->rootfd, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_ALREADY_EXISTS, 0,
                                  "rootfs for container %s exists", cid);
  if (!mkdtemp(tmp))
    return mascri_make_error(err, errno, "mkdtemp %s", tmp);
  _cleanup_close_ int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t len;
  _cleanup_free_ char *json = record_json(r->id, r->layers, &len);
  const char *rel = tmp + strlen(s->root) + 1;
  if (tfd < 0 || mkdirat(tfd, "upper", 0755) < 0 || mkdirat(tfd, "work", 0700) < 0 ||
      mkdirat(tfd, "merged", 0755) < 0 || mkdirat(tfd, "empty", 0755) < 0) {
    mascri_make_error(err, errno, "make %s", tmp);
    goto fail;
  }
  if (mascri_write_file_atomic_at(tfd, "rootfs.json", json, len, 0644, err) < 0)
    goto fail;
  if (renameat(s->rootfd, rel, s->rootfd, final) < 0) {
    mascri_make_error(err, errno, "rename %s to %s", rel, final);
    goto fail;
  }
  return mascri_fsync_dir(dir, err);
fail:
  layer_tmp_discard(s, rel);
  return -1;
}

int mascri_image_rootfs_create(mascri_image_store_t *s, const char *cid, const char *image,
                               mascri_error_t *err)
{
  if (check_id(cid, err) < 0)
    return -1;
  _cleanup_close_ int lk = store_lock(s, LOCK_SH);
  if (lk < 0)
    return mascri_make_error(err, errno, "lock the image store");
  pthread_mutex_lock(&s->lock);
  struct image_rec *r = image_find_locked(s, image, err);
  int ret = r ? create_locked(s, cid, r, err) : -1;
  pthread_mutex_unlock(&s->lock);
  return ret;
}

char *mascri_image_rootfs_image(mascri_image_store_t *s, const char *cid, mascri_error_t *err)
{
  char *image = NULL;
  if (check_id(cid, err) < 0 || read_record(s, cid, &image, NULL, err) < 0)
    return NULL;
  return image;
}

static char **lowerdirs(mascri_image_store_t *s, const char *cid, char *const *layers,
                        mascri_error_t *err)
{
  char **lowers = xcalloc(1, sizeof(char *));
  size_t n = mascri_strv_length(layers);
  for (size_t i = n; i-- > 0;) { /* topmost first */
    char *p = layer_lower_path(s, layers[i], err);
    if (!p) {
      mascri_strv_free(lowers);
      return NULL;
    }
    mascri_strv_push(&lowers, p);
  }
  if (n == 0)
    mascri_strv_push(&lowers, xasprintf("rootfs/%s/empty", cid));
  return lowers;
}

/* The mount runs with the store root as its working directory: a relative target is the
 * caller's, made absolute here. */
static char *absolute_target(mascri_image_store_t *s, const char *cid, const char *target,
                             mascri_error_t *err)
{
  if (!target)
    return xasprintf("%s/rootfs/%s/merged", s->root, cid);
  if (target[0] == '/')
    return xstrdup(target);
  _cleanup_free_ char *cwd = getcwd(NULL, 0);
  if (!cwd) {
    mascri_make_error(err, errno, "getcwd");
    return NULL;
  }
  return mascri_path_join(cwd, target);
}

int mascri_image_rootfs_mount(mascri_image_store_t *s, const char *cid, const char *target,
                              char **mountpoint, mascri_error_t *err)
{
  _cleanup_strv_ char **layers = NULL, **lowers = NULL;
  if (check_id(cid, err) < 0 || read_record(s, cid, NULL, &layers, err) < 0)
    return -1;
  if (!(lowers = lowerdirs(s, cid, layers, err)))
    return -1;
  _cleanup_free_ char *upper = xasprintf("rootfs/%s/upper", cid);
  _cleanup_free_ char *work = xasprintf("rootfs/%s/work", cid);
  _cleanup_free_ char *tgt = absolute_target(s, cid, target, err);
  if (!tgt || overlay_mount(s, tgt, lowers, upper, work, err) < 0)
    return -1;
  _cleanup_free_ char *mp = xasprintf("rootfs/%s/mountpoint", cid);
  if (mascri_write_file_atomic_at(s->rootfd, mp, tgt, strlen(tgt), 0644, err) < 0) {
    umount2(tgt, MNT_DETACH);
    return -1;
  }
  if (mountpoint)
    *mountpoint = TAKE_PTR(tgt);
  return 0;
}

int mascri_image_rootfs_unmount(mascri_image_store_t *s, const char *cid, mascri_error_t *err)
{
  _cleanup_free_ char *mp = xasprintf("rootfs/%s/mountpoint", cid);
  _cleanup_free_ char *target = NULL;
  size_t len;
  if (check_id(cid, err) < 0)
    return -1;
  if (mascri_read_file_at(s->rootfd, mp, &target, &len, err) < 0) {
    if (mascri_error_retcode(err) == -ENOENT) {
      mascri_error_release(err);
      return 0;
    }
    return -1;
  }
  if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
    return mascri_make_error(err, errno, "unmount %s", target);
  unlinkat(s->rootfd, mp, 0);
  return 0;
}

int mascri_image_rootfs_remove(mascri_image_store_t *s, const char *cid, mascri_error_t *err)
{
  if (check_id(cid, err) < 0)
    return -1;
  _cleanup_free_ char *dir = xasprintf("rootfs/%s", cid);
  if (faccessat(s->rootfd, dir, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (mascri_image_rootfs_unmount(s, cid, err) < 0)
    return -1;
  _cleanup_free_ char *merged = xasprintf("%s/rootfs/%s/merged", s->root, cid);
  umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW);
  pthread_mutex_lock(&s->lock);
  _cleanup_free_ char *to = xasprintf("tmp/rm-%d-%s", (int)getpid(), cid);
  int r = mascri_rm_rf_at(s->rootfd, to, err);
  if (r == 0 && renameat(s->rootfd, dir, s->rootfd, to) < 0)
    r = mascri_make_error(err, errno, "rename %s", dir);
  if (r == 0)
    r = layers_gc_locked(s, NULL, err);
  pthread_mutex_unlock(&s->lock);
  if (r == 0)
    r = mascri_rm_rf_at(s->rootfd, to, err);
  return r;
}
