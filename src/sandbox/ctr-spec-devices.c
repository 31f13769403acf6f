/* Devices of a CRI container: config.devices (host device nodes, stat'ed for their type and
 * numbers) as linux.devices plus cgroup allow rules; privileged containers get every host
 * device and an allow-all rule, as with containerd and CRI-O. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "sandbox/ctr-spec-internal.h"

static int check_permissions(const char *perm, size_t i, mascri_error_t *err)
{
  for (const char *p = perm; *p; p++)
    if (!strchr("rwm", *p))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "devices[%zu].permissions: \"%s\" is not a subset of \"rwm\"",
                                    i, perm);
  return 0;
}

static int stat_device(const struct mascri_ctr_device *d, size_t i, struct stat *st,
                       mascri_error_t *err)
{
  if (!d->host_path || d->host_path[0] != '/' || !d->container_path || d->container_path[0] != '/')
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "devices[%zu]: host_path and container_path must be absolute "
                                  "paths",
                                  i);
  if (stat(d->host_path, st) < 0)
    return mascri_make_error_kind(err, errno == ENOENT ? MASCRI_ERR_NOT_FOUND : MASCRI_ERR_INTERNAL,
                                  errno, "devices[%zu]: host_path %s", i, d->host_path);
  if (!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "devices[%zu]: host_path %s is not a device node", i,
                                  d->host_path);
  return check_permissions(d->permissions ? d->permissions : "", i, err);
}

static void gen_node(yajl_gen g, const char *path, const struct stat *st)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "path", path);
  mascri_json_gen_kv_string(g, "type", S_ISBLK(st->st_mode) ? "b" : "c");
  mascri_json_gen_kv_int(g, "major", major(st->st_rdev));
  mascri_json_gen_kv_int(g, "minor", minor(st->st_rdev));
  mascri_json_gen_kv_uint(g, "fileMode", st->st_mode & 07777);
  mascri_json_gen_kv_uint(g, "uid", st->st_uid);
  mascri_json_gen_kv_uint(g, "gid", st->st_gid);
  yajl_gen_map_close(g);
}

/* Every device node under dir (depth-limited), except what the runtime makes itself. */
static void gen_host_devices(yajl_gen g, const char *dir, int depth)
{
  if (depth > 4)
    return;
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name);
    if (strcmp(p, "/dev/pts") == 0 || strcmp(p, "/dev/shm") == 0 || strcmp(p, "/dev/mqueue") == 0 ||
        strcmp(p, "/dev/console") == 0 || strcmp(p, "/dev/ptmx") == 0 || strcmp(p, "/dev/tty") == 0)
      continue;
    struct stat st;
    if (lstat(p, &st) < 0)
      continue;
    if (S_ISDIR(st.st_mode))
      gen_host_devices(g, p, depth + 1);
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      gen_node(g, p, &st);
  }
  closedir(d);
}

int ctr_spec_gen_devices(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  mascri_json_gen_key(g, "devices");
  yajl_gen_array_open(g);
  if (c->privileged)
    gen_host_devices(g, "/dev", 0);
  for (size_t i = 0; i < c->cfg->n_devices; i++) {
    const struct mascri_ctr_device *d = &c->cfg->devices[i];
    struct stat st;
    if (stat_device(d, i, &st, err) < 0)
      return -1;
    gen_node(g, d->container_path, &st);
  }
  yajl_gen_array_close(g);
  return 0;
}

static void gen_rule(yajl_gen g, bool allow, const char *type, long long maj, long long min,
                     const char *access)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_bool(g, "allow", allow);
  if (type)
    mascri_json_gen_kv_string(g, "type", type);
  if (maj >= 0)
    mascri_json_gen_kv_int(g, "major", maj);
  if (min >= 0)
    mascri_json_gen_kv_int(g, "minor", min);
  mascri_json_gen_kv_string(g, "access", access);
  yajl_gen_map_close(g);
}

int ctr_spec_gen_device_rules(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  mascri_json_gen_key(g, "devices");
  yajl_gen_array_open(g);
  if (c->privileged) {
    gen_rule(g, true, NULL, -1, -1, "rwm");
  } else {
    /* deny all; the runtime adds the standard allowed set (null, zero, tty, ...) */
    gen_rule(g, false, NULL, -1, -1, "rwm");
  }
  for (size_t i = 0; i < c->cfg->n_devices; i++) {
    const struct mascri_ctr_device *d = &c->cfg->devices[i];
    struct stat st;
    if (stat_device(d, i, &st, err) < 0)
      return -1;
    const char *perm = d->permissions && *d->permissions ? d->permissions : "rwm";
    gen_rule(g, true, S_ISBLK(st.st_mode) ? "b" : "c", major(st.st_rdev), minor(st.st_rdev), perm);
  }
  yajl_gen_array_close(g);
  return 0;
}
