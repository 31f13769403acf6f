/* Which cgroup hierarchies the host has mounted → layout, probed once per process.
 *
 * The mount table grows with the node (each pod adds overlay, shm and namespace-pin
 * mounts: ~5 lines a pod), so reading /proc/self/mountinfo costs milliseconds at a few
 * hundred pods; it used to be read for every container on every stats call. The layout is
 * found instead from /proc/self/cgroup (one line per hierarchy) and a statfs of each
 * hierarchy's conventional mount point (/sys/fs/cgroup, /sys/fs/cgroup/<controllers>,
 * /sys/fs/cgroup/unified), falling back to mountinfo when the host does not follow the
 * convention; and the result is kept for the life of the process (like runc's cgroups
 * package): the daemon never mounts or unmounts cgroup hierarchies, and a host that
 * remounts them under a running daemon needs a restart with any runtime. */
#include <errno.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

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

static int probe_mountinfo(mascri_cgroup_layout_t *out, mascri_error_t *err)
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
  return 0;
}

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Whether dir is the root of a mount of the given type (statfs magic) directly on
 * CGROUP_ROOT's filesystem: not a symlink (mountinfo names the real directory), and on
 * another device than CGROUP_ROOT. */
static bool is_mount_of(const char *dir, long magic, dev_t root_dev)
{
  struct stat st;
  struct statfs sf;
  return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev != root_dev &&
         statfs(dir, &sf) == 0 && (long)sf.f_type == magic;
}

/* One v1 line of /proc/self/cgroup ("4:memory:/path", "9:name=systemd:/"): the hierarchy
 * at CGROUP_ROOT/<controllers, "name=" dropped>, when it is mounted there. */
static bool add_v1_conventional(mascri_cgroup_layout_t *l, const char *ctrls, dev_t root_dev)
{
  const char *dirname = strncmp(ctrls, "name=", 5) == 0 ? ctrls + 5 : ctrls;
  if (!dirname[0] || strchr(dirname, '/') || strcmp(dirname, "unified") == 0)
    return false;
  _cleanup_free_ char *dir = mascri_path_join(CGROUP_ROOT, dirname);
  if (!is_mount_of(dir, CGROUP_SUPER_MAGIC, root_dev))
    return false;
  _cleanup_free_ char *super = xasprintf("rw,%s", ctrls);
  add_mount(l, dir, "cgroup", super);
  return true;
}

/* The layout from /proc/self/cgroup and statfs, without the mount table. false when the
 * host does not follow the convention (the caller then reads mountinfo). */
static bool probe_conventional(mascri_cgroup_layout_t *out)
{
  struct statfs sf;
  struct stat root;
  if (statfs(CGROUP_ROOT, &sf) < 0 || stat(CGROUP_ROOT, &root) < 0)
    return false;
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  mascri_error_t e = NULL;
  if (mascri_read_file("/proc/self/cgroup", &buf, &len, &e) < 0) {
    mascri_error_release(&e);
    return false;
  }
  _cleanup_strv_ char **lines = mascri_strv_split(buf, '\n');
  size_t n = 0;
  while (lines[n])
    n++;
  if ((long)sf.f_type == CGROUP2_SUPER_MAGIC) {
    /* Pure v2: a v1 hierarchy mounted elsewhere would show as an "N:ctrl:/" line. */
    for (size_t i = 0; i < n; i++)
      if (lines[i][0] && strncmp(lines[i], "0::", 3) != 0)
        return false;
    out->v2_mount = xstrdup(CGROUP_ROOT);
    return true;
  }
  /* The lines come in descending hierarchy id; mountinfo lists the mounts ascending. */
  bool has_v2_line = false;
  for (size_t i = n; i-- > 0;) {
    char *a = strchr(lines[i], ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (!b)
      continue;
    *b = '\0';
    if (a[1] == '\0') {
      has_v2_line = true;
    } else if (!add_v1_conventional(out, a + 1, root.st_dev)) {
      return false;
    }
  }
  if (has_v2_line) {
    if (is_mount_of(CGROUP_ROOT "/unified", CGROUP2_SUPER_MAGIC, root.st_dev))
      out->v2_mount = xstrdup(CGROUP_ROOT "/unified");
    else if (out->n_v1 == 0 || mascri_path_exists(CGROUP_ROOT "/unified"))
      return false; /* v2 mounted somewhere else under CGROUP_ROOT, or not at all */
  }
  return true;
}

static int probe_uncached(mascri_cgroup_layout_t *out, mascri_error_t *err)
{
  memset(out, 0, sizeof(*out));
  if (!probe_conventional(out)) {
    mascri_cgroup_layout_clear(out);
    if (probe_mountinfo(out, err) < 0)
      return -1;
  }
  if (out->n_v1 == 0 && out->v2_mount == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "no cgroup hierarchy is mounted under /sys/fs/cgroup");
  out->mode = out->n_v1 == 0  ? MASCRI_CGROUP_V2
              : out->v2_mount ? MASCRI_CGROUP_HYBRID
                              : MASCRI_CGROUP_V1;
  return 0;
}

/* Lazily probed host layout: set once under the lock, read-only after. A failed probe is
 * not kept (the next call tries again). */
static pthread_mutex_t probed_lock = PTHREAD_MUTEX_INITIALIZER;
static mascri_cgroup_layout_t probed_layout;
static bool probed;

const mascri_cgroup_layout_t *mascri_cgroup_layout_host(mascri_error_t *err)
{
  pthread_mutex_lock(&probed_lock);
  if (!probed && probe_uncached(&probed_layout, err) == 0)
    probed = true;
  pthread_mutex_unlock(&probed_lock);
  return probed ? &probed_layout : NULL;
}

static void layout_copy(mascri_cgroup_layout_t *dst, const mascri_cgroup_layout_t *src)
{
  dst->mode = src->mode;
  dst->v2_mount = src->v2_mount ? xstrdup(src->v2_mount) : NULL;
  dst->n_v1 = src->n_v1;
  dst->v1 = src->n_v1 ? xcalloc(src->n_v1, sizeof(*dst->v1)) : NULL;
  for (size_t i = 0; i < src->n_v1; i++) {
    dst->v1[i].mount = xstrdup(src->v1[i].mount);
    dst->v1[i].controllers = mascri_strv_dup(src->v1[i].controllers);
  }
}

int mascri_cgroup_layout_probe(mascri_cgroup_layout_t *out, mascri_error_t *err)
{
  memset(out, 0, sizeof(*out));
  const mascri_cgroup_layout_t *l = mascri_cgroup_layout_host(err);
  if (!l)
    return -1;
  layout_copy(out, l);
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
