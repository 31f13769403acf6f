#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "sandbox/pods-internal.h"

#define POD_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct pod *sample(void)
{
  struct pod *p = mascri_pod_alloc();
  p->full_name = xstrdup("k8s_POD_web_default_u_1");
  p->own_cgroup_parent = true;
  struct mascri_pod_info *in = &p->info;
  in->id = xstrdup(POD_ID);
  in->name = xstrdup("web");
  in->namespace_ = xstrdup("default");
  in->uid = xstrdup("u");
  in->attempt = 1;
  in->ready = true;
  in->pause_pid = 4242;
  in->pause_start_time = 123456789;
  in->created_at = 1700000000123456789LL;
  in->ns_dir = "/run/mascri/ns";
  in->files_dir = "/var/lib/mascri/pods";
  in->paths = 1u << MASCRI_POD_NETNS | 1u << MASCRI_POD_SHM;
  in->hostname = xstrdup("web-host");
  in->ipv4 = xstrdup("10.89.0.7");
  in->runtime_handler = xstrdup("");
  struct mascri_pod_config *c = xmalloc0(sizeof(*c));
  c->hostname = xstrdup("web-host");
  c->security.privileged = true;
  c->security.namespace_options.pid = MASCRI_NS_MODE_POD;
  c->security.namespace_options.userns = MASCRI_NS_MODE_NODE;
  mascri_kv_list_add(&c->labels, "app", "web");
  in->config = c;
  return p;
}

static void roundtrip(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct pod *p = sample();
  size_t len = 0;
  _cleanup_free_ char *json = mascri_pod_record_json(p, &len);
  assert_non_null(strstr(json, "\"version\": 2"));
  struct pod *q = NULL;
  bool old = true;
  assert_int_equal(mascri_pod_record_parse(json, len, NULL, &q, &old, &err), 0);
  assert_false(old);
  assert_string_equal(q->info.id, p->info.id);
  assert_string_equal(q->full_name, p->full_name);
  assert_string_equal(q->info.namespace_, "default");
  assert_string_equal(q->info.ipv4, "10.89.0.7");
  assert_non_null(strstr(json, "\"/run/mascri/ns/" POD_ID "/net\""));
  assert_non_null(strstr(json, "\"/var/lib/mascri/pods/" POD_ID "/shm\""));
  assert_int_equal(q->info.paths, p->info.paths);
  assert_true(mascri_pod_has(&q->info, MASCRI_POD_NETNS));
  assert_false(mascri_pod_has(&q->info, MASCRI_POD_IPCNS));
  assert_null(mascri_pod_path(&q->info, MASCRI_POD_NETNS)); /* no directories yet */
  q->info.ns_dir = "/run/mascri/ns";
  _cleanup_free_ char *netns = mascri_pod_path(&q->info, MASCRI_POD_NETNS);
  assert_string_equal(netns, "/run/mascri/ns/" POD_ID "/net");
  assert_null(mascri_pod_path(&q->info, MASCRI_POD_IPCNS));
  assert_int_equal(q->info.attempt, 1);
  assert_true(q->info.ready);
  assert_true(q->own_cgroup_parent);
  assert_int_equal(q->info.pause_pid, 4242);
  assert_int_equal(q->info.pause_start_time, 123456789);
  assert_int_equal(q->info.created_at, 1700000000123456789LL);
  assert_non_null(q->info.config);
  assert_string_equal(q->info.config->hostname, "web-host");
  assert_true(mascri_pod_config_equal(q->info.config, p->info.config));
  assert_true(mascri_pod_info_privileged(&q->info));
  assert_int_equal(mascri_pod_info_pid_mode(&q->info), MASCRI_NS_MODE_POD);
  struct mascri_pod_info copy;
  mascri_pod_info_copy(&copy, &q->info);
  assert_string_equal(copy.hostname, "web-host");
  assert_ptr_not_equal(copy.hostname, q->info.hostname);
  assert_ptr_not_equal(copy.config, q->info.config);
  assert_string_equal(copy.config->hostname, "web-host");
  assert_string_equal(mascri_kv_list_get(&copy.config->labels, "app"), "web");
  mascri_pod_info_clear(&copy);
  mascri_pod_free(q);
  mascri_pod_free(p);
}

/* A stand-in for cri's converter: the "packed config" is the hostname's bytes. */
static int fake_legacy(const uint8_t *buf, size_t len, struct mascri_pod_config *out,
                       mascri_error_t *err)
{
  if (len == 0)
    return mascri_make_error(err, 0, "empty");
  out->hostname = xstrndup((const char *)buf, len);
  out->security.namespace_options.pid = MASCRI_NS_MODE_CONTAINER;
  return 0;
}

static void reads_version_1(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  /* "old-host" in hex, as version 1 wrote the packed config */
  const char *v1 = "{\"version\":1,\"id\":\"a\",\"fullName\":\"x\","
                   "\"config\":\"6f6c642d686f7374\"}";
  struct pod *q = NULL;
  bool old = false;
  assert_int_equal(mascri_pod_record_parse(v1, strlen(v1), fake_legacy, &q, &old, &err), 0);
  assert_true(old);
  assert_string_equal(q->info.config->hostname, "old-host");
  /* written again, it is a version 2 record read without the converter */
  size_t len = 0;
  _cleanup_free_ char *json = mascri_pod_record_json(q, &len);
  struct pod *r = NULL;
  assert_int_equal(mascri_pod_record_parse(json, len, NULL, &r, &old, &err), 0);
  assert_false(old);
  assert_string_equal(r->info.config->hostname, "old-host");
  assert_int_equal(mascri_pod_info_pid_mode(&r->info), MASCRI_NS_MODE_CONTAINER);
  mascri_pod_free(r);
  mascri_pod_free(q);
  /* no converter, or one that fails: an error */
  assert_true(mascri_pod_record_parse(v1, strlen(v1), NULL, &q, &old, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "config"));
  const char *empty = "{\"id\":\"a\",\"fullName\":\"x\",\"config\":\"\"}";
  assert_true(mascri_pod_record_parse(empty, strlen(empty), fake_legacy, &q, &old, &err) < 0);
}

static void rejects_bad_records(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct pod *q = NULL;
  bool old = false;
  const char *no_id = "{\"fullName\":\"x\"}";
  assert_true(mascri_pod_record_parse(no_id, strlen(no_id), fake_legacy, &q, &old, &err) < 0);
  const char *bad_hex = "{\"id\":\"a\",\"fullName\":\"x\",\"config\":\"zz\"}";
  assert_true(mascri_pod_record_parse(bad_hex, strlen(bad_hex), fake_legacy, &q, &old, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "malformed config"));
  const char *bad_cfg = "{\"id\":\"a\",\"fullName\":\"x\",\"config\":7}";
  assert_true(mascri_pod_record_parse(bad_cfg, strlen(bad_cfg), fake_legacy, &q, &old, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "config"));
  const char *bad_field = "{\"id\":\"a\",\"fullName\":\"x\",\"config\":{\"labels\":{\"a\":1}}}";
  assert_true(mascri_pod_record_parse(bad_field, strlen(bad_field), fake_legacy, &q, &old, &err) <
              0);
  assert_non_null(strstr(mascri_error_message(&err), "labels.a"));
  const char *bad_type = "{\"id\":\"a\",\"fullName\":\"x\",\"pausePid\":\"1\"}";
  assert_true(mascri_pod_record_parse(bad_type, strlen(bad_type), fake_legacy, &q, &old, &err) < 0);
  assert_true(mascri_pod_record_parse("{", 1, fake_legacy, &q, &old, &err) < 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(roundtrip),
      cmocka_unit_test(reads_version_1),
      cmocka_unit_test(rejects_bad_records),
  };
  return cmocka_run_group_tests_name("sandbox-pod-record", tests, NULL, NULL);
}
