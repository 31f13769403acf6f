#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/xalloc.h"

int mascri_write_all(int fd, const void *buf, size_t len, mascri_error_t *err)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return mascri_make_error(err, errno, "write");
    if (w == 0)
      return mascri_make_error(err, EIO, "write returned 0");
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int mascri_read_all(int fd, char **buf, size_t *len, mascri_error_t *err)
{
  size_t cap = 4096, n = 0;
  _cleanup_free_ char *out = xmalloc(cap);
  for (;;) {
    if (cap - n < 2) {
      cap *= 2;
      out = xrealloc(out, cap);
    }
    ssize_t r = read(fd, out + n, cap - n - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return mascri_make_error(err, errno, "read");
    if (r == 0)
      break;
    n += (size_t)r;
  }
  out[n] = '\0';
  *buf = TAKE_PTR(out);
  if (len)
    *len = n;
  return 0;
}

int mascri_read_file_at(int dirfd, const char *path, char **buf, size_t *len, mascri_error_t *err)
{
  _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return mascri_make_error_kind(err, e == ENOENT ? MASCRI_ERR_NOT_FOUND : MASCRI_ERR_INTERNAL, e,
                                  "open `%s`", path);
  }
  if (mascri_read_all(fd, buf, len, err) < 0)
    return mascri_error_wrap(err, "read `%s`", path);
  return 0;
}

int mascri_read_file(const char *path, char **buf, size_t *len, mascri_error_t *err)
{
  return mascri_read_file_at(AT_FDCWD, path, buf, len, err);
}

int mascri_read_regular_file(const char *path, size_t max, char **buf, size_t *len,
                             mascri_error_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    return mascri_make_error_kind(err,
                                  e == ENOENT ? MASCRI_ERR_NOT_FOUND : MASCRI_ERR_INVALID_ARGUMENT,
                                  e, "open `%s`%s", path, e == ELOOP ? " (a symlink)" : "");
  }
  struct stat st;
  if (fstat(fd, &st) < 0)
    return mascri_make_error(err, errno, "stat `%s`", path);
  if (!S_ISREG(st.st_mode))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "`%s` is not a regular file",
                                  path);
  if ((uint64_t)st.st_size > max)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "`%s` is %lld bytes, more than the limit of %zu", path,
                                  (long long)st.st_size, max);
  /* the size may grow under us: never read more than max + 1 bytes */
  _cleanup_free_ char *out = xmalloc(max + 2);
  size_t n = 0;
  while (n <= max) {
    ssize_t r = read(fd, out + n, max + 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return mascri_make_error(err, errno, "read `%s`", path);
    if (r == 0)
      break;
    n += (size_t)r;
  }
  if (n > max)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "`%s` grew past the limit of %zu bytes", path, max);
  out[n] = '\0';
  *buf = TAKE_PTR(out);
  if (len)
    *len = n;
  return 0;
}

int mascri_write_file_at(int dirfd, const char *path, const char *data, size_t len,
                         mascri_error_t *err)
{
  _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return mascri_make_error(err, errno, "open `%s` for writing", path);
  if (mascri_write_all(fd, data, len, err) < 0)
    return mascri_error_wrap(err, "write `%s`", path);
  return 0;
}

int mascri_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
                                mode_t mode, mascri_error_t *err)
{
  _cleanup_free_ char *dir = NULL;
  const char *base = strrchr(name, '/');
  _cleanup_close_ int own_dirfd = -1;
  if (base) {
    dir = xstrndup(name, (size_t)(base - name) + (base == name));
    own_dirfd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (own_dirfd < 0)
      return mascri_make_error(err, errno, "open directory `%s`", dir);
    dirfd = own_dirfd;
    base++;
  } else {
    base = name;
  }

  _cleanup_free_ char *tmp = xasprintf(".%s.tmp.%d", base, (int)getpid());
  _cleanup_close_ int fd =
      openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return mascri_make_error(err, errno, "create `%s`", tmp);
  if (fchmod(fd, mode) < 0 || mascri_write_all(fd, data, len, err) < 0 || fsync(fd) < 0) {
    if (*err == NULL)
      mascri_make_error(err, errno, "write `%s`", tmp);
    unlinkat(dirfd, tmp, 0);
    return mascri_error_wrap(err, "write `%s` atomically", name);
  }
  if (renameat(dirfd, tmp, dirfd, base) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    return mascri_make_error(err, e, "rename `%s` to `%s`", tmp, name);
  }
  if (dirfd == AT_FDCWD)
    return mascri_fsync_dir(".", err);
  if (fsync(dirfd) < 0)
    return mascri_make_error(err, errno, "fsync directory of `%s`", name);
  return 0;
}

int mascri_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             mascri_error_t *err)
{
  return mascri_write_file_atomic_at(AT_FDCWD, path, data, len, mode, err);
}

int mascri_fsync_dir(const char *path, mascri_error_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open directory `%s`", path);
  if (fsync(fd) < 0)
    return mascri_make_error(err, errno, "fsync directory `%s`", path);
  return 0;
}

int mascri_mkdir_p(const char *path, mode_t mode, mascri_error_t *err)
{
  _cleanup_free_ char *copy = xstrdup(path);
  size_t len = strlen(copy);
  while (len > 1 && copy[len - 1] == '/')
    copy[--len] = '\0';
  for (char *p = copy + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(copy, mode) < 0 && errno != EEXIST)
      return mascri_make_error(err, errno, "mkdir `%s`", copy);
    *p = saved;
    if (saved == '\0')
      break;
  }
  struct stat st;
  if (stat(copy, &st) < 0)
    return mascri_make_error(err, errno, "stat `%s`", copy);
  if (!S_ISDIR(st.st_mode))
    return mascri_make_error(err, ENOTDIR, "mkdir `%s`", copy);
  return 0;
}

DIR *mascri_opendir_at(int dirfd, const char *path, int flags)
{
  int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
  if (fd < 0)
    return NULL;
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
  return d;
}

static int rm_dir_contents(DIR *d, const char *what, mascri_error_t *err)
{
  struct dirent *de;
  while ((errno = 0, de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (mascri_rm_rf_at(dirfd(d), de->d_name, err) < 0)
      return mascri_error_wrap(err, "in `%s`", what);
  }
  return 0;
}

int mascri_rm_rf_at(int dirfd, const char *name, mascri_error_t *err)
{
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return mascri_make_error(err, errno, "unlink `%s`", name);
  DIR *d = mascri_opendir_at(dirfd, name, O_NOFOLLOW);
  if (d == NULL) {
    if (errno == ENOENT)
      return 0;
    return mascri_make_error(err, errno, "open `%s`", name);
  }
  int r = rm_dir_contents(d, name, err);
  closedir(d);
  if (r < 0)
    return -1;
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return mascri_make_error(err, errno, "rmdir `%s`", name);
  return 0;
}

int mascri_rm_rf(const char *path, mascri_error_t *err)
{
  return mascri_rm_rf_at(AT_FDCWD, path, err);
}

/* Component-by-component walk that treats rootfd as "/" for absolute symlinks and
 * clamps ".." at the root. Symlinks are followed at most 40 times in all. */
static int open_in_root_walk(int rootfd, int startfd, const char *path, int flags, mode_t mode,
                             int *links, mascri_error_t *err);

static int walk_step(int rootfd, int *cur, const char *comp, bool last, int flags, mode_t mode,
                     int *links, mascri_error_t *err)
{
  if (strcmp(comp, "..") == 0) {
    struct stat a, b;
    if (fstat(*cur, &a) == 0 && fstat(rootfd, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
      return 0; /* clamp at the root */
  }
  char target[PATH_MAX];
  ssize_t n = readlinkat(*cur, comp, target, sizeof(target) - 1);
  if (n >= 0) {
    if (last && (flags & O_NOFOLLOW) && !(flags & O_PATH))
      return mascri_make_error(err, ELOOP, "open `%s`", comp);
    if (last && (flags & O_NOFOLLOW)) {
      int fd = openat(*cur, comp, flags | O_CLOEXEC, mode);
      if (fd < 0)
        return mascri_make_error(err, errno, "open `%s`", comp);
      close(*cur);
      *cur = fd;
      return 0;
    }
    if (++*links > 40)
      return mascri_make_error(err, ELOOP, "resolve `%s`", comp);
    target[n] = '\0';
    int start = target[0] == '/' ? rootfd : *cur;
    int next = open_in_root_walk(rootfd, start, target, last ? flags : (O_PATH | O_DIRECTORY), mode,
                                 links, err);
    if (next < 0)
      return -1;
    close(*cur);
    *cur = next;
    return 0;
  }
  int oflags = last ? (flags | O_NOFOLLOW) : (O_PATH | O_DIRECTORY | O_NOFOLLOW);
  int fd = openat(*cur, comp, oflags | O_CLOEXEC, mode);
  if (fd < 0)
    return mascri_make_error(err, errno, "open `%s`", comp);
  close(*cur);
  *cur = fd;
  return 0;
}

static int open_in_root_walk(int rootfd, int startfd, const char *path, int flags, mode_t mode,
                             int *links, mascri_error_t *err)
{
  _cleanup_close_ int cur = fcntl(path[0] == '/' ? rootfd : startfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return mascri_make_error(err, errno, "dup root fd");
  _cleanup_free_ char *copy = xstrdup(path);
  char *save = NULL;
  char *comp = strtok_r(copy, "/", &save);
  if (comp == NULL) {
    int fd = openat(cur, ".", flags | O_CLOEXEC, mode);
    return fd < 0 ? mascri_make_error(err, errno, "open root") : fd;
  }
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    if (strcmp(comp, ".") != 0 || next == NULL) {
      if (walk_step(rootfd, &cur, comp, next == NULL, flags, mode, links, err) < 0)
        return -1;
    }
    comp = next;
  }
  return TAKE_FD(cur);
}

int mascri_open_in_root_fallback(int rootfd, const char *path, int flags, mode_t mode,
                                 mascri_error_t *err)
{
  int links = 0;
  int fd = open_in_root_walk(rootfd, rootfd, path, flags, mode, &links, err);
  if (fd < 0)
    return mascri_error_wrap(err, "open `%s` in root", path);
  return fd;
}

int mascri_open_in_root(int rootfd, const char *path, int flags, mode_t mode, mascri_error_t *err)
{
  struct open_how how = {
      .flags = (unsigned long long)(flags | O_CLOEXEC),
      .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd;
  do
    fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
  while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd >= 0)
    return (int)fd;
  if (errno == ENOSYS || errno == EPERM)
    return mascri_open_in_root_fallback(rootfd, path, flags, mode, err);
  return mascri_make_error(err, errno, "open `%s` in root", path);
}

bool mascri_path_exists(const char *path)
{
  return access(path, F_OK) == 0;
}

bool mascri_path_is_normal(const char *path)
{
  if (path == NULL || path[0] == '\0')
    return false;
  if (strcmp(path, "/") == 0)
    return true;
  const char *p = path[0] == '/' ? path + 1 : path;
  for (;;) {
    size_t n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
      return false;
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
        return false;
    if (p[n] == '\0')
      return true;
    p += n + 1;
  }
}

char *mascri_path_join(const char *a, const char *b)
{
  size_t la = strlen(a);
  while (la > 0 && a[la - 1] == '/')
    la--;
  while (*b == '/')
    b++;
  return xasprintf("%.*s/%s", (int)la, a, b);
}

struct in_dir_call {
  int dirfd;
  int (*fn)(void *arg, mascri_error_t *err);
  void *arg;
  mascri_error_t *err;
  int ret;
};

static void *in_dir_thread(void *p)
{
  struct in_dir_call *c = p;
  if (unshare(CLONE_FS) < 0)
    c->ret = mascri_make_error(c->err, errno, "unshare(CLONE_FS)");
  else if (fchdir(c->dirfd) < 0)
    c->ret = mascri_make_error(c->err, errno, "fchdir");
  else
    c->ret = c->fn(c->arg, c->err);
  return NULL;
}

int mascri_run_in_dir(int dirfd, int (*fn)(void *arg, mascri_error_t *err), void *arg,
                      mascri_error_t *err)
{
  struct in_dir_call c = {.dirfd = dirfd, .fn = fn, .arg = arg, .err = err, .ret = -1};
  pthread_t t;
  int e = pthread_create(&t, NULL, in_dir_thread, &c);
  if (e != 0)
    return mascri_make_error(err, e, "start a thread");
  pthread_join(t, NULL);
  return c.ret;
}
