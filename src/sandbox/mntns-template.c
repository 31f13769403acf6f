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
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/mntns-template.h"

static void unpin(const char *pin)
{
  while (umount2(pin, MNT_DETACH) == 0)
    ;
}

/* Undoes mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
  char *w = s;
  for (char *r = s; *r;) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
        r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 4;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

static bool strictly_below(const char *path, char *const *dirs)
{
  for (size_t i = 0; dirs[i]; i++) {
    size_t n = strlen(dirs[i]);
    if (strncmp(path, dirs[i], n) == 0 && path[n] == '/' && path[n + 1])
      return true;
  }
  return false;
}

/* The mount points strictly below dirs, in mountinfo's order (parents first), read before
 * the fork: the child of a threaded daemon must not allocate. */
static char **mounts_below(char *const *dirs, mascri_error_t *err)
{
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) {
    mascri_make_error(err, errno, "open /proc/self/mountinfo");
    return NULL;
  }
  char **out = xcalloc(1, sizeof(char *));
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL, *field = strtok_r(line, " ", &save);
    for (int i = 1; field && i < 5; i++)
      field = strtok_r(NULL, " ", &save);
    if (!field)
      continue;
    unescape(field);
    if (strictly_below(field, dirs))
      mascri_strv_append(&out, field);
  }
  free(line);
  fclose(f);
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
