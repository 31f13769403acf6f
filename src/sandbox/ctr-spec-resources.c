/* "linux.resources" of a CRI container from LinuxContainerResources. Zero means "not set"
 * in the CRI, so only positive values are written. */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "sandbox/ctr-spec-internal.h"

static int check_non_negative(const struct mascri_ctr_resources *r, mascri_error_t *err)
{
  const struct {
    const char *name;
    int64_t v;
  } f[] = {
      {"cpu_period", r->cpu_period},
      {"cpu_shares", r->cpu_shares},
      {"memory_limit_in_bytes", r->memory_limit_in_bytes},
  };
  for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
    if (f[i].v < 0)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.resources.%s: %" PRId64 " is negative", f[i].name,
                                    f[i].v);
  if (r->oom_score_adj < -1000 || r->oom_score_adj > 1000)
    return mascri_make_error_kind(
        err, MASCRI_ERR_INVALID_ARGUMENT, 0,
        "linux.resources.oom_score_adj: %" PRId64 " is outside -1000..1000", r->oom_score_adj);
  return 0;
}

/* Whether the host's memory controller accounts swap (memsw on v1, swap.max on v2); kubelet
 * sets the swap limit on every container, which must not fail where it cannot apply. */
static bool swap_controller(void)
{
  mascri_cgroup_layout_t l = {0};
  _cleanup_error_ mascri_error_t e = NULL;
  if (mascri_cgroup_layout_probe(&l, &e) < 0)
    return false;
  bool ok = false;
  const char *v1 = mascri_cgroup_v1_mount(&l, "memory");
  if (v1) {
    _cleanup_free_ char *p = xasprintf("%s/memory.memsw.limit_in_bytes", v1);
    ok = access(p, F_OK) == 0;
  } else if (l.mode == MASCRI_CGROUP_V2) {
    ok = mascri_cgroup_v2_has(&l, "memory") && access("/proc/swaps", F_OK) == 0;
  }
  mascri_cgroup_layout_clear(&l);
  return ok;
}

static void gen_memory(yajl_gen g, const struct mascri_ctr_resources *r)
{
  if (r->memory_limit_in_bytes <= 0 && r->memory_swap_limit_in_bytes == 0)
    return;
  mascri_json_gen_key(g, "memory");
  yajl_gen_map_open(g);
  if (r->memory_limit_in_bytes > 0)
    mascri_json_gen_kv_int(g, "limit", r->memory_limit_in_bytes);
  if (r->memory_swap_limit_in_bytes != 0 && swap_controller())
    mascri_json_gen_kv_int(g, "swap", r->memory_swap_limit_in_bytes);
  yajl_gen_map_close(g);
}

static void gen_cpu(yajl_gen g, const struct mascri_ctr_resources *r)
{
  bool cpus = r->cpuset_cpus && *r->cpuset_cpus, mems = r->cpuset_mems && *r->cpuset_mems;
  if (r->cpu_shares <= 0 && r->cpu_quota == 0 && r->cpu_period <= 0 && !cpus && !mems)
    return;
  mascri_json_gen_key(g, "cpu");
  yajl_gen_map_open(g);
  if (r->cpu_shares > 0)
    mascri_json_gen_kv_uint(g, "shares", (unsigned long long)r->cpu_shares);
  if (r->cpu_quota != 0)
    mascri_json_gen_kv_int(g, "quota", r->cpu_quota);
  if (r->cpu_period > 0)
    mascri_json_gen_kv_uint(g, "period", (unsigned long long)r->cpu_period);
  if (cpus)
    mascri_json_gen_kv_string(g, "cpus", r->cpuset_cpus);
  if (mems)
    mascri_json_gen_kv_string(g, "mems", r->cpuset_mems);
  yajl_gen_map_close(g);
}

static int gen_hugepages(yajl_gen g, const struct mascri_ctr_resources *r, mascri_error_t *err)
{
  if (!r->n_hugepage_limits)
    return 0;
  mascri_json_gen_key(g, "hugepageLimits");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < r->n_hugepage_limits; i++) {
    const struct mascri_hugepage_limit *h = &r->hugepage_limits[i];
    if (!h->page_size || !*h->page_size)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.resources.hugepage_limits[%zu].page_size is empty", i);
    yajl_gen_map_open(g);
    mascri_json_gen_kv_string(g, "pageSize", h->page_size);
    mascri_json_gen_kv_uint(g, "limit", h->limit);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
  return 0;
}

static void gen_unified(yajl_gen g, const struct mascri_ctr_resources *r)
{
  if (r->unified.n)
    mascri_kv_list_gen(g, "unified", &r->unified);
}

int ctr_spec_gen_resources(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  const struct mascri_ctr_resources *r = c->res;
  if (r && check_non_negative(r, err) < 0)
    return -1;
  mascri_json_gen_key(g, "resources");
  yajl_gen_map_open(g);
  if (ctr_spec_gen_device_rules(g, c, err) < 0)
    return -1;
  if (r) {
    gen_memory(g, r);
    gen_cpu(g, r);
    if (gen_hugepages(g, r, err) < 0)
      return -1;
    gen_unified(g, r);
  }
  yajl_gen_map_close(g);
  return 0;
}
