#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/image.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

struct dir_time {
  char *path;
  struct timespec ts[2];
};

struct unpack_ctx {
  int rootfd;
  struct archive *a;
  struct mascri_unpack_stats stats;
  struct dir_time *dirs;
  size_t n_dirs;
  char *cache_dir; /* the last parent directory opened, kept for the next entries */
  int cache_fd;
};

#define RETRY_AFTER_CLEAR 1 /* a make_* result: something is in the way, clear and retry */

static int refuse(mascri_error_t *err, const char *name, const char *why)
{
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "layer entry \"%s\": %s", name,
                                why);
}

char *mascri_unpack_clean_path(const char *name, mascri_error_t *err)
{
  if (!name) {
    refuse(err, "", "entry without a name");
    return NULL;
  }
  if (name[0] == '/') {
    refuse(err, name, "absolute path");
    return NULL;
  }
  char *out = xmalloc(strlen(name) + 1);
  size_t o = 0;
  for (const char *c = name; *c;) {
    const char *e = strchrnul(c, '/');
    size_t n = e - c;
    if (n == 2 && c[0] == '.' && c[1] == '.') {
      free(out);
      refuse(err, name, "\"..\" component");
      return NULL;
    }
    if (n > 0 && !(n == 1 && c[0] == '.')) {
      if (o)
        out[o++] = '/';
      memcpy(out + o, c, n);
      o += n;
    }
    c = *e ? e + 1 : e;
  }
  out[o] = '\0';
  return out;
}

/* Opens the directory at path below rootfd (which must be a directory fd), creating
 * missing components (0755), never following a symlink. */
static int open_dir_nofollow(int rootfd, const char *path, bool create, mascri_error_t *err)
{
  _cleanup_close_ int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0)
    return mascri_make_error(err, errno, "open layer root");
  _cleanup_free_ char *copy = xstrdup(path);
  char *save = NULL;
  for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
    int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
        return mascri_make_error(err, errno, "mkdir %s in %s", comp, path);
      fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ENOTDIR || errno == ELOOP)
        return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                      "layer path \"%s\": component \"%s\" is a symlink or not "
                                      "a directory",
                                      path, comp);
      return mascri_make_error(err, errno, "open %s", path);
    }
    close(cur);
    cur = fd;
  }
  return TAKE_FD(cur);
}

static void cache_drop(struct unpack_ctx *c)
{
  if (c->cache_fd >= 0)
    close(c->cache_fd);
  c->cache_fd = -1;
  free(c->cache_dir);
  c->cache_dir = NULL;
}

/* The parent directory of the next entry (borrowed: valid until the next call). */
static int parent_fd(struct unpack_ctx *c, const char *dir, mascri_error_t *err)
{
  if (c->cache_fd >= 0 && strcmp(c->cache_dir, dir) == 0)
    return c->cache_fd;
  cache_drop(c);
  int fd = open_dir_nofollow(c->rootfd, dir, true, err);
  if (fd < 0)
    return -1;
  c->cache_fd = fd;
  c->cache_dir = xstrdup(dir);
  return fd;
}

/* Removes what is at dir/name (parentfd is dir) unless both it and the new entry are
 * directories. Removing a directory forgets the cached parent when it was inside. */
static int clear_target(struct unpack_ctx *c, int parentfd, const char *dir, const char *name,
                        bool new_is_dir, mascri_error_t *err)
{
  struct stat st;
  if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : mascri_make_error(err, errno, "stat %s", name);
  if (S_ISDIR(st.st_mode)) {
    if (new_is_dir)
      return 0;
    _cleanup_free_ char *gone = *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
    size_t n = strlen(gone);
    if (c->cache_dir && strncmp(c->cache_dir, gone, n) == 0 &&
        (c->cache_dir[n] == '\0' || c->cache_dir[n] == '/'))
      cache_drop(c); /* never parentfd: that is dir, above gone */
    return mascri_rm_rf_at(parentfd, name, err);
  }
  if (unlinkat(parentfd, name, 0) < 0)
    return mascri_make_error(err, errno, "unlink %s", name);
  return 0;
}

static int apply_xattrs(int fd, struct archive_entry *e, const char *path, mascri_error_t *err)
{
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    /* An image must not fake overlay metadata (opaque dirs, redirects). */
    if (strncmp(name, "trusted.overlay.", 16) == 0)
      continue;
    if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP)
      return mascri_make_error(err, errno, "set xattr %s on %s", name, path);
  }
  return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
  ts[1].tv_sec = archive_entry_mtime(e);
  ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    ts[0].tv_sec = archive_entry_atime(e);
    ts[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    ts[0] = ts[1];
  }
}

/* Owner, then mode (so setuid/setgid bits survive the chown), xattrs, times. */
static int apply_meta_fd(int fd, struct archive_entry *e, const char *path, bool times,
                         mascri_error_t *err)
{
  if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
    return mascri_make_error(err, errno, "chown %s", path);
  if (fchmod(fd, archive_entry_mode(e) & 07777) < 0)
    return mascri_make_error(err, errno, "chmod %s", path);
  if (apply_xattrs(fd, e, path, err) < 0)
    return -1;
  if (times) {
    struct timespec ts[2];
    entry_times(e, ts);
    if (futimens(fd, ts) < 0)
      return mascri_make_error(err, errno, "set times of %s", path);
  }
  return 0;
}

static int write_data(struct unpack_ctx *c, int fd, const char *path, int64_t *end_out,
                      mascri_error_t *err)
{
  const void *buf;
  size_t size;
  la_int64_t offset;
  int64_t end = 0;
  int r;
  while ((r = archive_read_data_block(c->a, &buf, &size, &offset)) == ARCHIVE_OK) {
    const char *p = buf;
    size_t left = size;
    while (left > 0) {
      ssize_t w = pwrite(fd, p, left, offset);
      if (w < 0) {
        if (errno == EINTR)
          continue;
        return mascri_make_error(err, errno, "write %s", path);
      }
      p += w, left -= w, offset += w;
    }
    if (offset > end)
      end = offset;
    c->stats.bytes += size;
  }
  if (r != ARCHIVE_EOF)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "read %s from layer: %s",
                                  path, archive_error_string(c->a));
  *end_out = end;
  return 0;
}

static int make_file(struct unpack_ctx *c, int parentfd, const char *base, const char *path,
                     struct archive_entry *e, mascri_error_t *err)
{
  _cleanup_close_ int fd =
      openat(parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int64_t end = 0;
  if (fd < 0 && errno == EEXIST)
    return RETRY_AFTER_CLEAR;
  if (fd < 0)
    return mascri_make_error(err, errno, "create %s", path);
  if (write_data(c, fd, path, &end, err) < 0)
    return -1;
  if (end != archive_entry_size(e) && ftruncate(fd, archive_entry_size(e)) < 0)
    return mascri_make_error(err, errno, "truncate %s", path); /* sparse tail */
  return apply_meta_fd(fd, e, path, true, err);
}

static int make_dir(struct unpack_ctx *c, int parentfd, const char *base, const char *path,
                    struct archive_entry *e, mascri_error_t *err)
{
  if (mkdirat(parentfd, base, 0700) < 0 && errno != EEXIST)
    return mascri_make_error(err, errno, "mkdir %s", path);
  _cleanup_close_ int fd = openat(parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
    return RETRY_AFTER_CLEAR; /* a file or symlink of the same name is in the way */
  if (fd < 0)
    return mascri_make_error(err, errno, "open directory %s", path);
  if (apply_meta_fd(fd, e, path, false, err) < 0)
    return -1;
  c->dirs = xrealloc(c->dirs, (c->n_dirs + 1) * sizeof(*c->dirs));
  c->dirs[c->n_dirs].path = xstrdup(path);
  entry_times(e, c->dirs[c->n_dirs].ts);
  c->n_dirs++;
  return 0;
}

static int make_link(struct unpack_ctx *c, int parentfd, const char *base, const char *path,
                     struct archive_entry *e, mascri_error_t *err)
{
  _cleanup_free_ char *target = mascri_unpack_clean_path(archive_entry_hardlink(e), err);
  if (!target)
    return mascri_error_wrap(err, "hard link %s", path);
  if (!*target)
    return refuse(err, path, "hard link to the layer root");
  _cleanup_free_ char *tdir = xstrdup(target);
  char *slash = strrchr(tdir, '/');
  const char *tbase = slash ? slash + 1 : tdir;
  if (slash)
    *slash = '\0';
  _cleanup_close_ int tparent = open_dir_nofollow(c->rootfd, slash ? tdir : "", false, err);
  if (tparent < 0)
    return mascri_error_wrap(err, "hard link %s", path);
  _cleanup_close_ int tfd = openat(tparent, tbase, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (tfd < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, errno,
                                  "layer entry \"%s\": hard link target \"%s\"", path, target);
  if (linkat(tfd, "", parentfd, base, AT_EMPTY_PATH) < 0)
    return errno == EEXIST ? RETRY_AFTER_CLEAR
                           : mascri_make_error(err, errno, "hard link %s to %s", path, target);
  return 0;
}

static int make_special(int parentfd, const char *base, const char *path, struct archive_entry *e,
                        mascri_error_t *err)
{
  struct timespec ts[2];
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFLNK) {
    if (symlinkat(archive_entry_symlink(e) ? archive_entry_symlink(e) : "", parentfd, base) < 0)
      return errno == EEXIST ? RETRY_AFTER_CLEAR
                             : mascri_make_error(err, errno, "symlink %s", path);
  } else {
    dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (mknodat(parentfd, base, type | 0600, type == AE_IFIFO ? 0 : dev) < 0)
      return errno == EEXIST ? RETRY_AFTER_CLEAR : mascri_make_error(err, errno, "mknod %s", path);
  }
  if (fchownat(parentfd, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
    return mascri_make_error(err, errno, "chown %s", path);
  /* The node was just made by us in a directory nobody else writes: not a symlink. */
  if (type != AE_IFLNK && fchmodat(parentfd, base, archive_entry_mode(e) & 07777, 0) < 0)
    return mascri_make_error(err, errno, "chmod %s", path);
  entry_times(e, ts);
  if (utimensat(parentfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return mascri_make_error(err, errno, "set times of %s", path);
  return 0;
}

/* .wh..wh..opq marks its directory opaque; .wh.NAME becomes a 0:0 character device. */
static int make_whiteout(struct unpack_ctx *c, int parentfd, const char *dir, const char *base,
                         const char *path, mascri_error_t *err)
{
  if (strcmp(base, WH_OPAQUE) == 0) {
    _cleanup_close_ int dfd = openat(parentfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return mascri_make_error(err, errno, "mark %s opaque", path);
    return 0;
  }
  if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
    return 0; /* other aufs metadata (.wh..wh.plnk, ...) means nothing to overlay */
  const char *victim = base + strlen(WH_PREFIX);
  if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0 || strchr(victim, '/'))
    return refuse(err, path, "invalid whiteout");
  if (clear_target(c, parentfd, dir, victim, false, err) < 0)
    return -1;
  if (mknodat(parentfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
    return mascri_make_error(err, errno, "whiteout %s", path);
  return 0;
}

static int make_entry(struct unpack_ctx *c, int parentfd, const char *base, const char *path,
                      struct archive_entry *e, mascri_error_t *err)
{
  if (archive_entry_hardlink(e))
    return make_link(c, parentfd, base, path, e, err);
  switch (archive_entry_filetype(e)) {
  case AE_IFREG:
    return make_file(c, parentfd, base, path, e, err);
  case AE_IFDIR:
    return make_dir(c, parentfd, base, path, e, err);
  case AE_IFLNK:
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO:
    return make_special(parentfd, base, path, e, err);
  default:
    return refuse(err, path, "unsupported file type");
  }
}

static int unpack_entry(struct unpack_ctx *c, struct archive_entry *e, mascri_error_t *err)
{
  const char *raw = archive_entry_pathname(e);
  _cleanup_free_ char *path = mascri_unpack_clean_path(raw, err);
  if (!path)
    return -1;
  if (!*path)
    return 0; /* the layer root itself: keep the store's ownership and mode */
  char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  _cleanup_free_ char *dir = slash ? xstrndup(path, slash - path) : xstrdup("");
  int parentfd = parent_fd(c, dir, err);
  if (parentfd < 0)
    return -1;
  if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
    return make_whiteout(c, parentfd, dir, base, path, err);
  /* create first; only when something is in the way, look at it and clear it */
  int r = make_entry(c, parentfd, base, path, e, err);
  if (r != RETRY_AFTER_CLEAR)
    return r;
  bool is_dir = archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e);
  if (clear_target(c, parentfd, dir, base, is_dir, err) < 0)
    return -1;
  r = make_entry(c, parentfd, base, path, e, err);
  return r == RETRY_AFTER_CLEAR ? mascri_make_error(err, EEXIST, "create %s", path) : r;
}

/* Directory times last, deepest first, so creating children does not change them. */
static int apply_dir_times(struct unpack_ctx *c, mascri_error_t *err)
{
  for (size_t i = c->n_dirs; i-- > 0;) {
    _cleanup_close_ int fd = open_dir_nofollow(c->rootfd, c->dirs[i].path, false, err);
    if (fd < 0) {
      if (mascri_error_kind(err) == MASCRI_ERR_INVALID_ARGUMENT)
        return -1;
      mascri_error_release(err); /* removed by a later entry */
      continue;
    }
    _cleanup_close_ int rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0 || futimens(rfd, c->dirs[i].ts) < 0)
      return mascri_make_error(err, errno, "set times of %s", c->dirs[i].path);
  }
  return 0;
}

static void ctx_clear(struct unpack_ctx *c)
{
  cache_drop(c);
  if (c->a)
    archive_read_free(c->a);
  for (size_t i = 0; i < c->n_dirs; i++)
    free(c->dirs[i].path);
  free(c->dirs);
}

/* The outer archive only decompresses ("raw" format); its bytes are hashed (the diff ID)
 * and fed to the inner archive, which reads the tar. */
struct raw_source {
  struct archive *raw;
  mascri_digester_t *digest;
  uint64_t size;
  uint64_t max_size;
  bool too_big; /* stopped at max_size */
};

static la_ssize_t raw_read(struct archive *inner, void *data, const void **buf)
{
  struct raw_source *s = data;
  const void *b;
  size_t n;
  la_int64_t off;
  int r = archive_read_data_block(s->raw, &b, &n, &off);
  if (r == ARCHIVE_EOF)
    return 0;
  if (r != ARCHIVE_OK) {
    archive_set_error(inner, EIO, "decompress: %s", archive_error_string(s->raw));
    return -1;
  }
  if (n > s->max_size - s->size) { /* a decompression bomb stops here, not at the disk's end */
    s->too_big = true;
    archive_set_error(inner, EFBIG, "more than %llu bytes uncompressed",
                      (unsigned long long)s->max_size);
    return -1;
  }
  mascri_digester_update(s->digest, b, n);
  s->size += n;
  *buf = b;
  return (la_ssize_t)n;
}

static int open_raw(int fd, struct raw_source *s, mascri_error_t *err)
{
  struct archive_entry *e;
  s->raw = archive_read_new();
  s->digest = mascri_digester_new();
  archive_read_support_filter_gzip(s->raw);
  archive_read_support_filter_zstd(s->raw);
  archive_read_support_format_raw(s->raw);
  archive_read_support_format_empty(s->raw);
  if (archive_read_open_fd(s->raw, fd, 256 * 1024) != ARCHIVE_OK ||
      archive_read_next_header(s->raw, &e) != ARCHIVE_OK)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "open layer: %s",
                                  archive_error_string(s->raw));
  return 0;
}

/* Reads what is left on fd so a writer on the other end of a pipe never blocks. */
static void drain(int fd)
{
  char buf[16384];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    ;
}

static int unpack_entries(struct unpack_ctx *c, mascri_error_t *err)
{
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header(c->a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    if (++c->stats.entries > c->stats.max_entries)
      return mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                                    "layer has more than %llu entries (the limit: "
                                    "--max-layer-entries)",
                                    (unsigned long long)c->stats.max_entries);
    if (unpack_entry(c, e, err) < 0)
      return -1;
  }
  if (r != ARCHIVE_EOF)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "read layer: %s",
                                  archive_error_string(c->a));
  return apply_dir_times(c, err);
}

int mascri_layer_unpack(int fd, int rootfd, struct mascri_unpack_stats *stats, mascri_error_t *err)
{
  _cleanup_(ctx_clear) struct unpack_ctx c = {.rootfd = rootfd, .cache_fd = -1};
  c.stats.max_bytes = stats && stats->max_bytes ? stats->max_bytes : MASCRI_LAYER_DEFAULT_MAX_BYTES;
  c.stats.max_entries =
      stats && stats->max_entries ? stats->max_entries : MASCRI_LAYER_DEFAULT_MAX_ENTRIES;
  struct raw_source s = {.max_size = c.stats.max_bytes};
  int r = open_raw(fd, &s, err);
  if (r == 0) {
    c.a = archive_read_new();
    archive_read_support_format_tar(c.a);
    archive_read_support_format_empty(c.a);
    if (archive_read_open(c.a, &s, NULL, raw_read, NULL) != ARCHIVE_OK)
      r = mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "open layer: %s",
                                 archive_error_string(c.a));
  }
  if (r == 0)
    r = unpack_entries(&c, err);
  if (r == 0) {
    const void *b;
    la_ssize_t n;
    /* hash what the tar reader did not need (zero blocks, padding) */
    while ((n = raw_read(c.a, &s, &b)) > 0)
      ;
    if (n < 0)
      r = mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "read layer: %s",
                                 archive_error_string(c.a));
  }
  if (r < 0 && s.too_big) {
    mascri_error_release(err);
    r = mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                               "layer unpacks to more than %llu bytes (the limit: "
                               "--max-layer-size)",
                               (unsigned long long)s.max_size);
  }
  if (r == 0) {
    c.stats.diff_id = mascri_digester_finish(s.digest);
    c.stats.tar_size = s.size;
    if (stats)
      *stats = c.stats, c.stats.diff_id = NULL;
  }
  free(c.stats.diff_id);
  if (s.raw)
    archive_read_free(s.raw);
  if (s.digest)
    mascri_digester_free(s.digest);
  drain(fd);
  return r;
}
