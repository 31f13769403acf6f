/* Capabilities via libcap. */
#include "runtime/caps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/xalloc.h"

int mascri_caps_last_cap(void)
{
  /* lazily probed kernel feature */
  static int last_cap = -1;
  if (last_cap >= 0)
    return last_cap;
  char buf[16] = {0};
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, buf, sizeof(buf) - 1) > 0)
      last_cap = atoi(buf);
    close(fd);
  }
  if (last_cap <= 0)
    last_cap = CAP_LAST_CAP;
  return last_cap;
}

int mascri_caps_drop_bounding(const mascri_spec_caps_t *caps, mascri_error_t *err)
{
  int last = mascri_caps_last_cap();
  for (int c = 0; c <= last && c < 64; c++) {
    if (caps->bounding & (1ULL << c))
      continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return mascri_make_error(err, errno, "drop capability %d from the bounding set", c);
  }
  return 0;
}

static int set_flag(cap_t caps, cap_flag_t flag, uint64_t mask, int last)
{
  for (int c = 0; c <= last && c < 64; c++) {
    if (!(mask & (1ULL << c)))
      continue;
    cap_value_t v = c;
    if (cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
      return -1;
  }
  return 0;
}

int mascri_caps_apply(const mascri_spec_caps_t *spec, mascri_error_t *err)
{
  int last = mascri_caps_last_cap();
  cap_t caps = cap_init();
  if (!caps)
    return mascri_make_error(err, errno, "cap_init");
  int r = 0;
  if (set_flag(caps, CAP_EFFECTIVE, spec->effective, last) < 0 ||
      set_flag(caps, CAP_PERMITTED, spec->permitted | spec->effective, last) < 0 ||
      set_flag(caps, CAP_INHERITABLE, spec->inheritable | spec->ambient, last) < 0)
    r = mascri_make_error(err, errno, "build capability sets");
  else if (cap_set_proc(caps) < 0)
    r = mascri_make_error(err, errno, "set capabilities");
  cap_free(caps);
  if (r < 0)
    return r;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return mascri_make_error(err, errno, "clear the ambient capabilities");
  for (int c = 0; c <= last && c < 64; c++) {
    if (!(spec->ambient & (1ULL << c)))
      continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM)
      return mascri_make_error(err, errno, "raise ambient capability %d", c);
  }
  return 0;
}

int mascri_caps_from_names(char *const *names, uint64_t *mask, mascri_error_t *err)
{
  for (size_t i = 0; names && names[i]; i++) {
    cap_value_t cap;
    _cleanup_free_ char *full =
        strncasecmp(names[i], "CAP_", 4) == 0 ? xstrdup(names[i]) : xasprintf("CAP_%s", names[i]);
    if (cap_from_name(full, &cap) < 0 || cap > 63)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "unknown capability \"%s\"", names[i]);
    *mask |= 1ULL << cap;
  }
  return 0;
}
