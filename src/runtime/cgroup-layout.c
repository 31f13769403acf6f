/* Which cgroup hierarchies the host has mounted: /proc/self/mountinfo → layout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

void mascri_cgroup_layout_clear(mascri_cgroup_layout_t *l)
{
  free(l->v2_mount);
  for (size_t i = 0; i < l->n_v1; i++) {
    free(l->v1[i].mount);
    mascri_strv_free(l->v1[i].controllers);
  }
  free(l->v1);
  l->v1 = NULL;
  l->n_v1 = 0;
  l->v2_mount = NULL;
}

/* The v1 controllers from super options "rw,cpu,cpuacct": everything but rw/ro. */
static char **v1_controllers(const char *super)
{
  _cleanup_strv_ char **opts = mascri_strv_split(super, ',');
  char **res = NULL;
  for (size_t i = 0; opts[i]; i++) {
    if (strcmp(opts[i], "rw") == 0 || strcmp(opts[i], "ro") == 0 || opts[i][0] == '\0' ||
        strncmp(opts[i], "release_agent=", 14) == 0 || strcmp(opts[i], "xattr") == 0 ||
        strcmp(opts[i], "clone_children") == 0 || strcmp(opts[i], "noprefix") == 0 ||
        strcmp(opts[i], "cpuset_v2_mode") == 0)
      continue;
    mascri_strv_append(&res, opts[i]);
  }
  return res;
}

static void add_mount(mascri_cgroup_layout_t *l, const char *mnt, const char *fstype,
                      const char *super)
{
  if (strcmp(fstype, "cgroup2") == 0) {
    if (!l->v2_mount)
      l->v2_mount = xstrdup(mnt);
    return;
  }
  char **ctrls = v1_controllers(super);
  if (!ctrls)
    return;
  for (size_t i = 0; i < l->n_v1; i++)
    if (strcmp(l->v1[i].mount, mnt) == 0) {
      mascri_strv_free(ctrls);
      return;
    }
  l->v1 = xrealloc(l->v1, (l->n_v1 + 1) * sizeof(*l->v1));
  l->v1[l->n_v1].mount = xstrdup(mnt);
  l->v1[l->n_v1].controllers = ctrls;
  l->n_v1++;
}

int mascri_cgroup_layout_probe(mascri_cgroup_layout_t *out, mascri_error_t *err)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return mascri_make_error(err, errno, "open /proc/self/mountinfo");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  memset(out, 0, sizeof(*out));
  while (getline(&line, &cap, f) > 0) {
    /* id parent maj:min root mountpoint opts [optional...] - fstype source super */
    char *sep = strstr(line, " - ");
    if (!sep)
      continue;
    char mnt[4096], fstype[64], src[256], super[1024];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
        sscanf(sep + 3, "%63s %255s %1023s", fstype, src, super) != 3)
      continue;
    if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
      continue;
    if (strncmp(mnt, "/sys/fs/cgroup", 14) != 0)
      continue;
    add_mount(out, mnt, fstype, super);
  }
  if (out->n_v1 == 0 && out->v2_mount == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "no cgroup hierarchy is mounted under /sys/fs/cgroup");
  out->mode = out->n_v1 == 0  ? MASCRI_CGROUP_V2
              : out->v2_mount ? MASCRI_CGROUP_HYBRID
                              : MASCRI_CGROUP_V1;
  return 0;
}

const char *mascri_cgroup_v1_mount(const mascri_cgroup_layout_t *l, const char *controller)
{
  for (size_t i = 0; i < l->n_v1; i++)
    if (mascri_strv_contains(l->v1[i].controllers, controller))
      return l->v1[i].mount;
  return NULL;
}

bool mascri_cgroup_v2_has(const mascri_cgroup_layout_t *l, const char *controller)
{
  if (!l->v2_mount)
    return false;
  _cleanup_free_ char *path = mascri_path_join(l->v2_mount, "cgroup.controllers");
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  mascri_error_t e = NULL;
  if (mascri_read_file(path, &buf, &len, &e) < 0) {
    mascri_error_release(&e);
    return false;
  }
  _cleanup_strv_ char **names = NULL;
  char *save = NULL;
  for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
    mascri_strv_append(&names, tok);
  return mascri_strv_contains(names, controller);
}
