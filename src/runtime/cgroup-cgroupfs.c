/* The cgroupfs cgroup manager: mascri makes and removes the directories itself, on every
 * hierarchy, before the first process exists (so that it can be cloned into its v2 cgroup). */
#include <string.h>

#include "common/xalloc.h"
#include "runtime/cgroup.h"

static bool path_is_safe(const char *p)
{
  if (strstr(p, "/../") || strncmp(p, "../", 3) == 0 || strcmp(p, "..") == 0)
    return false;
  size_t n = strlen(p);
  return !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

static int resolve_path(const char *cgroups_path, const char *id, char **out, mascri_error_t *err)
{
  if (!cgroups_path || cgroups_path[0] == '\0') {
    *out = xasprintf("/mascri/%s", id);
    return 0;
  }
  if (!path_is_safe(cgroups_path))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.cgroupsPath: \"..\" is not allowed: \"%s\"", cgroups_path);
  *out = cgroups_path[0] == '/' ? xstrdup(cgroups_path) : xasprintf("/%s", cgroups_path);
  return 0;
}

static int create(mascri_cgroup_t *cg, const mascri_spec_resources_t *r, bool with_default_devices,
                  mascri_error_t *err)
{
  return mascri_cgroup_create(cg, r, with_default_devices, err) < 0 ? -1 : 1;
}

static int enter(mascri_cgroup_t *cg, const mascri_spec_resources_t *r, bool with_default_devices,
                 pid_t pid, bool born_in_v2, mascri_error_t *err)
{
  (void)r, (void)with_default_devices; /* applied by create */
  return mascri_cgroup_join(cg, pid, born_in_v2, err);
}

static char *pod_parent(const char *config_parent, const char *daemon_parent, const char *pod_id)
{
  if (config_parent && config_parent[0])
    return xasprintf("%s%s", config_parent[0] == '/' ? "" : "/", config_parent);
  return xasprintf("%s%s/pod-%s", daemon_parent[0] == '/' ? "" : "/", daemon_parent, pod_id);
}

static char *parent_path(const char *pod_parent)
{
  return xstrdup(pod_parent);
}

static int pod_path(const char *pod_parent, const char *pod_id, char **out, mascri_error_t *err)
{
  (void)err;
  *out = xasprintf("%s/mascri-%s", pod_parent, pod_id);
  return 0;
}

static char *container_cgroups_path(const char *pod_parent, const char *id)
{
  return xasprintf("%s/mascri-%s", pod_parent ? pod_parent : "/mascri", id);
}

const mascri_cgroup_ops_t mascri_cgroup_cgroupfs_ops = {
    .name = "cgroupfs",
    .daemon_parent = "mascri",
    .removes_empty_cgroups = false,
    .resolve_path = resolve_path,
    .create = create,
    .enter = enter,
    .destroy = mascri_cgroup_destroy,
    .pod_parent = pod_parent,
    .parent_path = parent_path,
    .pod_path = pod_path,
    .container_cgroups_path = container_cgroups_path,
};
