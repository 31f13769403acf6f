/* The mount namespace template: see mntns-template.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/mntns-template.h"

static void unpin(const char *pin)
{
  while (umount2(pin, MNT_DETACH) == 0)
    ;
}

/* The mount points strictly below dirs, read before the fork: the child of a threaded
 * daemon must not allocate. */
static char **mounts_below(char *const *dirs, mascri_error_t *err)
{
  char **out = xcalloc(1, sizeof(char *));
  for (size_t i = 0; dirs[i]; i++) {
    _cleanup_strv_ char **below = mascri_mountinfo_below(dirs[i], NULL, err);
    if (!below) {
      mascri_strv_free(out);
      return NULL;
    }
    for (size_t j = 0; below[j]; j++)
      mascri_strv_append(&out, below[j]);
  }
  return out;
}

/* The child: a new private namespace without the hidden mounts (stacked ones too; a
 * detached parent takes its children along, so later ones may be gone), then waits for the
 * pin. */
_Noreturn static void template_child(char *const *hide, int ready, int go)
{
  char c = 'x';
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    c = 'e';
  for (size_t i = 0; c == 'x' && hide[i]; i++)
    while (umount2(hide[i], MNT_DETACH) == 0)
      ;
  if (write(ready, &c, 1) != 1 || c != 'x')
    _exit(1);
  ssize_t n = read(go, &c, 1);
  _exit(n == 1 ? 0 : 1);
}

static int pin_child(pid_t pid, const char *pin, int ready, int go, mascri_error_t *err)
{
  char c = 0;
  ssize_t n;
  while ((n = read(ready, &c, 1)) < 0 && errno == EINTR)
    ;
  if (n != 1 || c != 'x')
    return mascri_make_error(err, 0, "mount namespace template: its process failed to set it up");
  char src[64];
  snprintf(src, sizeof(src), "/proc/%d/ns/mnt", (int)pid);
  int r = mount(src, pin, NULL, MS_BIND, NULL);
  int saved = errno;
  if (write(go, "g", 1) != 1)
    log_debug("mount namespace template: release its process: %m");
  if (r < 0)
    return mascri_make_error(err, saved, "pin the mount namespace template at %s", pin);
  return 0;
}

int mascri_mntns_template_make(const char *pin, const char *const *dirs, mascri_error_t *err)
{
  unpin(pin);
  _cleanup_close_ int fd = open(pin, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0400);
  if (fd < 0)
    return mascri_make_error(err, errno, "create %s", pin);
  size_t n = 0;
  while (dirs[n])
    n++;
  char **real = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0, k = 0; i < n; i++)
    if ((real[k] = realpath(dirs[i], NULL)) != NULL)
      k++;
  int ready[2] = {-1, -1}, go[2] = {-1, -1};
  int r = -1;
  _cleanup_strv_ char **hide = mounts_below(real, err);
  if (!hide)
    goto out;
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
    mascri_make_error(err, errno, "pipe");
    goto out;
  }
  pid_t pid = fork();
  if (pid < 0) {
    mascri_make_error(err, errno, "fork");
    goto out;
  }
  if (pid == 0)
    template_child(hide, ready[1], go[0]);
  close(ready[1]);
  ready[1] = -1;
  r = pin_child(pid, pin, ready[0], go[1], err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
out:
  for (int i = 0; i < 2; i++) {
    if (ready[i] >= 0)
      close(ready[i]);
    if (go[i] >= 0)
      close(go[i]);
  }
  mascri_strv_free(real);
  return r;
}

void mascri_mntns_template_remove(const char *pin)
{
  unpin(pin);
  if (unlink(pin) < 0 && errno != ENOENT)
    log_warning("remove %s: %m", pin);
}
