/* Safe mount targets inside a rootfs; procfs-verified writes. */
#include "runtime/mount-util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"

char *fd_path(int fd)
{
  return xasprintf("/proc/self/fd/%d", fd);
}

bool fd_on_fs(int fd, unsigned long magic)
{
  struct statfs sfs;
  if (fstatfs(fd, &sfs) < 0)
    return false;
  return (unsigned long)sfs.f_type == magic;
}

int path_open_in_root(int rootfd, const char *path, bool missing_ok, mascri_error_t *err)
{
  mascri_error_t e = NULL;
  int fd = mascri_open_in_root(rootfd, path, O_PATH | O_CLOEXEC, 0, &e);
  if (fd >= 0)
    return fd;
  int r = mascri_error_retcode(&e);
  if (r == -ENOENT && missing_ok) {
    mascri_error_release(&e);
    return -ENOENT;
  }
  mascri_error_move(err, &e);
  return r < 0 ? r : -1;
}

/* Opens or creates one component below parent (an O_PATH directory fd in the root). */
static int create_component(int rootfd, int parent, const char *prefix, const char *name,
                            bool as_file, mascri_error_t *err)
{
  if (as_file) {
    int fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST)
      return mascri_make_error(err, errno, "create mount target %s", prefix);
    if (fd >= 0)
      close(fd);
  } else if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
    return mascri_make_error(err, errno, "create directory %s", prefix);
  }
  return path_open_in_root(rootfd, prefix, false, err);
}

/* A dangling symlink at component `name` of `prefix`: the path to create instead, with the
 * link resolved (inside the root, like RESOLVE_IN_ROOT would) and `rest` appended. */
static char *resolve_dangling(int parent, const char *prefix, const char *name, const char *rest)
{
  char target[4096];
  ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);
  if (n <= 0)
    return NULL;
  target[n] = '\0';
  _cleanup_free_ char *dir = xstrndup(prefix, strlen(prefix) - strlen(name));
  _cleanup_free_ char *base = target[0] == '/' ? xstrdup(target) : mascri_path_join(dir, target);
  return rest && rest[0] ? mascri_path_join(base, rest) : TAKE_PTR(base);
}

static int target_open_depth(int rootfd, const char *dest, bool is_file, int depth,
                             mascri_error_t *err);

static int walk_components(int rootfd, const char *dest, bool is_file, int depth,
                           mascri_error_t *err)
{
  _cleanup_free_ char *path = xstrdup(dest);
  _cleanup_close_ int parent = dup(rootfd);
  if (parent < 0)
    return mascri_make_error(err, errno, "dup");
  char *p = path;
  while (*p == '/')
    p++;
  if (*p == '\0')
    return TAKE_FD(parent);
  for (;;) {
    char *slash = strchr(p, '/');
    bool last = slash == NULL || slash[strspn(slash, "/")] == '\0';
    if (slash)
      *slash = '\0';
    if (strcmp(p, "..") == 0 || strcmp(p, ".") == 0)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "mount destination %s: \".\" and \"..\" are not allowed", dest);
    mascri_error_t e = NULL;
    int fd = path_open_in_root(rootfd, path, true, &e);
    if (fd == -ENOENT) {
      fd = create_component(rootfd, parent, path, p, last && is_file, &e);
      if (fd == -ENOENT) {
        /* a symlink to a missing path: create its target, inside the root */
        mascri_error_release(&e);
        _cleanup_free_ char *next = resolve_dangling(parent, path, p, last ? NULL : slash + 1);
        if (!next)
          return mascri_make_error(err, ENOENT, "mount destination %s", dest);
        return target_open_depth(rootfd, next, is_file, depth + 1, err);
      }
    }
    if (fd < 0) {
      mascri_error_move(err, &e);
      return -1;
    }
    close(parent);
    parent = fd;
    if (last)
      break;
    *slash = '/';
    p = slash + 1;
    while (*p == '/')
      p++;
  }
  return TAKE_FD(parent);
}

/* Second fast path: only the last component is missing (a mount point under an existing
 * directory, e.g. /dev/pts in a fresh /dev). Returns -1 for anything else, which the
 * component walk then handles (and reports). */
static int create_leaf(int rootfd, const char *dest, bool is_file)
{
  const char *slash = strrchr(dest, '/');
  if (!slash || !slash[1] || strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0)
    return -1;
  mascri_error_t e = NULL;
  _cleanup_free_ char *parent_path = xstrndup(dest, (size_t)(slash - dest));
  _cleanup_close_ int parent =
      path_open_in_root(rootfd, parent_path[0] ? parent_path : "/", true, &e);
  int fd = parent >= 0 ? create_component(rootfd, parent, dest, slash + 1, is_file, &e) : -1;
  mascri_error_release(&e);
  return fd >= 0 ? fd : -1;
}

static int target_open_depth(int rootfd, const char *dest, bool is_file, int depth,
                             mascri_error_t *err)
{
  if (depth > 40)
    return mascri_make_error(err, ELOOP, "mount destination %s", dest);
  /* fast path: the target usually exists already */
  mascri_error_t e0 = NULL;
  int existing = path_open_in_root(rootfd, dest, true, &e0);
  if (existing >= 0)
    return existing;
  mascri_error_release(&e0);
  int created = create_leaf(rootfd, dest, is_file);
  if (created >= 0)
    return created;
  return walk_components(rootfd, dest, is_file, depth, err);
}

int mount_target_open(int rootfd, const char *dest, bool is_file, mascri_error_t *err)
{
  return target_open_depth(rootfd, dest, is_file, 0, err);
}

int mount_fd(const char *source, int source_fd, int target_fd, const char *fstype,
             unsigned long flags, const char *data, mascri_error_t *err)
{
  _cleanup_free_ char *target = fd_path(target_fd);
  _cleanup_free_ char *src = source_fd >= 0 ? fd_path(source_fd) : NULL;
  if (mount(src ? src : source, target, fstype, flags, data) < 0)
    return mascri_make_error(err, errno, "mount %s%s%s",
                             source   ? source
                             : fstype ? fstype
                                      : "",
                             fstype ? " type " : "", fstype ? fstype : "");
  return 0;
}

int procfs_write(const char *rel, const char *value, mascri_error_t *err)
{
  _cleanup_close_ int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0 || !fd_on_fs(proc, PROC_SUPER_MAGIC))
    return mascri_make_error(err, proc < 0 ? errno : EXDEV, "/proc is not procfs");
  _cleanup_close_ int fd = openat(proc, rel, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open /proc/%s", rel);
  if (!fd_on_fs(fd, PROC_SUPER_MAGIC))
    return mascri_make_error(err, EXDEV, "/proc/%s is not on procfs: refusing to write", rel);
  ssize_t n;
  do
    n = write(fd, value, strlen(value));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return mascri_make_error(err, errno, "write /proc/%s", rel);
  return 0;
}
