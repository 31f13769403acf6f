/* Content-addressed blobs (manifests and configs): blobs/sha256/<hex>, verified on the
 * way in and on the way out. */
#include <fcntl.h>
#include <sys/file.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/store-internal.h"

static char *blob_path(const char *digest)
{
  return xasprintf("blobs/sha256/%s", digest_hex(digest));
}

int blob_put(mascri_image_store_t *s, const char *digest, const void *buf, size_t len,
             mascri_error_t *err)
{
  _cleanup_free_ char *actual = mascri_digest_buffer(buf, len);
  if (strcmp(actual, digest) != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "digest mismatch: expected %s, got %s", digest, actual);
  _cleanup_close_ int dfd = openat(s->rootfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return mascri_make_error(err, errno, "open blobs/sha256");
  /* The atomic write's temporary name is per process: two threads putting the same blob
   * (imports or pulls of one image at once) would share it, and one rename failed. */
  pthread_mutex_lock(&s->lock);
  int r = blob_exists(s, digest)
              ? 0
              : mascri_write_file_atomic_at(dfd, digest_hex(digest), buf, len, 0644, err);
  pthread_mutex_unlock(&s->lock);
  return r;
}

bool blob_exists(mascri_image_store_t *s, const char *digest)
{
  _cleanup_free_ char *p = blob_path(digest);
  return faccessat(s->rootfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int blob_get(mascri_image_store_t *s, const char *digest, char **buf, size_t *len,
             mascri_error_t *err)
{
  _cleanup_free_ char *p = blob_path(digest);
  _cleanup_free_ char *data = NULL;
  if (mascri_read_file_at(s->rootfd, p, &data, len, err) < 0)
    return -1;
  _cleanup_free_ char *actual = mascri_digest_buffer(data, *len);
  if (strcmp(actual, digest) != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INTERNAL, 0,
                                  "store corrupt: blob %s has digest %s", digest, actual);
  *buf = TAKE_PTR(data);
  return 0;
}

int blobs_gc_locked(mascri_image_store_t *s, mascri_error_t *err)
{
  _cleanup_close_ int lk = store_lock(s, LOCK_EX | LOCK_NB);
  if (lk < 0) {
    s->gc_pending = true; /* busy: a pull may be about to reference blobs; collect later */
    return 0;
  }
  _cleanup_strv_ char **dchains = NULL, **dblobs = NULL;
  image_refs_on_disk(s, &dchains, &dblobs);
  _cleanup_closedir_ DIR *d = mascri_opendir_at(s->rootfd, "blobs/sha256", 0);
  if (!d)
    return mascri_make_error(err, errno, "open blobs/sha256");
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    bool used = false;
    for (char **b = dblobs; !used && *b; b++)
      used = strcmp(digest_hex(*b), de->d_name) == 0;
    for (size_t i = 0; !used && i < s->n_images; i++) {
      struct image_rec *r = s->images[i];
      used = strcmp(digest_hex(r->id), de->d_name) == 0 ||
             (r->manifest_digest && strcmp(digest_hex(r->manifest_digest), de->d_name) == 0);
    }
    if (!used && unlinkat(dirfd(d), de->d_name, 0) < 0)
      return mascri_make_error(err, errno, "remove blob %s", de->d_name);
  }
  return 0;
}
