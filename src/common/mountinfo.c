/* /proc/self/mountinfo lookups (proc(5)): used to check that the host source of a
 * propagating volume sits on a shared (or slave) mount before a container is made. */
#include "common/mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

void mascri_mountinfo_clear(mascri_mountinfo_t *m)
{
  free(m->mountpoint);
  m->mountpoint = NULL;
}

/* Octal escapes of mountinfo fields (space, tab, newline, backslash) undone in place. */
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

int mascri_mountinfo_parse_line(const char *line, mascri_mountinfo_t *out)
{
  memset(out, 0, sizeof(*out));
  _cleanup_free_ char *copy = xstrdup(line);
  char *save = NULL, *f[6];
  char *tok = strtok_r(copy, " \n", &save);
  for (int i = 0; i < 6; i++) {
    if (!tok)
      return -EINVAL;
    f[i] = tok;
    tok = strtok_r(NULL, " \n", &save);
  }
  char *end = NULL;
  long id = strtol(f[0], &end, 10);
  if (*end || id < 0 || id > INT_MAX || f[4][0] != '/')
    return -EINVAL;
  bool sep = false;
  for (; tok; tok = strtok_r(NULL, " \n", &save)) {
    if (strcmp(tok, "-") == 0) {
      sep = true;
      break;
    }
    if (strncmp(tok, "shared:", 7) == 0)
      out->shared = true;
    else if (strncmp(tok, "master:", 7) == 0)
      out->slave = true;
  }
  if (!sep)
    return -EINVAL;
  out->id = (int)id;
  unescape(f[4]);
  out->mountpoint = xstrdup(f[4]);
  return 0;
}

/* Whether mountpoint mp holds the absolute path p (component-wise prefix). */
static bool holds(const char *mp, const char *p)
{
  size_t n = strlen(mp);
  if (strcmp(mp, "/") == 0)
    return true;
  return strncmp(mp, p, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int mascri_mountinfo_find(const char *text, int mnt_id, const char *resolved,
                          mascri_mountinfo_t *out, mascri_error_t *err)
{
  memset(out, 0, sizeof(*out));
  size_t best = 0;
  for (const char *line = text; line && *line;) {
    const char *nl = strchr(line, '\n');
    _cleanup_free_ char *one = nl ? xstrndup(line, (size_t)(nl - line)) : xstrdup(line);
    line = nl ? nl + 1 : NULL;
    mascri_mountinfo_t m;
    if (mascri_mountinfo_parse_line(one, &m) < 0)
      continue;
    bool take = mnt_id >= 0 ? m.id == mnt_id
                            : holds(m.mountpoint, resolved) && strlen(m.mountpoint) >= best;
    if (take) {
      best = strlen(m.mountpoint);
      mascri_mountinfo_clear(out);
      *out = m;
      if (mnt_id >= 0)
        return 0;
    } else {
      mascri_mountinfo_clear(&m);
    }
  }
  if (out->mountpoint)
    return 0;
  return mascri_make_error(err, ENOENT, "no mount holds %s in /proc/self/mountinfo",
                           resolved ? resolved : "the path");
}

int mascri_mountinfo_lookup(const char *path, mascri_mountinfo_t *out, mascri_error_t *err)
{
  _cleanup_free_ char *resolved = realpath(path, NULL);
  if (!resolved)
    return mascri_make_error(err, errno, "resolve %s", path);
  struct statx stx;
  int mnt_id = -1;
  if (statx(AT_FDCWD, resolved, 0, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID))
    mnt_id = (int)stx.stx_mnt_id;
  _cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open /proc/self/mountinfo");
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (mascri_read_all(fd, &text, &len, err) < 0)
    return mascri_error_wrap(err, "read /proc/self/mountinfo");
  if (mascri_mountinfo_find(text, mnt_id, resolved, out, err) < 0)
    return mascri_error_wrap(err, "find the mount of %s", path);
  return 0;
}

char **mascri_mountinfo_below(const char *dir, bool *is_mountpoint, mascri_error_t *err)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) {
    mascri_make_error(err, errno, "open /proc/self/mountinfo");
    return NULL;
  }
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  char **out = xcalloc(1, sizeof(char *));
  if (is_mountpoint)
    *is_mountpoint = false;
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    mascri_mountinfo_t m;
    if (mascri_mountinfo_parse_line(line, &m) < 0)
      continue;
    const char *mp = m.mountpoint;
    if (strncmp(mp, dir, n) == 0) {
      if (mp[n] == '\0' && is_mountpoint)
        *is_mountpoint = true;
      else if (mp[n] == '/' && mp[n + 1])
        mascri_strv_append(&out, mp);
    }
    mascri_mountinfo_clear(&m);
  }
  return out;
}
