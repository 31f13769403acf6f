#include "image/user.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"

#define MAX_DB_SIZE (16u << 20)

void mascri_image_user_clear(struct mascri_image_user *u)
{
  free(u->additional_gids);
  free(u->home);
  memset(u, 0, sizeof(*u));
}

/* The file's lines, or an empty vector when it does not exist. */
static char **read_db(int rootfd, const char *path, mascri_error_t *err)
{
  _cleanup_close_ int fd =
      mascri_open_in_root(rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0, err);
  struct stat st;
  _cleanup_free_ char *buf = NULL;
  size_t len;
  if (fd < 0) {
    if (mascri_error_retcode(err) == -ENOENT) {
      mascri_error_release(err);
      return xcalloc(1, sizeof(char *));
    }
    return NULL;
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_DB_SIZE) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                           "%s in the image is not a regular file of sane size", path);
    return NULL;
  }
  if (mascri_read_all(fd, &buf, &len, err) < 0)
    return NULL;
  return mascri_strv_split(buf, '\n');
}

static bool parse_id(const char *s, unsigned long *out)
{
  char *end;
  if (!*s || *s == '-' || *s == '+')
    return false;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v >= UINT_MAX)
    return false;
  *out = v;
  return true;
}

/* Finds the passwd line whose name (or, when numeric, uid) matches. fields: 7. */
static char **find_entry(char **lines, const char *key, bool numeric, int id_field)
{
  for (char **l = lines; *l; l++) {
    if (!**l || **l == '#')
      continue;
    char **f = mascri_strv_split(*l, ':');
    if (mascri_strv_length(f) > (size_t)id_field && strcmp(numeric ? f[id_field] : f[0], key) == 0)
      return f;
    mascri_strv_free(f);
  }
  return NULL;
}

static int resolve_uid(char **passwd, const char *name, struct mascri_image_user *u,
                       char **user_name, mascri_error_t *err)
{
  unsigned long v;
  bool numeric = parse_id(name, &v);
  _cleanup_strv_ char **f = find_entry(passwd, name, numeric, 2);
  if (!f && !numeric)
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0,
                                  "user \"%s\" not found in the image's /etc/passwd", name);
  unsigned long gid = 0;
  if (f) {
    if (!parse_id(f[2], &v) || !parse_id(f[3], &gid))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "bad /etc/passwd entry for \"%s\"", name);
    *user_name = xstrdup(f[0]);
    if (mascri_strv_length(f) > 5 && f[5][0] == '/')
      u->home = xstrdup(f[5]);
  }
  u->uid = (uid_t)v;
  u->gid = (gid_t)gid;
  return 0;
}

static int resolve_gid(char **group, const char *name, gid_t *gid, mascri_error_t *err)
{
  unsigned long v;
  if (parse_id(name, &v)) {
    *gid = (gid_t)v;
    return 0;
  }
  _cleanup_strv_ char **f = find_entry(group, name, false, 2);
  if (!f)
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0,
                                  "group \"%s\" not found in the image's /etc/group", name);
  if (!parse_id(f[2], &v))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "bad /etc/group entry for \"%s\"", name);
  *gid = (gid_t)v;
  return 0;
}

static void additional_groups(char **group, const char *user, struct mascri_image_user *u)
{
  for (char **l = group; user && *l; l++) {
    _cleanup_strv_ char **f = mascri_strv_split(*l, ':');
    unsigned long v;
    if (mascri_strv_length(f) < 4 || !parse_id(f[2], &v) || (gid_t)v == u->gid)
      continue;
    _cleanup_strv_ char **members = mascri_strv_split(f[3], ',');
    if (!mascri_strv_contains(members, user))
      continue;
    u->additional_gids = xrealloc(u->additional_gids, (u->n_additional + 1) * sizeof(gid_t));
    u->additional_gids[u->n_additional++] = (gid_t)v;
  }
}

int mascri_image_resolve_user(int rootfd, const char *user, struct mascri_image_user *out,
                              mascri_error_t *err)
{
  memset(out, 0, sizeof(*out));
  _cleanup_free_ char *copy = xstrdup(user ? user : "");
  _cleanup_free_ char *user_name = NULL;
  char *colon = strchr(copy, ':');
  if (colon)
    *colon = '\0';
  if (!*copy && colon)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "invalid user \"%s\"", user);
  _cleanup_strv_ char **passwd = NULL, **group = NULL;
  if (!(passwd = read_db(rootfd, "etc/passwd", err)) ||
      !(group = read_db(rootfd, "etc/group", err)))
    return -1;
  int r = 0;
  if (*copy)
    r = resolve_uid(passwd, copy, out, &user_name, err);
  else
    user_name = xstrdup("root");
  if (r == 0 && colon)
    r = resolve_gid(group, colon + 1, &out->gid, err);
  if (r < 0) {
    mascri_image_user_clear(out);
    return -1;
  }
  additional_groups(group, user_name, out);
  if (!out->home)
    out->home = xstrdup("/");
  return 0;
}
