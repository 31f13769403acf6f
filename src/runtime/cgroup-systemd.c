/* The systemd cgroup manager: a transient scope per container, created over sd-bus
 * (org.freedesktop.systemd1.Manager.StartTransientUnit) with the container's pid in it;
 * resources are then written through cgroupfs below the scope (Delegate=yes).
 *
 * libsystemd is loaded with dlopen() the first time it is needed, so the runtime binaries
 * do not pay for loading it (and its dependencies) on every container start. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
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

int mascri_cgroup_systemd_start_scope(const char *slice, const char *unit, pid_t pid,
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

int mascri_cgroup_systemd_stop_unit(const char *unit, mascri_error_t *err)
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

int mascri_cgroup_systemd_wait_scope(const char *path, pid_t pid, mascri_error_t *err)
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
