/* Opening and closing the store: directories, cleaning of tmp/, the check and repair at
 * start (never a wipe), loading the image index. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "image/store-internal.h"

static const char *const store_dirs[] = {"blobs",  "blobs/sha256", "layers", "l",
                                         "images", "rootfs",       "tmp"};

/* tmp/ entries are named "<what>-<pid>-...": those of live processes (another mascri
 * working on the same store) are left alone. */
static bool owner_alive(const char *name)
{
  const char *dash = strchr(name, '-');
  char *end;
  if (!dash)
    return false;
  long pid = strtol(dash + 1, &end, 10);
  if (end == dash + 1 || *end != '-' || pid <= 0)
    return false;
  return pid == getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static void clean_tmp(mascri_image_store_t *s)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "tmp", 0);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    _cleanup_error_ mascri_error_t err = NULL;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || owner_alive(de->d_name))
      continue;
    log_info("store check: removing leftover tmp/%s", de->d_name);
    if (mascri_rm_rf_at(dirfd(d), de->d_name, &err) < 0)
      log_warning("store check: %s", mascri_error_message(&err));
  }
}

/* Atomic writes leave ".NAME.tmp.PID" behind when killed: drop those of dead processes. */
static void clean_atomic_leftovers(mascri_image_store_t *s, const char *dir)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, dir, 0);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *t = de->d_name[0] == '.' ? strstr(de->d_name, ".tmp.") : NULL;
    char *end;
    if (!t)
      continue;
    long pid = strtol(t + 5, &end, 10);
    if (*end || pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM)
      continue;
    log_info("store check: removing leftover %s/%s", dir, de->d_name);
    unlinkat(dirfd(d), de->d_name, 0);
  }
}

int store_lock(mascri_image_store_t *s, int op)
{
  int fd = openat(s->rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return -1;
  while (flock(fd, op) < 0) {
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

void store_gc_if_pending(mascri_image_store_t *s)
{
  _cleanup_error_ mascri_error_t err = NULL;
  pthread_mutex_lock(&s->lock);
  if (s->gc_pending && (layers_gc_locked(s, NULL, &err) < 0 || blobs_gc_locked(s, &err) < 0))
    log_warning("garbage collection: %s", mascri_error_message(&err));
  pthread_mutex_unlock(&s->lock);
}

void mascri_image_store_set_layer_limits(mascri_image_store_t *s, uint64_t max_bytes,
                                         uint64_t max_entries)
{
  s->layer_max_bytes = max_bytes ? max_bytes : MASCRI_LAYER_DEFAULT_MAX_BYTES;
  s->layer_max_entries = max_entries ? max_entries : MASCRI_LAYER_DEFAULT_MAX_ENTRIES;
}

int mascri_image_store_open(const char *root, mascri_image_store_t **out, mascri_error_t *err)
{
  if (!root)
    root = MASCRI_IMAGE_DEFAULT_ROOT;
  if (mascri_mkdir_p(root, 0711, err) < 0)
    return mascri_error_wrap(err, "image store");
  mascri_image_store_t *s = xmalloc0(sizeof(*s));
  s->root = xstrdup(root);
  mascri_image_store_set_layer_limits(s, 0, 0);
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->cond, NULL);
  s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->rootfd < 0) {
    mascri_make_error(err, errno, "open %s", root);
    goto fail;
  }
  for (size_t i = 0; i < ARRAY_SIZE(store_dirs); i++) {
    if (mkdirat(s->rootfd, store_dirs[i], 0700) < 0 && errno != EEXIST) {
      mascri_make_error(err, errno, "mkdir %s/%s", root, store_dirs[i]);
      goto fail;
    }
  }
  clean_tmp(s);
  clean_atomic_leftovers(s, "images");
  clean_atomic_leftovers(s, "blobs/sha256");
  if (layers_check(s, err) < 0 || images_load(s, err) < 0)
    goto fail;
  *out = s;
  return 0;
fail:
  mascri_image_store_close(s);
  return mascri_error_wrap(err, "image store %s", root);
}

void mascri_image_store_close(mascri_image_store_t *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n_images; i++)
    image_rec_free(s->images[i]);
  free(s->images);
  while (s->holds) {
    struct layer_hold *h = s->holds;
    s->holds = h->next;
    free(h->chain_id);
    free(h);
  }
  if (s->rootfd >= 0)
    close(s->rootfd);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->lock);
  free(s->root);
  free(s);
}

const char *mascri_image_store_root(const mascri_image_store_t *s)
{
  return s->root;
}
