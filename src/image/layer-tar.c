#include "image/layer-tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "image/digest.h"

struct hardlink {
  dev_t dev;
  ino_t ino;
  char *path;
};

struct tar_ctx {
  struct archive *a;
  int out_fd;
  mascri_digester_t *digest;
  uint64_t size;
  struct hardlink *links;
  size_t n_links;
  mascri_error_t *err;
};

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf, size_t len)
{
  struct tar_ctx *c = data;
  mascri_digester_update(c->digest, buf, len);
  c->size += len;
  if (mascri_write_all(c->out_fd, buf, len, c->err) < 0) {
    archive_set_error(a, EIO, "write");
    return -1;
  }
  return (la_ssize_t)len;
}

static int add_header(struct tar_ctx *c, struct archive_entry *e, mascri_error_t *err)
{
  if (archive_write_header(c->a, e) != ARCHIVE_OK)
    return mascri_make_error(err, 0, "tar %s: %s", archive_entry_pathname(e),
                             archive_error_string(c->a));
  return 0;
}

static int add_whiteout(struct tar_ctx *c, const char *dir, const char *name, mascri_error_t *err)
{
  struct archive_entry *e = archive_entry_new();
  _cleanup_free_ char *p = xasprintf("%s%s.wh.%s", dir, *dir ? "/" : "", name);
  archive_entry_set_pathname(e, p);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0600);
  archive_entry_set_size(e, 0);
  int r = add_header(c, e, err);
  archive_entry_free(e);
  return r;
}

static void add_xattrs(int fd, struct archive_entry *e, bool *opaque)
{
  char names[4096];
  ssize_t n = flistxattr(fd, names, sizeof(names));
  for (ssize_t off = 0; n > 0 && off < n; off += strlen(names + off) + 1) {
    const char *name = names + off;
    char value[4096];
    ssize_t vl = fgetxattr(fd, name, value, sizeof(value));
    if (strcmp(name, "trusted.overlay.opaque") == 0) {
      *opaque = vl == 1 && value[0] == 'y';
      continue;
    }
    if (strncmp(name, "trusted.overlay.", 16) == 0 || vl < 0)
      continue;
    archive_entry_xattr_add_entry(e, name, value, vl);
  }
}

static int copy_data(struct tar_ctx *c, int fd, const char *path, mascri_error_t *err)
{
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return mascri_make_error(err, errno, "read %s", path);
    }
    if (archive_write_data(c->a, buf, n) != n)
      return mascri_make_error(err, 0, "tar %s: %s", path, archive_error_string(c->a));
  }
  return 0;
}

static int walk(struct tar_ctx *c, int dfd, const char *rel, mascri_error_t *err);

/* One entry; regular files and directories are read through an O_NOFOLLOW fd. */
static int add_entry(struct tar_ctx *c, int dfd, const char *dir, const char *name,
                     mascri_error_t *err)
{
  struct stat st;
  _cleanup_free_ char *path = xasprintf("%s%s%s", dir, *dir ? "/" : "", name);
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return mascri_make_error(err, errno, "stat %s", path);
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
    return add_whiteout(c, dir, name, err);
  struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, &st);
  archive_entry_set_pathname(e, path);
  archive_entry_set_uname(e, "");
  archive_entry_set_gname(e, "");
  _cleanup_close_ int fd = -1;
  bool opaque = false;
  int r = 0;
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    for (size_t i = 0; i < c->n_links; i++) {
      if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino) {
        archive_entry_set_hardlink(e, c->links[i].path);
        archive_entry_set_size(e, 0);
        r = add_header(c, e, err);
        archive_entry_free(e);
        return r;
      }
    }
    c->links = xrealloc(c->links, (c->n_links + 1) * sizeof(*c->links));
    c->links[c->n_links++] = (struct hardlink){st.st_dev, st.st_ino, xstrdup(path)};
  }
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
    if (n < 0) {
      archive_entry_free(e);
      return mascri_make_error(err, errno, "readlink %s", path);
    }
    target[n] = '\0';
    archive_entry_set_symlink(e, target);
  } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    fd = openat(dfd, name,
                O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0) {
      archive_entry_free(e);
      return mascri_make_error(err, errno, "open %s", path);
    }
    add_xattrs(fd, e, &opaque);
  }
  r = add_header(c, e, err);
  archive_entry_free(e);
  if (r == 0 && S_ISREG(st.st_mode))
    r = copy_data(c, fd, path, err);
  if (r == 0 && opaque)
    r = add_whiteout(c, path, ".wh..opq", err);
  if (r == 0 && S_ISDIR(st.st_mode))
    r = walk(c, TAKE_FD(fd), path, err);
  return r;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int filter_dots(const struct dirent *d)
{
  return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Takes ownership of dfd. Entries in name order, so the same directory gives the same tar. */
static int walk(struct tar_ctx *c, int dfd, const char *rel, mascri_error_t *err)
{
  _cleanup_close_ int fd = dfd;
  struct dirent **list = NULL;
  _cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", fd);
  int n = scandir(self, &list, filter_dots, by_name);
  int r = 0;
  if (n < 0)
    return mascri_make_error(err, errno, "list %s", *rel ? rel : "/");
  for (int i = 0; i < n; i++) {
    if (r == 0)
      r = add_entry(c, fd, rel, list[i]->d_name, err);
    free(list[i]);
  }
  free(list);
  return r;
}

int mascri_layer_tar(int dirfd, int out_fd, char **diff_id, uint64_t *size, mascri_error_t *err)
{
  struct tar_ctx c = {
      .a = archive_write_new(), .out_fd = out_fd, .digest = mascri_digester_new(), .err = err};
  archive_write_set_format_pax_restricted(c.a);
  archive_write_set_bytes_in_last_block(c.a, 1);
  int r = 0;
  int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    r = mascri_make_error(err, errno, "dup");
  else if (archive_write_open(c.a, &c, NULL, tar_write, NULL) != ARCHIVE_OK)
    r = mascri_make_error(err, 0, "tar: %s", archive_error_string(c.a)), close(fd);
  if (r == 0)
    r = walk(&c, fd, "", err);
  if (archive_write_close(c.a) != ARCHIVE_OK && r == 0)
    r = mascri_make_error(err, 0, "tar: %s", archive_error_string(c.a));
  archive_write_free(c.a);
  for (size_t i = 0; i < c.n_links; i++)
    free(c.links[i].path);
  free(c.links);
  if (r == 0) {
    *diff_id = mascri_digester_finish(c.digest);
    *size = c.size;
  }
  mascri_digester_free(c.digest);
  return r;
}
