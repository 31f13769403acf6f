/* /dev inside the container: default devices, linux.devices, the standard symlinks. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/mount-util.h"
#include "runtime/mounts.h"

static const mascri_spec_device_t default_devices[] = {
    {.path = "/dev/null",
     .type = 'c',
     .major = 1,
     .minor = 3,
     .has_file_mode = true,
     .file_mode = 0666},
    {.path = "/dev/zero",
     .type = 'c',
     .major = 1,
     .minor = 5,
     .has_file_mode = true,
     .file_mode = 0666},
    {.path = "/dev/full",
     .type = 'c',
     .major = 1,
     .minor = 7,
     .has_file_mode = true,
     .file_mode = 0666},
    {.path = "/dev/random",
     .type = 'c',
     .major = 1,
     .minor = 8,
     .has_file_mode = true,
     .file_mode = 0666},
    {.path = "/dev/urandom",
     .type = 'c',
     .major = 1,
     .minor = 9,
     .has_file_mode = true,
     .file_mode = 0666},
    {.path = "/dev/tty",
     .type = 'c',
     .major = 5,
     .minor = 0,
     .has_file_mode = true,
     .file_mode = 0666},
};

static const struct {
  const char *target, *name;
} dev_symlinks[] = {
    {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},         {"/proc/kcore", "core"},
};

/* Bind-mounts the host's device node (in a user namespace mknod is not allowed). */
static int bind_device(int rootfd, const mascri_spec_device_t *d, mascri_error_t *err)
{
  _cleanup_close_ int src = open(d->path, O_PATH | O_CLOEXEC);
  if (src < 0)
    return mascri_make_error(err, errno, "open host device %s", d->path);
  _cleanup_close_ int tgt = mount_target_open(rootfd, d->path, true, err);
  if (tgt < 0)
    return -1;
  return mount_fd(NULL, src, tgt, NULL, MS_BIND, NULL, err);
}

static int make_device(int rootfd, int devfd, const mascri_spec_device_t *d, bool bind,
                       mascri_error_t *err)
{
  if (strstr(d->path, "/../") || strncmp(d->path, "/dev/", 5) != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.devices: %s is not below /dev", d->path);
  if (bind)
    return bind_device(rootfd, d, err);
  _cleanup_free_ char *dir = xstrdup(d->path);
  char *slash = strrchr(dir, '/');
  *slash = '\0';
  const char *name = slash + 1;
  _cleanup_close_ int own = -1;
  if (strcmp(dir, "/dev") != 0 || devfd < 0) {
    own = mount_target_open(rootfd, dir, false, err);
    if (own < 0)
      return -1;
    devfd = own;
  }
  mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
  mode_t mode = d->has_file_mode ? d->file_mode & 07777 : 0666;
  int r = mknodat(devfd, name, type | mode, makedev(d->major, d->minor));
  if (r < 0 && errno == EEXIST && unlinkat(devfd, name, 0) == 0)
    r = mknodat(devfd, name, type | mode, makedev(d->major, d->minor));
  if (r < 0)
    return mascri_make_error(err, errno, "mknod %s", d->path);
  int dfd = devfd;
  if ((d->has_uid || d->has_gid) &&
      fchownat(dfd, name, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
               AT_SYMLINK_NOFOLLOW) < 0)
    return mascri_make_error(err, errno, "chown %s", d->path);
  return 0;
}

int devices_setup(const mascri_spec_t *spec, int rootfd, bool default_devs, bool bind,
                  mascri_error_t *err)
{
  _cleanup_close_ int dev = -1;
  if (default_devs) {
    dev = path_open_in_root(rootfd, "/dev", false, err);
    if (dev < 0)
      return -1;
    for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
      if (make_device(rootfd, dev, &default_devices[i], bind, err) < 0)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(dev_symlinks); i++)
      if (symlinkat(dev_symlinks[i].target, dev, dev_symlinks[i].name) < 0 && errno != EEXIST)
        return mascri_make_error(err, errno, "symlink /dev/%s", dev_symlinks[i].name);
    if (mkdirat(dev, "shm", 0755) < 0 && errno != EEXIST)
      return mascri_make_error(err, errno, "mkdir /dev/shm");
  }
  for (size_t i = 0; spec->linux_ && i < spec->linux_->n_devices; i++)
    if (make_device(rootfd, -1, &spec->linux_->devices[i], bind, err) < 0)
      return -1;
  return 0;
}
