/* See mount-private.h. */
#include "common/mount-private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "common/strv.h"

int mascri_mount_private_dir(const char *dir, mode_t mode, mascri_error_t *err)
{
  if (mascri_mkdir_p(dir, mode, err) < 0)
    return -1;
  if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) == 0)
    return 0;
  if (errno != EINVAL)
    return mascri_make_error(err, errno, "make %s private", dir);
  _cleanup_free_ char *real = realpath(dir, NULL);
  if (!real)
    return mascri_make_error(err, errno, "resolve %s", dir);
  _cleanup_strv_ char **below = mascri_mountinfo_below(real, NULL, err);
  if (!below)
    return -1;
  if (below[0]) {
    log_info("%s: left as it is (%zu mounts below it, from before it became a private mount)", dir,
             mascri_strv_length(below));
    return 0;
  }
  if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
    return mascri_make_error(err, errno, "bind mount %s on itself", dir);
  if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0)
    return mascri_make_error(err, errno, "make %s private", dir);
  return 0;
}
