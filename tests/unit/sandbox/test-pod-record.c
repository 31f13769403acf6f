#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "sandbox/pods-internal.h"

static struct pod *sample(void)
{
  struct pod *p = mascri_pod_alloc();
  p->full_name = xstrdup("k8s_POD_web_default_u_1");
  p->own_cgroup_parent = true;
  struct mascri_pod_info *in = &p->info;
  in->id = xstrdup("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  in->name = xstrdup("web");
  in->namespace_ = xstrdup("default");
  in->uid = xstrdup("u");
  in->attempt = 1;
  in->ready = true;
  in->pause_pid = 4242;
  in->pause_start_time = 123456789;
  in->created_at = 1700000000123456789LL;
  in->netns_path = xstrdup("/run/mascri/ns/x/net");
  in->hostname = xstrdup("web-host");
  in->ipv4 = xstrdup("10.89.0.7");
  in->runtime_handler = xstrdup("");
  Runtime__V1__PodSandboxConfig *c = xmalloc(sizeof(*c));
  runtime__v1__pod_sandbox_config__init(c);
  c->hostname = xstrdup("web-host");
  in->config = c;
  return p;
}

static void free_sample(struct pod *p)
{
  /* The sample's config is not an unpacked message: free it by hand. */
  free(p->info.config->hostname);
  free(p->info.config);
  p->info.config = NULL;
  mascri_pod_free(p);
}

static void roundtrip(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct pod *p = sample();
  size_t len = 0;
  _cleanup_free_ char *json = mascri_pod_record_json(p, &len);
  struct pod *q = NULL;
  assert_int_equal(mascri_pod_record_parse(json, len, &q, &err), 0);
  assert_string_equal(q->info.id, p->info.id);
  assert_string_equal(q->full_name, p->full_name);
  assert_string_equal(q->info.namespace_, "default");
  assert_string_equal(q->info.ipv4, "10.89.0.7");
  assert_string_equal(q->info.netns_path, "/run/mascri/ns/x/net");
  assert_null(q->info.ipcns_path);
  assert_int_equal(q->info.attempt, 1);
  assert_true(q->info.ready);
  assert_true(q->own_cgroup_parent);
  assert_int_equal(q->info.pause_pid, 4242);
  assert_int_equal(q->info.pause_start_time, 123456789);
  assert_int_equal(q->info.created_at, 1700000000123456789LL);
  assert_non_null(q->info.config);
  assert_string_equal(q->info.config->hostname, "web-host");
  struct mascri_pod_info copy;
  mascri_pod_info_copy(&copy, &q->info);
  assert_string_equal(copy.hostname, "web-host");
  assert_ptr_not_equal(copy.hostname, q->info.hostname);
  assert_string_equal(copy.config->hostname, "web-host");
  mascri_pod_info_clear(&copy);
  mascri_pod_free(q);
  free_sample(p);
}

static void rejects_bad_records(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct pod *q = NULL;
  const char *no_id = "{\"fullName\":\"x\"}";
  assert_true(mascri_pod_record_parse(no_id, strlen(no_id), &q, &err) < 0);
  const char *bad_cfg = "{\"id\":\"a\",\"fullName\":\"x\",\"config\":\"zz\"}";
  assert_true(mascri_pod_record_parse(bad_cfg, strlen(bad_cfg), &q, &err) < 0);
  const char *bad_type = "{\"id\":\"a\",\"fullName\":\"x\",\"pausePid\":\"1\"}";
  assert_true(mascri_pod_record_parse(bad_type, strlen(bad_type), &q, &err) < 0);
  assert_true(mascri_pod_record_parse("{", 1, &q, &err) < 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(roundtrip),
      cmocka_unit_test(rejects_bad_records),
  };
  return cmocka_run_group_tests_name("sandbox-pod-record", tests, NULL, NULL);
}
