/* linux.resources → cgroup file writes, for v1 and v2 file names and value formats. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

typedef struct {
  const mascri_cgroup_layout_t *l;
  mascri_cgroup_writes_t *out;
  bool v2; /* emit v2 file names */
} writer_t;

static void add(writer_t *w, const char *controller, const char *file, char *value)
{
  mascri_cgroup_writes_t *o = w->out;
  o->w = xrealloc(o->w, (o->n + 1) * sizeof(*o->w));
  o->w[o->n].controller = w->v2 ? NULL : controller;
  o->w[o->n].file = xstrdup(file);
  o->w[o->n].value = value;
  o->n++;
}

void mascri_cgroup_writes_clear(mascri_cgroup_writes_t *ws)
{
  for (size_t i = 0; i < ws->n; i++) {
    free(ws->w[i].file);
    free(ws->w[i].value);
  }
  free(ws->w);
  ws->w = NULL;
  ws->n = 0;
}

uint64_t mascri_cgroup_shares_to_weight(uint64_t shares)
{
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t mascri_cgroup_blkio_to_io_weight(uint64_t weight)
{
  if (weight == 0)
    return 0;
  if (weight < 10)
    weight = 10;
  return 1 + (weight - 10) * 9999 / 990;
}

static char *limit_or_max(int64_t v, bool v2)
{
  if (v < 0)
    return xstrdup(v2 ? "max" : "-1");
  return xasprintf("%" PRId64, v);
}

static void memory_writes(writer_t *w, const mascri_spec_resources_t *r)
{
  bool v2 = w->v2;
  if (r->memory.has_limit)
    add(w, "memory", v2 ? "memory.max" : "memory.limit_in_bytes",
        limit_or_max(r->memory.limit, v2));
  if (r->memory.has_reservation)
    add(w, "memory", v2 ? "memory.low" : "memory.soft_limit_in_bytes",
        limit_or_max(r->memory.reservation, v2));
  if (r->memory.has_swap) {
    if (!v2)
      add(w, "memory", "memory.memsw.limit_in_bytes", limit_or_max(r->memory.swap, false));
    else if (r->memory.swap < 0 || !r->memory.has_limit || r->memory.limit < 0)
      add(w, "memory", "memory.swap.max", xstrdup("max"));
    else /* OCI's swap is memory+swap; v2's swap.max is swap alone */
      add(w, "memory", "memory.swap.max",
          xasprintf("%" PRId64,
                    r->memory.swap > r->memory.limit ? r->memory.swap - r->memory.limit : 0));
  }
  if (!v2 && r->memory.has_kernel_tcp)
    add(w, "memory", "memory.kmem.tcp.limit_in_bytes", limit_or_max(r->memory.kernel_tcp, false));
  if (r->memory.has_kernel)
    log_warning("linux.resources.memory.kernel is deprecated and ignored");
  if (!v2 && r->memory.has_swappiness)
    add(w, "memory", "memory.swappiness", xasprintf("%" PRIu64, r->memory.swappiness));
  if (!v2 && r->memory.has_disable_oom_killer && r->memory.disable_oom_killer)
    add(w, "memory", "memory.oom_control", xstrdup("1"));
}

static void cpu_writes(writer_t *w, const mascri_spec_resources_t *r)
{
  bool v2 = w->v2;
  if (r->cpu.has_shares && r->cpu.shares > 0)
    add(w, "cpu", v2 ? "cpu.weight" : "cpu.shares",
        xasprintf("%" PRIu64, v2 ? mascri_cgroup_shares_to_weight(r->cpu.shares) : r->cpu.shares));
  if (v2 && (r->cpu.has_quota || r->cpu.has_period)) {
    uint64_t period = r->cpu.has_period && r->cpu.period ? r->cpu.period : 100000;
    if (r->cpu.has_quota && r->cpu.quota > 0)
      add(w, "cpu", "cpu.max", xasprintf("%" PRId64 " %" PRIu64, r->cpu.quota, period));
    else
      add(w, "cpu", "cpu.max", xasprintf("max %" PRIu64, period));
  } else if (!v2) {
    if (r->cpu.has_period && r->cpu.period)
      add(w, "cpu", "cpu.cfs_period_us", xasprintf("%" PRIu64, r->cpu.period));
    if (r->cpu.has_quota)
      add(w, "cpu", "cpu.cfs_quota_us",
          xasprintf("%" PRId64, r->cpu.quota > 0 ? r->cpu.quota : -1));
  }
  if (r->cpu.has_burst)
    add(w, "cpu", v2 ? "cpu.max.burst" : "cpu.cfs_burst_us", xasprintf("%" PRIu64, r->cpu.burst));
  if (!v2 && r->cpu.has_rt_period && r->cpu.rt_period)
    add(w, "cpu", "cpu.rt_period_us", xasprintf("%" PRIu64, r->cpu.rt_period));
  if (!v2 && r->cpu.has_rt_runtime && r->cpu.rt_runtime)
    add(w, "cpu", "cpu.rt_runtime_us", xasprintf("%" PRId64, r->cpu.rt_runtime));
  if (r->cpu.has_idle)
    add(w, "cpu", "cpu.idle", xasprintf("%" PRId64, r->cpu.idle));
  if (r->cpu.cpus && r->cpu.cpus[0])
    add(w, "cpuset", "cpuset.cpus", xstrdup(r->cpu.cpus));
  if (r->cpu.mems && r->cpu.mems[0])
    add(w, "cpuset", "cpuset.mems", xstrdup(r->cpu.mems));
}

static void blkio_writes(writer_t *w, const mascri_spec_resources_t *r)
{
  static const char *const v1_throttle[4] = {
      "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
  static const char *const v2_keys[4] = {"rbps", "wbps", "riops", "wiops"};
  bool v2 = w->v2;
  if (r->blkio.has_weight && r->blkio.weight)
    add(w, "blkio", v2 ? "io.weight" : "blkio.weight",
        v2 ? xasprintf("default %" PRIu64, mascri_cgroup_blkio_to_io_weight(r->blkio.weight))
           : xasprintf("%u", r->blkio.weight));
  if (!v2 && r->blkio.has_leaf_weight && r->blkio.leaf_weight)
    add(w, "blkio", "blkio.leaf_weight", xasprintf("%u", r->blkio.leaf_weight));
  for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
    const mascri_spec_weight_device_t *d = &r->blkio.weight_devices[i];
    if (d->has_weight)
      add(w, "blkio", v2 ? "io.weight" : "blkio.weight_device",
          xasprintf("%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                    v2 ? mascri_cgroup_blkio_to_io_weight(d->weight) : d->weight));
    if (!v2 && d->has_leaf_weight)
      add(w, "blkio", "blkio.leaf_weight_device",
          xasprintf("%" PRId64 ":%" PRId64 " %u", d->major, d->minor, d->leaf_weight));
  }
  for (int t = 0; t < 4; t++)
    for (size_t i = 0; i < r->blkio.n_throttle[t]; i++) {
      const mascri_spec_throttle_device_t *d = &r->blkio.throttle[t][i];
      if (v2)
        add(w, "blkio", "io.max",
            xasprintf("%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor, v2_keys[t],
                      d->rate));
      else
        add(w, "blkio", v1_throttle[t],
            xasprintf("%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, d->rate));
    }
}

static char *device_rule(char type, int64_t major, int64_t minor, const char *access)
{
  char maj[24], min[24];
  if (major < 0)
    strcpy(maj, "*");
  else
    snprintf(maj, sizeof(maj), "%" PRId64, major);
  if (minor < 0)
    strcpy(min, "*");
  else
    snprintf(min, sizeof(min), "%" PRId64, minor);
  if (type == 'a')
    return xstrdup("a");
  return xasprintf("%c %s:%s %s", type, maj, min, access && access[0] ? access : "rwm");
}

const mascri_cgroup_default_device_t mascri_cgroup_default_devices[] = {
    {'c', -1, -1, "m"}, {'b', -1, -1, "m"},    {'c', 1, 3, "rwm"}, {'c', 1, 8, "rwm"},
    {'c', 1, 7, "rwm"}, {'c', 5, 0, "rwm"},    {'c', 1, 5, "rwm"}, {'c', 1, 9, "rwm"},
    {'c', 5, 1, "rwm"}, {'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"},
};
const size_t mascri_cgroup_n_default_devices = ARRAY_SIZE(mascri_cgroup_default_devices);

/* v1 devices.allow/deny writes; on pure v2 the rules become a BPF program when the cgroup is
 * created (cgroup-devices.c). */
static void device_writes(writer_t *w, const mascri_spec_resources_t *r, bool defaults)
{
  if (w->v2)
    return;
  for (size_t i = 0; i < r->n_devices; i++) {
    const mascri_spec_device_rule_t *d = &r->devices[i];
    add(w, "devices", d->allow ? "devices.allow" : "devices.deny",
        device_rule(d->type, d->major, d->minor, d->access));
  }
  if (defaults)
    for (size_t i = 0; i < mascri_cgroup_n_default_devices; i++)
      add(w, "devices", "devices.allow",
          device_rule(mascri_cgroup_default_devices[i].type, mascri_cgroup_default_devices[i].major,
                      mascri_cgroup_default_devices[i].minor,
                      mascri_cgroup_default_devices[i].access));
}

static int hugetlb_writes(writer_t *w, const mascri_spec_resources_t *r, mascri_error_t *err)
{
  for (size_t i = 0; i < r->n_hugepage_limits; i++) {
    const mascri_spec_hugepage_limit_t *h = &r->hugepage_limits[i];
    if (strchr(h->page_size, '/') || strchr(h->page_size, '.'))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.resources.hugepageLimits[%zu].pageSize: invalid \"%s\"",
                                    i, h->page_size);
    bool v2 = w->v2 || !mascri_cgroup_v1_mount(w->l, "hugetlb");
    _cleanup_free_ char *file =
        xasprintf("hugetlb.%s.%s", h->page_size, v2 ? "max" : "limit_in_bytes");
    writer_t hw = {w->l, w->out, v2};
    add(&hw, "hugetlb", file, xasprintf("%" PRIu64, h->limit));
  }
  return 0;
}

static int unified_writes(writer_t *w, const mascri_spec_resources_t *r, mascri_error_t *err)
{
  for (size_t i = 0; r->unified_keys && r->unified_keys[i]; i++) {
    const char *key = r->unified_keys[i];
    if (strchr(key, '/') || key[0] == '.' || !strchr(key, '.'))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.resources.unified: invalid key \"%s\"", key);
    if (!w->l->v2_mount)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.resources.unified.%s: the host has no cgroup v2 mount",
                                    key);
    writer_t uw = {w->l, w->out, true};
    add(&uw, NULL, key, xstrdup(r->unified_values[i]));
  }
  return 0;
}

int mascri_cgroup_resource_writes(const mascri_cgroup_layout_t *l, const mascri_spec_resources_t *r,
                                  bool with_default_devices, mascri_cgroup_writes_t *out,
                                  mascri_error_t *err)
{
  writer_t w = {l, out, l->mode == MASCRI_CGROUP_V2};
  static const mascri_spec_resources_t empty;
  if (!r)
    r = &empty;
  device_writes(&w, r, with_default_devices);
  memory_writes(&w, r);
  cpu_writes(&w, r);
  if (r->pids.has_limit)
    add(&w, "pids", "pids.max",
        r->pids.limit > 0 ? xasprintf("%" PRId64, r->pids.limit) : xstrdup("max"));
  blkio_writes(&w, r);
  if (!w.v2 && r->network.has_class_id)
    add(&w, "net_cls", "net_cls.classid", xasprintf("%u", r->network.class_id));
  if (hugetlb_writes(&w, r, err) < 0 || unified_writes(&w, r, err) < 0) {
    mascri_cgroup_writes_clear(out);
    return -EINVAL;
  }
  return 0;
}
