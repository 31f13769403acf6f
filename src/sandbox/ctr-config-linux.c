/* The Linux half of the container config (ctr-config.h): resources and security context,
 * clear, copy and their JSON form. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-config.h"

/* ---- resources --------------------------------------------------------------------- */

void mascri_ctr_resources_clear(struct mascri_ctr_resources *r)
{
  free(r->cpuset_cpus);
  free(r->cpuset_mems);
  for (size_t i = 0; i < r->n_hugepage_limits; i++)
    free(r->hugepage_limits[i].page_size);
  free(r->hugepage_limits);
  mascri_kv_list_clear(&r->unified);
  memset(r, 0, sizeof(*r));
}

void mascri_ctr_resources_copy(struct mascri_ctr_resources *dst,
                               const struct mascri_ctr_resources *src)
{
  *dst = *src;
  dst->cpuset_cpus = mascri_config_str_copy(src->cpuset_cpus);
  dst->cpuset_mems = mascri_config_str_copy(src->cpuset_mems);
  dst->hugepage_limits = NULL;
  if (src->n_hugepage_limits) {
    dst->hugepage_limits = xcalloc(src->n_hugepage_limits, sizeof(*dst->hugepage_limits));
    for (size_t i = 0; i < src->n_hugepage_limits; i++) {
      dst->hugepage_limits[i].page_size = mascri_config_str_copy(src->hugepage_limits[i].page_size);
      dst->hugepage_limits[i].limit = src->hugepage_limits[i].limit;
    }
  }
  memset(&dst->unified, 0, sizeof(dst->unified));
  mascri_kv_list_copy(&dst->unified, &src->unified);
}

static void gen_hugepages(yajl_gen g, const struct mascri_ctr_resources *r)
{
  if (!r->n_hugepage_limits)
    return;
  mascri_json_gen_key(g, "hugepageLimits");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < r->n_hugepage_limits; i++) {
    yajl_gen_map_open(g);
    mascri_config_gen_string(g, "pageSize", r->hugepage_limits[i].page_size);
    mascri_json_gen_kv_uint(g, "limit", r->hugepage_limits[i].limit);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
}

void mascri_ctr_resources_gen(yajl_gen g, const char *key, const struct mascri_ctr_resources *r)
{
  if (!r->set)
    return;
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_int(g, "cpuPeriod", r->cpu_period);
  mascri_json_gen_kv_int(g, "cpuQuota", r->cpu_quota);
  mascri_json_gen_kv_int(g, "cpuShares", r->cpu_shares);
  mascri_json_gen_kv_int(g, "memoryLimitInBytes", r->memory_limit_in_bytes);
  mascri_json_gen_kv_int(g, "memorySwapLimitInBytes", r->memory_swap_limit_in_bytes);
  mascri_json_gen_kv_int(g, "oomScoreAdj", r->oom_score_adj);
  mascri_config_gen_string(g, "cpusetCpus", r->cpuset_cpus);
  mascri_config_gen_string(g, "cpusetMems", r->cpuset_mems);
  gen_hugepages(g, r);
  mascri_kv_list_gen(g, "unified", &r->unified);
  yajl_gen_map_close(g);
}

static int parse_hugepages(yajl_val obj, struct mascri_ctr_resources *r, mascri_error_t *err)
{
  yajl_val arr;
  if (mascri_config_get_array(obj, "hugepageLimits", &arr, err) < 0)
    return -1;
  size_t n = mascri_json_array_len(arr);
  if (!n)
    return 0;
  r->hugepage_limits = xcalloc(n, sizeof(*r->hugepage_limits));
  for (size_t i = 0; i < n; i++, r->n_hugepage_limits++) {
    yajl_val e = mascri_json_array_at(arr, i);
    struct mascri_hugepage_limit *h = &r->hugepage_limits[i];
    int64_t limit = 0;
    if (!YAJL_IS_OBJECT(e))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "hugepageLimits[%zu]: expected an object, got %s", i,
                                    mascri_json_type_name(e));
    if (mascri_config_get_string(e, "pageSize", &h->page_size, err) < 0 ||
        mascri_config_get_range(e, "limit", 0, INT64_MAX, &limit, err) < 0)
      return mascri_error_wrap(err, "hugepageLimits[%zu]", i);
    h->limit = (uint64_t)limit;
  }
  return 0;
}

static int parse_resources(yajl_val v, struct mascri_ctr_resources *r, mascri_error_t *err)
{
  const struct {
    const char *key;
    int64_t *out;
  } nums[] = {
      {"cpuPeriod", &r->cpu_period},
      {"cpuQuota", &r->cpu_quota},
      {"cpuShares", &r->cpu_shares},
      {"memoryLimitInBytes", &r->memory_limit_in_bytes},
      {"memorySwapLimitInBytes", &r->memory_swap_limit_in_bytes},
      {"oomScoreAdj", &r->oom_score_adj},
  };
  for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
    if (mascri_config_get_int64(v, nums[i].key, nums[i].out, err) < 0)
      return -1;
  if (mascri_config_get_string(v, "cpusetCpus", &r->cpuset_cpus, err) < 0 ||
      mascri_config_get_string(v, "cpusetMems", &r->cpuset_mems, err) < 0 ||
      parse_hugepages(v, r, err) < 0 || mascri_kv_list_parse(v, "unified", &r->unified, err) < 0)
    return -1;
  return 0;
}

int mascri_ctr_resources_parse(yajl_val obj, const char *key, struct mascri_ctr_resources *r,
                               mascri_error_t *err)
{
  mascri_ctr_resources_clear(r);
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  r->set = true;
  if (parse_resources(v, r, err) < 0) {
    mascri_ctr_resources_clear(r);
    return mascri_error_wrap(err, "%s", key);
  }
  return 0;
}

/* ---- security context -------------------------------------------------------------- */

void mascri_ctr_security_clear(struct mascri_ctr_security *s)
{
  mascri_strv_free(s->add_caps);
  mascri_strv_free(s->drop_caps);
  mascri_strv_free(s->add_ambient_caps);
  mascri_ns_options_clear(&s->namespace_options);
  free(s->run_as_username);
  free(s->supplemental_groups);
  mascri_strv_free(s->masked_paths);
  mascri_strv_free(s->readonly_paths);
  mascri_security_profile_clear(&s->seccomp);
  mascri_security_profile_clear(&s->apparmor);
  free(s->seccomp_profile_path);
  memset(s, 0, sizeof(*s));
}

void mascri_ctr_security_copy(struct mascri_ctr_security *dst,
                              const struct mascri_ctr_security *src)
{
  *dst = *src;
  dst->add_caps = mascri_config_strv_copy(src->add_caps);
  dst->drop_caps = mascri_config_strv_copy(src->drop_caps);
  dst->add_ambient_caps = mascri_config_strv_copy(src->add_ambient_caps);
  dst->namespace_options.target_id = mascri_config_str_copy(src->namespace_options.target_id);
  dst->run_as_username = mascri_config_str_copy(src->run_as_username);
  dst->supplemental_groups = NULL;
  if (src->n_supplemental_groups) {
    size_t size = src->n_supplemental_groups * sizeof(*src->supplemental_groups);
    dst->supplemental_groups = xmalloc(size);
    memcpy(dst->supplemental_groups, src->supplemental_groups, size);
  }
  dst->masked_paths = mascri_config_strv_copy(src->masked_paths);
  dst->readonly_paths = mascri_config_strv_copy(src->readonly_paths);
  mascri_security_profile_copy(&dst->seccomp, &src->seccomp);
  mascri_security_profile_copy(&dst->apparmor, &src->apparmor);
  dst->seccomp_profile_path = mascri_config_str_copy(src->seccomp_profile_path);
}

static void gen_ids(yajl_gen g, const struct mascri_ctr_security *s)
{
  if (s->has_run_as_user)
    mascri_json_gen_kv_int(g, "runAsUser", s->run_as_user);
  if (s->has_run_as_group)
    mascri_json_gen_kv_int(g, "runAsGroup", s->run_as_group);
  mascri_config_gen_string(g, "runAsUsername", s->run_as_username);
  mascri_config_gen_int64s(g, "supplementalGroups", s->supplemental_groups,
                           s->n_supplemental_groups);
}

void mascri_ctr_security_gen(yajl_gen g, const char *key, const struct mascri_ctr_security *s)
{
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  mascri_config_gen_strv(g, "addCapabilities", s->add_caps);
  mascri_config_gen_strv(g, "dropCapabilities", s->drop_caps);
  mascri_config_gen_strv(g, "addAmbientCapabilities", s->add_ambient_caps);
  mascri_json_gen_kv_bool(g, "privileged", s->privileged);
  mascri_json_gen_kv_bool(g, "readonlyRootfs", s->readonly_rootfs);
  mascri_json_gen_kv_bool(g, "noNewPrivs", s->no_new_privs);
  if (s->has_namespace_options)
    mascri_ns_options_gen(g, "namespaceOptions", &s->namespace_options);
  gen_ids(g, s);
  mascri_config_gen_strv(g, "maskedPaths", s->masked_paths);
  mascri_config_gen_strv(g, "readonlyPaths", s->readonly_paths);
  mascri_security_profile_gen(g, "seccomp", &s->seccomp);
  mascri_security_profile_gen(g, "apparmor", &s->apparmor);
  mascri_config_gen_string(g, "seccompProfilePath", s->seccomp_profile_path);
  yajl_gen_map_close(g);
}

static int parse_security(yajl_val v, struct mascri_ctr_security *s, mascri_error_t *err)
{
  s->has_namespace_options = mascri_json_get(v, "namespaceOptions") != NULL;
  if (mascri_config_get_strv(v, "addCapabilities", &s->add_caps, err) < 0 ||
      mascri_config_get_strv(v, "dropCapabilities", &s->drop_caps, err) < 0 ||
      mascri_config_get_strv(v, "addAmbientCapabilities", &s->add_ambient_caps, err) < 0 ||
      mascri_config_get_bool(v, "privileged", &s->privileged, err) < 0 ||
      mascri_config_get_bool(v, "readonlyRootfs", &s->readonly_rootfs, err) < 0 ||
      mascri_config_get_bool(v, "noNewPrivs", &s->no_new_privs, err) < 0 ||
      mascri_ns_options_parse(v, "namespaceOptions", &s->namespace_options, err) < 0 ||
      mascri_config_get_optional_int64(v, "runAsUser", &s->has_run_as_user, &s->run_as_user, err) <
          0 ||
      mascri_config_get_optional_int64(v, "runAsGroup", &s->has_run_as_group, &s->run_as_group,
                                       err) < 0 ||
      mascri_config_get_string(v, "runAsUsername", &s->run_as_username, err) < 0 ||
      mascri_config_get_int64s(v, "supplementalGroups", &s->supplemental_groups,
                               &s->n_supplemental_groups, err) < 0 ||
      mascri_config_get_strv(v, "maskedPaths", &s->masked_paths, err) < 0 ||
      mascri_config_get_strv(v, "readonlyPaths", &s->readonly_paths, err) < 0 ||
      mascri_security_profile_parse(v, "seccomp", &s->seccomp, err) < 0 ||
      mascri_security_profile_parse(v, "apparmor", &s->apparmor, err) < 0 ||
      mascri_config_get_string(v, "seccompProfilePath", &s->seccomp_profile_path, err) < 0)
    return -1;
  return 0;
}

int mascri_ctr_security_parse(yajl_val obj, const char *key, struct mascri_ctr_security *s,
                              mascri_error_t *err)
{
  mascri_ctr_security_clear(s);
  s->namespace_options.userns = MASCRI_NS_MODE_NODE;
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  if (parse_security(v, s, err) < 0) {
    mascri_ctr_security_clear(s);
    return mascri_error_wrap(err, "%s", key);
  }
  return 0;
}
