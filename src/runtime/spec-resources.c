/* config.json "linux.resources" (also `update -r file`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

static const char *const throttle_keys[4] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
                                             "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};

void spec_resources_clear(mascri_spec_resources_t *r)
{
  for (size_t i = 0; i < r->n_devices; i++)
    free(r->devices[i].access);
  free(r->devices);
  free(r->cpu.cpus);
  free(r->cpu.mems);
  free(r->blkio.weight_devices);
  for (int i = 0; i < 4; i++)
    free(r->blkio.throttle[i]);
  for (size_t i = 0; i < r->n_hugepage_limits; i++)
    free(r->hugepage_limits[i].page_size);
  free(r->hugepage_limits);
  mascri_strv_free(r->unified_keys);
  mascri_strv_free(r->unified_values);
}

void mascri_spec_resources_free(mascri_spec_resources_t *r)
{
  if (!r)
    return;
  spec_resources_clear(r);
  free(r);
}

/* Sets *has from the reader's result; returns < 0 on error. */
#define GET_OPT(fn, obj, w, key, has, out)                                                         \
  ({                                                                                               \
    int r_ = fn(obj, w, key, out, err);                                                            \
    if (r_ > 0)                                                                                    \
      *(has) = true;                                                                               \
    r_;                                                                                            \
  })

static int parse_memory(yajl_val v, const char *w, mascri_spec_resources_t *r, mascri_error_t *err)
{
  if (spec_check_object(v, w, err) < 0)
    return -EINVAL;
  if (!v)
    return 0;
  if (GET_OPT(spec_get_i64, v, w, "limit", &r->memory.has_limit, &r->memory.limit) < 0 ||
      GET_OPT(spec_get_i64, v, w, "reservation", &r->memory.has_reservation,
              &r->memory.reservation) < 0 ||
      GET_OPT(spec_get_i64, v, w, "swap", &r->memory.has_swap, &r->memory.swap) < 0 ||
      GET_OPT(spec_get_i64, v, w, "kernel", &r->memory.has_kernel, &r->memory.kernel) < 0 ||
      GET_OPT(spec_get_i64, v, w, "kernelTCP", &r->memory.has_kernel_tcp, &r->memory.kernel_tcp) <
          0 ||
      GET_OPT(spec_get_u64, v, w, "swappiness", &r->memory.has_swappiness, &r->memory.swappiness) <
          0 ||
      GET_OPT(spec_get_bool, v, w, "disableOOMKiller", &r->memory.has_disable_oom_killer,
              &r->memory.disable_oom_killer) < 0 ||
      GET_OPT(spec_get_bool, v, w, "useHierarchy", &r->memory.has_use_hierarchy,
              &r->memory.use_hierarchy) < 0)
    return -EINVAL;
  if (r->memory.has_swappiness && r->memory.swappiness > 100)
    return spec_field_error(err, w, "swappiness", "must be within 0..100");
  return 0;
}

static int parse_cpu(yajl_val v, const char *w, mascri_spec_resources_t *r, mascri_error_t *err)
{
  if (spec_check_object(v, w, err) < 0)
    return -EINVAL;
  if (!v)
    return 0;
  if (GET_OPT(spec_get_u64, v, w, "shares", &r->cpu.has_shares, &r->cpu.shares) < 0 ||
      GET_OPT(spec_get_i64, v, w, "quota", &r->cpu.has_quota, &r->cpu.quota) < 0 ||
      GET_OPT(spec_get_u64, v, w, "burst", &r->cpu.has_burst, &r->cpu.burst) < 0 ||
      GET_OPT(spec_get_u64, v, w, "period", &r->cpu.has_period, &r->cpu.period) < 0 ||
      GET_OPT(spec_get_i64, v, w, "realtimeRuntime", &r->cpu.has_rt_runtime, &r->cpu.rt_runtime) <
          0 ||
      GET_OPT(spec_get_u64, v, w, "realtimePeriod", &r->cpu.has_rt_period, &r->cpu.rt_period) < 0 ||
      GET_OPT(spec_get_i64, v, w, "idle", &r->cpu.has_idle, &r->cpu.idle) < 0 ||
      spec_get_string(v, w, "cpus", &r->cpu.cpus, err) < 0 ||
      spec_get_string(v, w, "mems", &r->cpu.mems, err) < 0)
    return -EINVAL;
  return 0;
}

static int parse_device_rules(yajl_val arr, const char *w, mascri_spec_resources_t *r,
                              mascri_error_t *err)
{
  if (!arr || YAJL_IS_NULL(arr))
    return 0;
  if (spec_check_array(arr, w, err) < 0)
    return -EINVAL;
  r->devices = xcalloc(arr->u.array.len + 1, sizeof(*r->devices));
  for (size_t i = 0; i < arr->u.array.len; i++) {
    yajl_val e = arr->u.array.values[i];
    _cleanup_free_ char *ew = xasprintf("%s[%zu]", w, i);
    _cleanup_free_ char *type = NULL;
    mascri_spec_device_rule_t *d = &r->devices[r->n_devices++];
    d->major = d->minor = -1;
    d->type = 'a';
    if (spec_check_object(e, ew, err) < 0 || spec_get_bool(e, ew, "allow", &d->allow, err) < 0 ||
        spec_get_string(e, ew, "type", &type, err) < 0 ||
        spec_get_i64(e, ew, "major", &d->major, err) < 0 ||
        spec_get_i64(e, ew, "minor", &d->minor, err) < 0 ||
        spec_get_string(e, ew, "access", &d->access, err) < 0)
      return -EINVAL;
    if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
      return spec_field_error(err, ew, "type", "must be one of a, c, b; got \"%s\"", type);
    if (type)
      d->type = type[0];
    if (d->access && strspn(d->access, "rwm") != strlen(d->access))
      return spec_field_error(err, ew, "access", "must be a subset of \"rwm\"");
  }
  return 0;
}

static int parse_blkio_dev(yajl_val e, const char *ew, int64_t *major, int64_t *minor,
                           mascri_error_t *err)
{
  if (spec_check_object(e, ew, err) < 0 || spec_get_i64(e, ew, "major", major, err) < 0 ||
      spec_get_i64(e, ew, "minor", minor, err) < 0)
    return -EINVAL;
  return 0;
}

static int parse_blkio(yajl_val v, const char *w, mascri_spec_resources_t *r, mascri_error_t *err)
{
  uint64_t n = 0;
  int k;
  if (spec_check_object(v, w, err) < 0)
    return -EINVAL;
  if (!v)
    return 0;
  if ((k = spec_get_uint(v, w, "weight", 1000, &n, err)) < 0)
    return -EINVAL;
  r->blkio.has_weight = k > 0;
  r->blkio.weight = (uint16_t)n;
  if ((k = spec_get_uint(v, w, "leafWeight", 1000, &n, err)) < 0)
    return -EINVAL;
  r->blkio.has_leaf_weight = k > 0;
  r->blkio.leaf_weight = (uint16_t)n;
  yajl_val wd = mascri_json_get(v, "weightDevice");
  if (wd && YAJL_IS_ARRAY(wd)) {
    r->blkio.weight_devices = xcalloc(wd->u.array.len + 1, sizeof(mascri_spec_weight_device_t));
    for (size_t i = 0; i < wd->u.array.len; i++) {
      yajl_val e = wd->u.array.values[i];
      _cleanup_free_ char *ew = xasprintf("%s.weightDevice[%zu]", w, i);
      mascri_spec_weight_device_t *d = &r->blkio.weight_devices[r->blkio.n_weight_devices++];
      if (parse_blkio_dev(e, ew, &d->major, &d->minor, err) < 0)
        return -EINVAL;
      if ((k = spec_get_uint(e, ew, "weight", 1000, &n, err)) < 0)
        return -EINVAL;
      d->has_weight = k > 0;
      d->weight = (uint16_t)n;
      if ((k = spec_get_uint(e, ew, "leafWeight", 1000, &n, err)) < 0)
        return -EINVAL;
      d->has_leaf_weight = k > 0;
      d->leaf_weight = (uint16_t)n;
    }
  }
  for (int t = 0; t < 4; t++) {
    yajl_val arr = mascri_json_get(v, throttle_keys[t]);
    if (!arr || !YAJL_IS_ARRAY(arr))
      continue;
    r->blkio.throttle[t] = xcalloc(arr->u.array.len + 1, sizeof(mascri_spec_throttle_device_t));
    for (size_t i = 0; i < arr->u.array.len; i++) {
      yajl_val e = arr->u.array.values[i];
      _cleanup_free_ char *ew = xasprintf("%s.%s[%zu]", w, throttle_keys[t], i);
      mascri_spec_throttle_device_t *d = &r->blkio.throttle[t][r->blkio.n_throttle[t]++];
      if (parse_blkio_dev(e, ew, &d->major, &d->minor, err) < 0 ||
          spec_get_u64(e, ew, "rate", &d->rate, err) < 0)
        return -EINVAL;
    }
  }
  return 0;
}

static int parse_hugepages(yajl_val arr, const char *w, mascri_spec_resources_t *r,
                           mascri_error_t *err)
{
  if (!arr || YAJL_IS_NULL(arr))
    return 0;
  if (spec_check_array(arr, w, err) < 0)
    return -EINVAL;
  r->hugepage_limits = xcalloc(arr->u.array.len + 1, sizeof(*r->hugepage_limits));
  for (size_t i = 0; i < arr->u.array.len; i++) {
    yajl_val e = arr->u.array.values[i];
    _cleanup_free_ char *ew = xasprintf("%s[%zu]", w, i);
    mascri_spec_hugepage_limit_t *h = &r->hugepage_limits[r->n_hugepage_limits++];
    if (spec_check_object(e, ew, err) < 0 ||
        spec_require_string(e, ew, "pageSize", &h->page_size, err) < 0 ||
        spec_get_u64(e, ew, "limit", &h->limit, err) < 0)
      return -EINVAL;
  }
  return 0;
}

int spec_parse_resources(yajl_val v, const char *where, mascri_spec_resources_t *r,
                         mascri_error_t *err)
{
  if (spec_check_object(v, where, err) < 0)
    return -EINVAL;
  _cleanup_free_ char *mw = xasprintf("%s.memory", where);
  _cleanup_free_ char *cw = xasprintf("%s.cpu", where);
  _cleanup_free_ char *pw = xasprintf("%s.pids", where);
  _cleanup_free_ char *bw = xasprintf("%s.blockIO", where);
  _cleanup_free_ char *dw = xasprintf("%s.devices", where);
  _cleanup_free_ char *hw = xasprintf("%s.hugepageLimits", where);
  _cleanup_free_ char *nw = xasprintf("%s.network", where);
  yajl_val pids = mascri_json_get(v, "pids");
  yajl_val net = mascri_json_get(v, "network");
  uint64_t classid = 0;
  if (parse_memory(mascri_json_get(v, "memory"), mw, r, err) < 0 ||
      parse_cpu(mascri_json_get(v, "cpu"), cw, r, err) < 0 ||
      spec_check_object(pids, pw, err) < 0 ||
      (pids && GET_OPT(spec_get_i64, pids, pw, "limit", &r->pids.has_limit, &r->pids.limit) < 0) ||
      parse_blkio(mascri_json_get(v, "blockIO"), bw, r, err) < 0 ||
      parse_device_rules(mascri_json_get(v, "devices"), dw, r, err) < 0 ||
      parse_hugepages(mascri_json_get(v, "hugepageLimits"), hw, r, err) < 0 ||
      spec_check_object(net, nw, err) < 0 ||
      (net && GET_OPT(spec_get_u64, net, nw, "classID", &r->network.has_class_id, &classid) < 0) ||
      spec_get_string_map(v, where, "unified", &r->unified_keys, &r->unified_values, err) < 0)
    return -EINVAL;
  r->network.class_id = (uint32_t)classid;
  return 0;
}

int mascri_spec_resources_parse(const char *json, size_t len, mascri_spec_resources_t **out,
                                mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(json, len, "resources", &root, err) < 0)
    return -EINVAL;
  mascri_spec_resources_t *r = xmalloc0(sizeof(*r));
  if (spec_parse_resources(root, "resources", r, err) < 0) {
    mascri_spec_resources_free(r);
    return -EINVAL;
  }
  *out = r;
  return 0;
}
