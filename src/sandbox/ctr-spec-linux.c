/* "linux" of a CRI container: namespaces (the pod's joined by path), cgroupsPath,
 * resources, devices, masked and readonly paths, seccomp. */
#include <string.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "sandbox/ctr-seccomp.h"
#include "sandbox/ctr-spec-internal.h"

/* What containerd and CRI-O mask when the security context names nothing. */
static const char *const default_masked[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};
static const char *const default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static void gen_ns(yajl_gen g, const char *type, const char *path)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "type", type);
  if (path)
    mascri_json_gen_kv_string(g, "path", path);
  yajl_gen_map_close(g);
}

/* pid: the pod's namespace (POD), the host's (NODE), the target container's (TARGET), or
 * a new one (CONTAINER, kubelet's default). NULL type means none in the list (host). */
static int gen_pid_ns(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  enum mascri_ns_mode mode =
      c->sc->has_namespace_options ? c->sc->namespace_options.pid : MASCRI_NS_MODE_CONTAINER;
  const struct mascri_pod_info *pod = c->in->pod;
  _cleanup_free_ char *pidns = mascri_pod_path(pod, MASCRI_POD_PIDNS);
  switch (mode) {
  case MASCRI_NS_MODE_POD:
    if (pidns)
      gen_ns(g, "pid", pidns);
    else if (mascri_pod_info_pid_mode(pod) != MASCRI_NS_MODE_NODE)
      gen_ns(g, "pid", NULL);
    return 0;
  case MASCRI_NS_MODE_NODE:
    if (mascri_pod_info_pid_mode(pod) != MASCRI_NS_MODE_NODE)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "namespace_options.pid: NODE needs a pod with host PID");
    return 0;
  case MASCRI_NS_MODE_TARGET:
    if (!c->in->target_pidns_path)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "namespace_options.pid: TARGET needs target_id");
    gen_ns(g, "pid", c->in->target_pidns_path);
    return 0;
  default:
    gen_ns(g, "pid", NULL);
    return 0;
  }
}

static bool host_is_cgroup2(void)
{
  mascri_cgroup_layout_t l = {0};
  _cleanup_error_ mascri_error_t e = NULL;
  if (mascri_cgroup_layout_probe(&l, &e) < 0)
    return false;
  bool v2 = l.mode == MASCRI_CGROUP_V2;
  mascri_cgroup_layout_clear(&l);
  return v2;
}

static int gen_namespaces(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  const struct mascri_pod_info *pod = c->in->pod;
  if (c->sc->has_namespace_options && c->sc->namespace_options.userns != MASCRI_NS_MODE_NODE)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "namespace_options.userns_options: user namespaces are not "
                                  "supported by mascri yet");
  mascri_json_gen_key(g, "namespaces");
  yajl_gen_array_open(g);
  gen_ns(g, "mount", NULL);
  static const struct {
    const char *type;
    enum mascri_pod_path pin;
  } pinned[] = {
      {"network", MASCRI_POD_NETNS}, {"ipc", MASCRI_POD_IPCNS}, {"uts", MASCRI_POD_UTSNS}};
  for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
    _cleanup_free_ char *path = mascri_pod_path(pod, pinned[i].pin);
    if (path)
      gen_ns(g, pinned[i].type, path);
  }
  if (gen_pid_ns(g, c, err) < 0)
    return -1;
  if (host_is_cgroup2())
    gen_ns(g, "cgroup", NULL);
  yajl_gen_array_close(g);
  return 0;
}

static void gen_paths(yajl_gen g, const char *key, char *const *given, const char *const *defaults,
                      bool privileged)
{
  mascri_json_gen_key(g, key);
  yajl_gen_array_open(g);
  if (privileged) {
    /* nothing masked or readonly */
  } else if (given && given[0]) {
    for (size_t i = 0; given[i]; i++)
      mascri_json_gen_string(g, given[i]);
  } else {
    for (size_t i = 0; defaults[i]; i++)
      mascri_json_gen_string(g, defaults[i]);
  }
  yajl_gen_array_close(g);
}

int ctr_spec_gen_linux(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  mascri_json_gen_key(g, "linux");
  yajl_gen_map_open(g);
  if (gen_namespaces(g, c, err) < 0)
    return -1;
  if (c->in->cgroups_path)
    mascri_json_gen_kv_string(g, "cgroupsPath", c->in->cgroups_path);
  const char *prop = ctr_spec_rootfs_propagation(c->cfg);
  if (prop)
    mascri_json_gen_kv_string(g, "rootfsPropagation", prop);
  if (ctr_spec_gen_resources(g, c, err) < 0 || ctr_spec_gen_devices(g, c, err) < 0)
    return -1;
  gen_paths(g, "maskedPaths", c->sc->masked_paths, default_masked, c->privileged);
  gen_paths(g, "readonlyPaths", c->sc->readonly_paths, default_readonly, c->privileged);
  if (mascri_ctr_seccomp_gen(g, c->sc, c->privileged, c->caps, err) < 0)
    return -1;
  yajl_gen_map_close(g);
  return 0;
}
