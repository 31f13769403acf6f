/* Mounting a container's overlayfs on every kernel from 5.10 on.
 *
 * Linux 6.8+ takes one fsconfig "lowerdir+" per layer: no limit on the layer count but
 * overlayfs' own. Older kernels need the legacy mount(2) option string "lowerdir=a:b:c,...",
 * which is limited to a page. Before 6.5, overlayfs goes through the generic option wrapper,
 * which accepts the unknown "lowerdir+" key and only fails at FSCONFIG_CMD_CREATE, so the
 * support is probed once per store on a throwaway overlay instead of read from a failure.
 *
 * Every path is relative to the store root and the mount runs on a short-lived thread whose
 * working directory is the store root (mascri_run_in_dir): with the 20-character l/ links
 * that fits ~160 layers in a page. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/store-internal.h"

/* Where the overlay options go through the legacy mount(2) data page: the kernel keeps
 * PAGE_SIZE - 2 bytes of options (the generic wrapper's limit, the tighter one). */
size_t overlay_legacy_limit(void)
{
  long page = sysconf(_SC_PAGESIZE);
  return (page > 0 ? (size_t)page : 4096) - 2;
}

char *overlay_legacy_options(char *const *lowers, const char *upper, const char *work, size_t limit,
                             mascri_error_t *err)
{
  _cleanup_free_ char *lower = mascri_strv_join(lowers, ":");
  char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
  if (strlen(opts) > limit) {
    size_t n = mascri_strv_length(lowers);
    mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                           "an image of %zu layers needs %zu bytes of overlay mount options, "
                           "more than the %zu this kernel takes without overlayfs \"lowerdir+\" "
                           "(Linux 6.8)",
                           n, strlen(opts), limit);
    free(opts);
    return NULL;
  }
  return opts;
}

/* --- the probe: fsopen + two lowerdir+ of empty dirs + CMD_CREATE, on the store thread --- */

static int probe_in_store(void *arg, mascri_error_t *err)
{
  bool *present = arg;
  char dir[64];
  snprintf(dir, sizeof(dir), "tmp/ovlprobe-%d-XXXXXX", (int)getpid());
  if (!mkdtemp(dir))
    return mascri_make_error(err, errno, "mkdtemp %s", dir);
  _cleanup_free_ char *a = xasprintf("%s/a", dir), *b = xasprintf("%s/b", dir);
  int fsfd = -1;
  if (mkdir(a, 0755) < 0 || mkdir(b, 0755) < 0) {
    mascri_make_error(err, errno, "mkdir in %s", dir);
    goto out;
  }
  fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
  *present = fsfd >= 0 && fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", a, 0) == 0 &&
             fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", b, 0) == 0 &&
             fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
out:
  if (fsfd >= 0)
    close(fsfd);
  _cleanup_error_ mascri_error_t rm_err = NULL;
  if (mascri_rm_rf(dir, &rm_err) < 0)
    log_warning("overlay probe: %s", mascri_error_message(&rm_err));
  return *err ? -1 : 0;
}

bool overlay_lowerdir_plus(mascri_image_store_t *s)
{
  pthread_mutex_lock(&s->lock);
  if (s->ovl_lowerdir_plus == 0) {
    bool present = false;
    _cleanup_error_ mascri_error_t err = NULL;
    if (mascri_run_in_dir(s->rootfd, probe_in_store, &present, &err) < 0)
      log_warning("probing overlayfs lowerdir+: %s", mascri_error_message(&err));
    s->ovl_lowerdir_plus = present ? 1 : -1;
    if (!present)
      log_info("kernel feature: overlayfs has no \"lowerdir+\" (Linux 6.8): container root "
               "filesystems are mounted with a page of mount(2) options, at most ~%zu layers",
               (overlay_legacy_limit() - 128) / 23);
  }
  bool present = s->ovl_lowerdir_plus > 0;
  pthread_mutex_unlock(&s->lock);
  return present;
}

/* --- the mount, on the store thread --- */

struct overlay_args {
  const char *target;
  char *const *lowers;
  const char *upper, *work;
  bool lowerdir_plus;
};

static int mount_new_api(const struct overlay_args *a, mascri_error_t *err)
{
  _cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0)
    return mascri_make_error(err, errno, "fsopen overlay");
  for (char *const *l = a->lowers; *l; l++)
    if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", *l, 0) < 0)
      return mascri_make_error(err, errno, "overlay lowerdir+ %s", *l);
  if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", a->upper, 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", a->work, 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return mascri_make_error(err, errno, "overlay for %s", a->target);
  _cleanup_close_ int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0)
    return mascri_make_error(err, errno, "fsmount overlay for %s", a->target);
  if (move_mount(mfd, "", AT_FDCWD, a->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return mascri_make_error(err, errno, "move_mount overlay to %s", a->target);
  return 0;
}

static int mount_legacy(const struct overlay_args *a, mascri_error_t *err)
{
  _cleanup_free_ char *opts =
      overlay_legacy_options(a->lowers, a->upper, a->work, overlay_legacy_limit(), err);
  if (!opts)
    return mascri_error_wrap(err, "overlay for %s", a->target);
  if (mount("overlay", a->target, "overlay", 0, opts) < 0)
    return mascri_make_error(err, errno, "mount overlay on %s", a->target);
  return 0;
}

static int mount_in_store(void *arg, mascri_error_t *err)
{
  const struct overlay_args *a = arg;
  return a->lowerdir_plus ? mount_new_api(a, err) : mount_legacy(a, err);
}

int overlay_mount(mascri_image_store_t *s, const char *target, char *const *lowers,
                  const char *upper, const char *work, mascri_error_t *err)
{
  struct overlay_args a = {.target = target,
                           .lowers = lowers,
                           .upper = upper,
                           .work = work,
                           .lowerdir_plus = overlay_lowerdir_plus(s)};
  return mascri_run_in_dir(s->rootfd, mount_in_store, &a, err);
}
