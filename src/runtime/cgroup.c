/* The file operations on a container's cgroup that both managers use (the systemd manager
 * makes the scope first, then uses them too): create, apply, enter, destroy; and the
 * choice of a manager's table. */
#include "runtime/cgroup-devices.h"
#include "runtime/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"

void mascri_cgroup_clear(mascri_cgroup_t *cg)
{
  mascri_cgroup_layout_clear(&cg->layout);
  free(cg->path);
  cg->path = NULL;
}

char *mascri_cgroup_dir(const mascri_cgroup_t *cg, const char *controller)
{
  const char *mnt =
      controller ? mascri_cgroup_v1_mount(&cg->layout, controller) : cg->layout.v2_mount;
  if (!mnt)
    return NULL;
  return mascri_path_join(mnt, cg->path);
}

const mascri_cgroup_ops_t *mascri_cgroup_ops_of(mascri_cgroup_manager_t manager)
{
  return manager == MASCRI_CGROUP_MANAGER_SYSTEMD ? &mascri_cgroup_systemd_ops
                                                  : &mascri_cgroup_cgroupfs_ops;
}

int mascri_cgroup_resolve_path(mascri_cgroup_manager_t manager, const char *cgroups_path,
                               const char *id, char **out, mascri_error_t *err)
{
  return mascri_cgroup_ops_of(manager)->resolve_path(cgroups_path, id, out, err);
}

static bool cpuset_value_empty(const char *v, size_t len)
{
  return len == 0 || v[0] == '\n';
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems; copy them down from the parent (made
 * non-empty first the same way when it is empty too). */
static int cpuset_init(const char *mnt, const char *rel, mascri_error_t *err)
{
  _cleanup_free_ char *parent_rel = xstrdup(rel);
  char *slash = strrchr(parent_rel, '/');
  if (slash)
    *slash = '\0';
  _cleanup_free_ char *parent = mascri_path_join(mnt, parent_rel);
  _cleanup_free_ char *dir = mascri_path_join(mnt, rel);
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (size_t i = 0; i < 2; i++) {
    _cleanup_free_ char *cur = NULL, *pv = NULL;
    _cleanup_free_ char *cp = mascri_path_join(dir, files[i]);
    _cleanup_free_ char *pp = mascri_path_join(parent, files[i]);
    size_t len = 0;
    if (mascri_read_file(cp, &cur, &len, err) < 0)
      return -1;
    if (!cpuset_value_empty(cur, len))
      continue;
    if (mascri_read_file(pp, &pv, &len, err) < 0)
      return -1;
    if (cpuset_value_empty(pv, len) && parent_rel[0]) {
      free(pv);
      pv = NULL;
      if (cpuset_init(mnt, parent_rel, err) < 0 || mascri_read_file(pp, &pv, &len, err) < 0)
        return -1;
    }
    if (mascri_write_file_at(AT_FDCWD, cp, pv, len, err) < 0)
      return -1;
  }
  return 0;
}

/* v1 cpuset: asks the kernel to give new children the cpus and mems of their parent as
 * they are made. Writing them ourselves instead rebuilds the scheduler domains, which walks
 * every cpuset on the node: O(pods) per pod start. Set on the nearest ancestor of rel that
 * exists, since the flag is inherited by the cgroups made below it (the pod's missing
 * parents, its containers); cpuset_init still fills whatever stays empty (a kernel that
 * refuses the flag). */
static void cpuset_clone_children(const char *mnt, const char *rel)
{
  _cleanup_free_ char *anc = xstrdup(rel);
  char *slash;
  while ((slash = strrchr(anc, '/')) != NULL) {
    *slash = '\0';
    _cleanup_free_ char *dir = mascri_path_join(mnt, anc);
    _cleanup_free_ char *flag = mascri_path_join(dir, "cgroup.clone_children");
    _cleanup_free_ char *cur = NULL;
    size_t len = 0;
    mascri_error_t e = NULL;
    if (mascri_read_file(flag, &cur, &len, &e) < 0) {
      bool missing = e && e->errnum == ENOENT;
      mascri_error_release(&e);
      if (missing)
        continue;
      return;
    }
    if ((len == 0 || cur[0] != '1') && mascri_write_file_at(AT_FDCWD, flag, "1", 1, &e) < 0)
      mascri_error_release(&e);
    return;
  }
}

/* The controllers cgroup.subtree_control file sc lists (NULL when unreadable): a write,
 * even of one already on, makes the kernel walk every descendant of that cgroup (and the
 * parent of the pods has them all), a read does not. */
static char **subtree_enabled(const char *sc)
{
  _cleanup_free_ char *cur = NULL;
  size_t len = 0;
  mascri_error_t e = NULL;
  if (mascri_read_file(sc, &cur, &len, &e) < 0) {
    mascri_error_release(&e);
    return NULL;
  }
  cur[strcspn(cur, "\n")] = '\0';
  return mascri_strv_split(cur, ' ');
}

/* v2: enables the available controllers in every ancestor's cgroup.subtree_control. */
static void v2_enable_controllers(const mascri_cgroup_t *cg)
{
  _cleanup_free_ char *ctrls = NULL;
  size_t len = 0;
  mascri_error_t e = NULL;
  _cleanup_free_ char *root_ctrls = mascri_path_join(cg->layout.v2_mount, "cgroup.controllers");
  if (mascri_read_file(root_ctrls, &ctrls, &len, &e) < 0) {
    mascri_error_release(&e);
    return;
  }
  _cleanup_strv_ char **names = mascri_strv_split(ctrls, ' ');
  _cleanup_free_ char *cur = xstrdup(cg->layout.v2_mount);
  _cleanup_strv_ char **comps = mascri_strv_split(cg->path + 1, '/');
  for (size_t i = 0; comps[i]; i++) {
    _cleanup_free_ char *sc = mascri_path_join(cur, "cgroup.subtree_control");
    _cleanup_strv_ char **on = subtree_enabled(sc);
    for (size_t j = 0; names[j]; j++) {
      char *n = names[j];
      n[strcspn(n, "\n")] = '\0';
      if (!n[0] || (on && mascri_strv_contains(on, n)))
        continue;
      _cleanup_free_ char *v = xasprintf("+%s", n);
      if (mascri_write_file_at(AT_FDCWD, sc, v, strlen(v), &e) < 0)
        mascri_error_release(&e);
    }
    char *next = mascri_path_join(cur, comps[i]);
    free(cur);
    cur = next;
  }
}

/* mkdir, creating the parents only when they are missing (the common case is one call). */
static int make_dir(const char *dir, mascri_error_t *err)
{
  if (mkdir(dir, 0755) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return mascri_make_error(err, errno, "mkdir %s", dir);
  return mascri_mkdir_p(dir, 0755, err);
}

int mascri_cgroup_create(mascri_cgroup_t *cg, const mascri_spec_resources_t *r,
                         bool with_default_devices, mascri_error_t *err)
{
  for (size_t i = 0; i < cg->layout.n_v1; i++) {
    _cleanup_free_ char *dir = mascri_path_join(cg->layout.v1[i].mount, cg->path);
    bool cpuset = mascri_strv_contains(cg->layout.v1[i].controllers, "cpuset");
    if (cpuset)
      cpuset_clone_children(cg->layout.v1[i].mount, cg->path);
    if (make_dir(dir, err) < 0)
      return mascri_error_wrap(err, "create cgroup");
    if (cpuset && cpuset_init(cg->layout.v1[i].mount, cg->path, err) < 0)
      return mascri_error_wrap(err, "initialize cpuset cgroup %s", dir);
  }
  if (cg->layout.v2_mount) {
    _cleanup_free_ char *dir = mascri_path_join(cg->layout.v2_mount, cg->path);
    if (make_dir(dir, err) < 0)
      return mascri_error_wrap(err, "create cgroup");
    v2_enable_controllers(cg);
  }
  if (mascri_cgroup_apply(cg, r, with_default_devices, err) < 0)
    return -1;
  /* once, at creation: an update would stack another program (CRI updates name no devices) */
  return mascri_cgroup_devices_apply(cg, r, with_default_devices, err);
}

/* Writes one value; consecutive writes to the same file reuse its fd (*fd, *open_file). */
static int apply_write(const mascri_cgroup_t *cg, const mascri_cgroup_write_t *w, int *fd,
                       char **open_file, mascri_error_t *err)
{
  _cleanup_free_ char *dir = mascri_cgroup_dir(cg, w->controller);
  if (!dir)
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "cgroup controller %s is not available on this host (%s)",
                                  w->controller ? w->controller : "v2", w->file);
  _cleanup_free_ char *path = mascri_path_join(dir, w->file);
  if (*fd < 0 || !*open_file || strcmp(*open_file, path) != 0) {
    if (*fd >= 0)
      close(*fd);
    free(*open_file);
    *open_file = NULL;
    *fd = open(path, O_WRONLY | O_CLOEXEC);
    if (*fd < 0)
      return mascri_make_error(err, errno, "set %s to \"%s\"", w->file, w->value);
    *open_file = TAKE_PTR(path);
  }
  ssize_t n;
  do
    n = write(*fd, w->value, strlen(w->value));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return mascri_make_error(err, errno, "set %s to \"%s\"", w->file, w->value);
  return 0;
}

int mascri_cgroup_apply(const mascri_cgroup_t *cg, const mascri_spec_resources_t *r,
                        bool with_default_devices, mascri_error_t *err)
{
  mascri_cgroup_writes_t ws = {0};
  if (mascri_cgroup_resource_writes(&cg->layout, r, with_default_devices, &ws, err) < 0)
    return -EINVAL;
  /* Memory limits depend on each other's order (limit <= memsw): retry failures once. */
  bool *failed = xcalloc(ws.n + 1, sizeof(bool));
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *open_file = NULL;
  int ret = 0;
  for (int pass = 0; pass < 2 && ret == 0; pass++) {
    bool any = false;
    for (size_t i = 0; i < ws.n; i++) {
      if (pass == 1 && !failed[i])
        continue;
      mascri_error_t e = NULL;
      failed[i] = apply_write(cg, &ws.w[i], &fd, &open_file, &e) < 0;
      if (failed[i] && (pass == 1 || strncmp(ws.w[i].file, "memory.", 7) != 0)) {
        mascri_error_move(err, &e);
        ret = -1;
        break;
      }
      mascri_error_release(&e);
      any |= failed[i];
    }
    if (!any)
      break;
  }
  free(failed);
  mascri_cgroup_writes_clear(&ws);
  return ret;
}

static int write_procs(const char *mount, const char *path, const char *pid, size_t len,
                       mascri_error_t *err)
{
  _cleanup_free_ char *dir = mascri_path_join(mount, path);
  _cleanup_free_ char *procs = mascri_path_join(dir, "cgroup.procs");
  return mascri_write_file_at(AT_FDCWD, procs, pid, len, err);
}

int mascri_cgroup_enter_v1(const mascri_cgroup_t *cg, pid_t pid, mascri_error_t *err)
{
  char buf[32];
  int len = snprintf(buf, sizeof(buf), "%d", (int)pid);
  for (size_t i = 0; i < cg->layout.n_v1; i++)
    if (write_procs(cg->layout.v1[i].mount, cg->path, buf, (size_t)len, err) < 0)
      return mascri_error_wrap(err, "move %d into cgroup", (int)pid);
  return 0;
}

int mascri_cgroup_enter(const mascri_cgroup_t *cg, pid_t pid, mascri_error_t *err)
{
  if (mascri_cgroup_enter_v1(cg, pid, err) < 0)
    return -1;
  if (!cg->layout.v2_mount)
    return 0;
  char buf[32];
  int len = snprintf(buf, sizeof(buf), "%d", (int)pid);
  if (write_procs(cg->layout.v2_mount, cg->path, buf, (size_t)len, err) < 0)
    return mascri_error_wrap(err, "move %d into cgroup", (int)pid);
  return 0;
}

int mascri_cgroup_join(const mascri_cgroup_t *cg, pid_t pid, bool born_in_v2, mascri_error_t *err)
{
  return born_in_v2 ? mascri_cgroup_enter_v1(cg, pid, err) : mascri_cgroup_enter(cg, pid, err);
}

int mascri_cgroup_open_v2(const mascri_cgroup_t *cg, mascri_error_t *err)
{
  if (!cg->layout.v2_mount)
    return mascri_make_error(err, EINVAL, "cgroup %s: the host has no cgroup2 mount", cg->path);
  _cleanup_free_ char *dir = mascri_path_join(cg->layout.v2_mount, cg->path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open cgroup %s", dir);
  return fd;
}

static int read_pids_file(const char *path, pid_t **pids, size_t *n, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  if (mascri_read_file(path, &buf, &len, err) < 0)
    return -1;
  char *save = NULL;
  for (char *tok = strtok_r(buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
    *pids = xrealloc(*pids, (*n + 1) * sizeof(pid_t));
    (*pids)[(*n)++] = (pid_t)atoi(tok);
  }
  return 0;
}

int mascri_cgroup_pids(const mascri_cgroup_t *cg, pid_t **pids, size_t *n, mascri_error_t *err)
{
  *pids = NULL;
  *n = 0;
  _cleanup_free_ char *dir = NULL;
  if (cg->layout.mode == MASCRI_CGROUP_V2)
    dir = mascri_cgroup_dir(cg, NULL);
  else if (!(dir = mascri_cgroup_dir(cg, "pids")) && !(dir = mascri_cgroup_dir(cg, "memory")))
    dir = mascri_path_join(cg->layout.v1[0].mount, cg->path);
  _cleanup_free_ char *procs = mascri_path_join(dir, "cgroup.procs");
  return read_pids_file(procs, pids, n, err);
}

static int rmdir_tree(const char *dir)
{
  if (rmdir(dir) == 0 || errno == ENOENT) /* the usual case: no child cgroups */
    return 0;
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -errno;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    _cleanup_free_ char *sub = mascri_path_join(dir, de->d_name);
    rmdir_tree(sub);
  }
  for (int i = 0; i < 200; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY)
      return -errno;
    struct timespec ts = {0, 1000000}; /* a just-exited process may linger in the cgroup */
    nanosleep(&ts, NULL);
  }
  return -EBUSY;
}

int mascri_cgroup_destroy(const mascri_cgroup_t *cg, mascri_error_t *err)
{
  int ret = 0;
  for (size_t i = 0; i <= cg->layout.n_v1; i++) {
    const char *mnt = i < cg->layout.n_v1 ? cg->layout.v1[i].mount : cg->layout.v2_mount;
    if (!mnt)
      continue;
    _cleanup_free_ char *dir = mascri_path_join(mnt, cg->path);
    int r = rmdir_tree(dir);
    if (r < 0 && ret == 0)
      ret = mascri_make_error(err, -r, "remove cgroup %s", dir);
  }
  return ret;
}
