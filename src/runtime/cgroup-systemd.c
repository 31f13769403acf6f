/* The systemd cgroup manager: a transient scope per container (and per pod, for pause),
 * created over sd-bus (org.freedesktop.systemd1.Manager.StartTransientUnit) with its first
 * process in it, in a slice; resources are then written through cgroupfs below the scope
 * (Delegate=yes). Stopping the unit removes the scope; systemd removes an empty one itself.
 *
 * libsystemd is loaded with dlopen() the first time it is needed, so the runtime binaries
 * do not pay for loading it (and its dependencies) on every container start. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

typedef struct sdbus_api {
  int (*open_system)(sd_bus **);
  sd_bus *(*flush_close_unref)(sd_bus *);
  int (*new_method_call)(sd_bus *, sd_bus_message **, const char *, const char *, const char *,
                         const char *);
  int (*append)(sd_bus_message *, const char *, ...);
  int (*open_container)(sd_bus_message *, char, const char *);
  int (*close_container)(sd_bus_message *);
  int (*call)(sd_bus *, sd_bus_message *, uint64_t, sd_bus_error *, sd_bus_message **);
  int (*call_method)(sd_bus *, const char *, const char *, const char *, const char *,
                     sd_bus_error *, sd_bus_message **, const char *, ...);
  sd_bus_message *(*message_unref)(sd_bus_message *);
  void (*error_free)(sd_bus_error *);
  int (*error_has_name)(const sd_bus_error *, const char *);
} sdbus_api_t;

/* Lazily probed: libsystemd's sd-bus entry points (NULL members when unavailable). */
static const sdbus_api_t *sdbus(mascri_error_t *err)
{
  static sdbus_api_t api;
  static int loaded; /* 0 = not yet, 1 = ok, -1 = failed */
  if (loaded == 0) {
    void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    loaded = -1;
    if (h) {
      api.open_system = dlsym(h, "sd_bus_open_system");
      api.flush_close_unref = dlsym(h, "sd_bus_flush_close_unref");
      api.new_method_call = dlsym(h, "sd_bus_message_new_method_call");
      api.append = dlsym(h, "sd_bus_message_append");
      api.open_container = dlsym(h, "sd_bus_message_open_container");
      api.close_container = dlsym(h, "sd_bus_message_close_container");
      api.call = dlsym(h, "sd_bus_call");
      api.call_method = dlsym(h, "sd_bus_call_method");
      api.message_unref = dlsym(h, "sd_bus_message_unref");
      api.error_free = dlsym(h, "sd_bus_error_free");
      api.error_has_name = dlsym(h, "sd_bus_error_has_name");
      if (api.open_system && api.flush_close_unref && api.new_method_call && api.append &&
          api.open_container && api.close_container && api.call && api.call_method &&
          api.message_unref && api.error_free && api.error_has_name)
        loaded = 1;
    }
  }
  if (loaded < 0) {
    mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0,
                           "the systemd cgroup manager needs libsystemd.so.0: %s",
                           dlerror() ? dlerror() : "not found");
    return NULL;
  }
  return &api;
}

bool mascri_cgroup_systemd_running(void)
{
  /* what sd_booted() checks */
  return access("/run/systemd/system/", F_OK) == 0;
}

static int open_bus(const sdbus_api_t **api, sd_bus **bus, mascri_error_t *err)
{
  if (!mascri_cgroup_systemd_running())
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0,
                                  "the systemd cgroup manager needs systemd as the init system "
                                  "(PID 1), which is not running here; use the cgroupfs manager "
                                  "(drop --systemd-cgroup)");
  if (!(*api = sdbus(err)))
    return -1;
  int r = (*api)->open_system(bus);
  if (r < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, -r, "connect to the system bus");
  return 0;
}

static int prop_u64(const sdbus_api_t *api, sd_bus_message *m, const char *name, uint64_t v)
{
  return api->append(m, "(sv)", name, "t", v);
}

/* The resource properties systemd knows, so that systemd itself keeps them: it rewrites a
 * unit's cgroup files from its properties whenever it realizes the unit again
 * (daemon-reload, a sibling unit changing the slice's controllers), which would undo values
 * written to the files alone. The rest of linux.resources goes to the files afterwards. */
static int append_resources(const sdbus_api_t *api, sd_bus_message *m,
                            const mascri_spec_resources_t *r)
{
  int ret = 0;
  if (r == NULL)
    return 0;
  if (r->memory.has_limit && r->memory.limit > 0) {
    ret = prop_u64(api, m, "MemoryMax", (uint64_t)r->memory.limit);
    if (ret >= 0 && r->memory.has_swap && r->memory.swap >= 0)
      ret = prop_u64(api, m, "MemorySwapMax",
                     r->memory.swap > r->memory.limit ? (uint64_t)(r->memory.swap - r->memory.limit)
                                                      : 0); /* OCI's swap is memory+swap */
  }
  if (ret >= 0 && r->memory.has_reservation && r->memory.reservation > 0)
    ret = prop_u64(api, m, "MemoryLow", (uint64_t)r->memory.reservation);
  if (ret >= 0 && r->cpu.has_shares && r->cpu.shares > 0)
    ret = prop_u64(api, m, "CPUWeight", mascri_cgroup_shares_to_weight(r->cpu.shares));
  if (ret >= 0 && r->cpu.has_quota && r->cpu.quota > 0) {
    uint64_t period = r->cpu.has_period && r->cpu.period ? r->cpu.period : 100000;
    /* systemd rounds the per-second quota up to 10 ms steps; the file write that follows
     * sets the exact value */
    ret = prop_u64(api, m, "CPUQuotaPerSecUSec", (uint64_t)r->cpu.quota * 1000000 / period);
    if (ret >= 0)
      ret = prop_u64(api, m, "CPUQuotaPeriodUSec", period);
  }
  if (ret >= 0 && r->pids.has_limit && r->pids.limit > 0)
    ret = prop_u64(api, m, "TasksMax", (uint64_t)r->pids.limit);
  if (ret >= 0 && r->blkio.has_weight && r->blkio.weight)
    ret = prop_u64(api, m, "IOWeight", mascri_cgroup_blkio_to_io_weight(r->blkio.weight));
  return ret;
}

static int build_start_call(const sdbus_api_t *api, sd_bus *bus, sd_bus_message **m,
                            const char *slice, const char *unit, pid_t pid,
                            const mascri_spec_resources_t *r)
{
  int ret = api->new_method_call(bus, m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                 "org.freedesktop.systemd1.Manager", "StartTransientUnit");
  if (ret >= 0)
    ret = api->append(*m, "ss", unit, "fail");
  if (ret >= 0)
    ret = api->open_container(*m, 'a', "(sv)");
  /* CollectMode: the unit goes away once its processes are gone, even after a SIGKILL
   * (a scope whose processes were killed is "failed" and would otherwise stay listed). */
  if (ret >= 0)
    ret = api->append(*m, "(sv)(sv)(sv)(sv)(sv)", "PIDs", "au", 1, (uint32_t)pid, "Slice", "s",
                      slice, "Delegate", "b", 1, "Description", "s", "mascri container",
                      "CollectMode", "s", "inactive-or-failed");
  if (ret >= 0)
    ret = append_resources(api, *m, r);
  if (ret >= 0)
    ret = api->close_container(*m);
  if (ret >= 0)
    ret = api->append(*m, "a(sa(sv))", 0);
  return ret;
}

/* Creates the transient scope unit holding pid in slice, with the resource properties
 * systemd knows (res may be NULL). */
static int start_scope(const char *slice, const char *unit, pid_t pid,
                       const mascri_spec_resources_t *res, mascri_error_t *err)
{
  const sdbus_api_t *api = NULL;
  sd_bus *bus = NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error berr = SD_BUS_ERROR_NULL;
  if (open_bus(&api, &bus, err) < 0)
    return -1;
  int ret = 0;
  int r = build_start_call(api, bus, &m, slice, unit, pid, res);
  if (r < 0)
    ret = mascri_make_error(err, -r, "build the StartTransientUnit call for %s", unit);
  else if ((r = api->call(bus, m, 0, &berr, &reply)) < 0)
    ret = mascri_make_error(err, -r, "start transient scope %s: %s", unit,
                            berr.message ? berr.message : "failed");
  api->error_free(&berr);
  if (reply)
    api->message_unref(reply);
  if (m)
    api->message_unref(m);
  api->flush_close_unref(bus);
  return ret;
}

/* StopUnit (a scope or slice); a unit that does not exist is fine. */
static int stop_unit(const char *unit, mascri_error_t *err)
{
  const sdbus_api_t *api = NULL;
  sd_bus *bus = NULL;
  sd_bus_error berr = SD_BUS_ERROR_NULL;
  if (open_bus(&api, &bus, err) < 0)
    return -1;
  int ret = 0;
  int r = api->call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "StopUnit", &berr, NULL, "ss", unit,
                           "replace");
  if (r < 0 && !api->error_has_name(&berr, "org.freedesktop.systemd1.NoSuchUnit"))
    ret = mascri_make_error(err, -r, "stop unit %s: %s", unit,
                            berr.message ? berr.message : "failed");
  api->error_free(&berr);
  api->flush_close_unref(bus);
  return ret;
}

/* The v2 cgroup of pid ("0::/path" in /proc/<pid>/cgroup), or NULL. */
static char *v2_cgroup_of(pid_t pid)
{
  char file[64];
  snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  mascri_error_t e = NULL;
  if (mascri_read_file(file, &text, &len, &e) < 0) {
    mascri_error_release(&e);
    return NULL;
  }
  for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (strncmp(line, "0::", 3) == 0)
      return xstrndup(line + 3, strcspn(line + 3, "\n"));
  return NULL;
}

/* systemd moves pid when the start job runs, after StartTransientUnit returns: waits (10 s
 * at most) until pid's v2 cgroup is path. */
static int wait_scope(const char *path, pid_t pid, mascri_error_t *err)
{
  for (int i = 0; i < 10000; i++) {
    _cleanup_free_ char *cur = v2_cgroup_of(pid);
    if (cur == NULL)
      return mascri_make_error(err, ESRCH, "process %d is gone", (int)pid);
    if (strcmp(cur, path) == 0)
      return 0;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return mascri_make_error_kind(err, MASCRI_ERR_DEADLINE, 0,
                                "systemd did not move process %d into %s within 10 s", (int)pid,
                                path);
}

/* "a-b.slice" → "/a.slice/a-b.slice" */
static char *expand_slice(const char *slice)
{
  if (strcmp(slice, "-.slice") == 0 || slice[0] == '\0')
    return xstrdup("");
  _cleanup_free_ char *base = xstrndup(slice, strlen(slice) - strlen(".slice"));
  char *res = xstrdup("");
  /* Walk the dash-separated prefixes. */
  for (size_t i = 0; base[i] != '\0'; i++) {
    if (base[i + 1] == '-' || base[i + 1] == '\0') {
      char *next = xasprintf("%s/%.*s.slice", res, (int)(i + 1), base);
      free(res);
      res = next;
    }
  }
  return res;
}

char *mascri_cgroup_systemd_slice_path(const char *slice)
{
  size_t n = strlen(slice);
  if (n < 7 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
    return NULL;
  return expand_slice(slice);
}

/* cgroupsPath "slice:prefix:name" → "/<slice's path>/prefix-name.scope" */
static int resolve_path(const char *cgroups_path, const char *id, char **out, mascri_error_t *err)
{
  _cleanup_strv_ char **parts =
      cgroups_path && cgroups_path[0] ? mascri_strv_split(cgroups_path, ':') : NULL;
  const char *slice = parts ? parts[0] : "system.slice";
  const char *prefix = parts && parts[1] ? parts[1] : "mascri";
  const char *name = parts && parts[1] && parts[2] ? parts[2] : id;
  if (parts && mascri_strv_length(parts) != 3)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.cgroupsPath: expected \"slice:prefix:name\" with "
                                  "the systemd cgroup manager, got \"%s\"",
                                  cgroups_path);
  if (slice[0] == '\0')
    slice = "system.slice";
  if (strchr(slice, '/') || strchr(name, '/') || strchr(prefix, '/') || strlen(slice) < 7 ||
      strcmp(slice + strlen(slice) - 6, ".slice") != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.cgroupsPath: invalid systemd path \"%s\"", cgroups_path);
  _cleanup_free_ char *sl = expand_slice(slice);
  const char *suffix =
      strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".scope") == 0 ? "" : ".scope";
  *out = prefix[0] ? xasprintf("%s/%s-%s%s", sl, prefix, name, suffix)
                   : xasprintf("%s/%s%s", sl, name, suffix);
  return 0;
}

/* The scope needs its first process: create only checks that systemd is there. */
static int create(mascri_cgroup_t *cg, const mascri_spec_resources_t *r, bool with_default_devices,
                  mascri_error_t *err)
{
  (void)cg, (void)r, (void)with_default_devices;
  if (!mascri_cgroup_systemd_running())
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0,
                                  "the systemd cgroup manager: systemd is not running as PID 1 "
                                  "on this host; use the cgroupfs manager");
  return 0;
}

/* The unit's name, the last component of a cgroup path. */
static const char *unit_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* The slice a scope's cgroup path is in ("-.slice", the root slice, at the top). */
static char *slice_of(const char *path)
{
  const char *end = strrchr(path, '/');
  const char *start = end;
  while (start && start > path && start[-1] != '/')
    start--;
  return end && end > path ? xstrndup(start, (size_t)(end - start)) : xstrdup("-.slice");
}

/* The scope is made with pid in it (systemd moves it when the start job runs); then the
 * files systemd does not write: resources and devices through cgroupfs, and on a hybrid
 * host the v1 hierarchies, which take a cgroup.procs write. On the v2 one pid is already
 * where wait_scope saw it. */
static int enter(mascri_cgroup_t *cg, const mascri_spec_resources_t *r, bool with_default_devices,
                 pid_t pid, bool born_in_v2, mascri_error_t *err)
{
  (void)born_in_v2; /* nothing is cloned into a scope that does not exist yet */
  _cleanup_free_ char *slice = slice_of(cg->path);
  if (start_scope(slice, unit_of(cg->path), pid, r, err) < 0 || wait_scope(cg->path, pid, err) < 0)
    return -1;
  if ((r || with_default_devices || cg->layout.mode != MASCRI_CGROUP_V2) &&
      mascri_cgroup_create(cg, r, with_default_devices, err) < 0)
    return -1;
  return mascri_cgroup_enter_v1(cg, pid, err);
}

/* Stops the unit (a scope, or a pod's own slice), so none is left behind; systemd removes
 * its cgroup on the v2 hierarchy. On a hybrid host the v1 directories are ours to remove. */
static int destroy(const mascri_cgroup_t *cg, mascri_error_t *err)
{
  int ret = stop_unit(unit_of(cg->path), err);
  if (cg->layout.mode == MASCRI_CGROUP_V2)
    return ret;
  _cleanup_error_ mascri_error_t e = NULL;
  if (mascri_cgroup_destroy(cg, &e) < 0 && ret == 0) {
    mascri_error_move(err, &e);
    ret = -1;
  }
  return ret;
}

static char *pod_parent(const char *config_parent, const char *daemon_parent, const char *pod_id)
{
  if (config_parent && config_parent[0])
    return xstrdup(config_parent);
  size_t n = strlen(daemon_parent);
  if (n > 6 && strcmp(daemon_parent + n - 6, ".slice") == 0)
    n -= 6;
  return xasprintf("%.*s-pod%s.slice", (int)n, daemon_parent, pod_id);
}

/* Pause gets a transient scope, mascri-<id>.scope, in the pod's slice (kubelet's
 * kubepods-...-pod<uid>.slice). */
static int pod_path(const char *pod_parent, const char *pod_id, char **out, mascri_error_t *err)
{
  _cleanup_free_ char *slice = mascri_cgroup_systemd_slice_path(pod_parent);
  if (!slice)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.cgroup_parent \"%s\" is not a systemd slice name "
                                  "(NAME.slice): mascrid uses the systemd cgroup manager, so "
                                  "kubelet's cgroupDriver must be systemd too",
                                  pod_parent);
  *out = xasprintf("%s/mascri-%s.scope", slice, pod_id);
  return 0;
}

static char *container_cgroups_path(const char *pod_parent, const char *id)
{
  const char *parent = pod_parent ? pod_parent : "/mascri";
  const char *slice = unit_of(parent);
  size_t n = strlen(slice);
  if (n < 6 || strcmp(slice + n - 6, ".slice") != 0)
    slice = "mascri.slice";
  return xasprintf("%s:mascri:%s", slice, id);
}

const mascri_cgroup_ops_t mascri_cgroup_systemd_ops = {
    .name = "systemd",
    .daemon_parent = "mascri.slice",
    .removes_empty_cgroups = true,
    .resolve_path = resolve_path,
    .create = create,
    .enter = enter,
    .destroy = destroy,
    .pod_parent = pod_parent,
    .parent_path = mascri_cgroup_systemd_slice_path,
    .pod_path = pod_path,
    .container_cgroups_path = container_cgroups_path,
};
