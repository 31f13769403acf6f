/* The plain pod config: its JSON form (every field through gen then parse), deep copy,
 * comparison, and the errors of a record of the wrong shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/pod-config.h"

static char **strv(const char *a, const char *b)
{
  char **v = xcalloc(3, sizeof(char *));
  v[0] = xstrdup(a);
  v[1] = b ? xstrdup(b) : NULL;
  return v;
}

/* Every field set, none to its default. */
static struct mascri_pod_config *full(void)
{
  struct mascri_pod_config *c = xmalloc0(sizeof(*c));
  c->metadata = (struct mascri_metadata){xstrdup("web"), xstrdup("uid-1"), xstrdup("prod"), 3};
  c->hostname = xstrdup("web-0");
  c->log_directory = xstrdup("/var/log/pods/web");
  c->dns.servers = strv("10.0.0.10", "10.0.0.11");
  c->dns.searches = strv("prod.svc.cluster.local", "cluster.local");
  c->dns.options = strv("ndots:5", NULL);
  c->port_mappings = xcalloc(3, sizeof(*c->port_mappings));
  c->port_mappings[0] = (struct mascri_pod_port_mapping){MASCRI_PROTO_UDP, 53, 5353, NULL};
  c->port_mappings[0].host_ip = xstrdup("127.0.0.1");
  c->port_mappings[1] = (struct mascri_pod_port_mapping){MASCRI_PROTO_SCTP, 80, -1, NULL};
  c->n_port_mappings = 2;
  mascri_kv_list_add(&c->labels, "app", "web");
  mascri_kv_list_add(&c->labels, "tier", "front");
  mascri_kv_list_add(&c->annotations, "note", "a \"quoted\" value");
  c->cgroup_parent = xstrdup("/kubepods/burstable/pod1");
  mascri_kv_list_add(&c->sysctls, "net.ipv4.ip_forward", "1");
  struct mascri_pod_security *s = &c->security;
  s->namespace_options = (struct mascri_ns_options){MASCRI_NS_MODE_NODE, MASCRI_NS_MODE_TARGET,
                                                    MASCRI_NS_MODE_CONTAINER, MASCRI_NS_MODE_POD,
                                                    xstrdup("target-ctr")};
  s->privileged = true;
  s->readonly_rootfs = true;
  s->has_run_as_user = true;
  s->run_as_user = 1000;
  s->has_run_as_group = true;
  s->run_as_group = -5;
  s->supplemental_groups = xcalloc(2, sizeof(int64_t));
  s->supplemental_groups[0] = 2000;
  s->supplemental_groups[1] = 4294967296LL;
  s->n_supplemental_groups = 2;
  s->seccomp = (struct mascri_security_profile){true, MASCRI_PROFILE_LOCALHOST, NULL};
  s->seccomp.localhost_ref = xstrdup("profiles/web.json");
  s->apparmor = (struct mascri_security_profile){true, MASCRI_PROFILE_UNCONFINED, NULL};
  return c;
}

static char *gen(const struct mascri_pod_config *c)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_pod_config_gen(g, "config", c);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

/* parse() of a whole document {"config": ...}. */
static int parse(const char *json, struct mascri_pod_config *c, mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(json, strlen(json), "test", &root, err) < 0)
    return -1;
  return mascri_pod_config_parse(root, "config", c, err);
}

static void check_full(const struct mascri_pod_config *c)
{
  assert_string_equal(c->metadata.name, "web");
  assert_string_equal(c->metadata.uid, "uid-1");
  assert_string_equal(c->metadata.namespace_, "prod");
  assert_int_equal(c->metadata.attempt, 3);
  assert_string_equal(c->hostname, "web-0");
  assert_string_equal(c->log_directory, "/var/log/pods/web");
  assert_int_equal(mascri_strv_length(c->dns.servers), 2);
  assert_string_equal(c->dns.servers[1], "10.0.0.11");
  assert_string_equal(c->dns.searches[0], "prod.svc.cluster.local");
  assert_int_equal(mascri_strv_length(c->dns.options), 1);
  assert_int_equal(c->n_port_mappings, 2);
  assert_int_equal(c->port_mappings[0].protocol, MASCRI_PROTO_UDP);
  assert_int_equal(c->port_mappings[0].container_port, 53);
  assert_int_equal(c->port_mappings[0].host_port, 5353);
  assert_string_equal(c->port_mappings[0].host_ip, "127.0.0.1");
  assert_int_equal(c->port_mappings[1].protocol, MASCRI_PROTO_SCTP);
  assert_int_equal(c->port_mappings[1].host_port, -1);
  assert_null(c->port_mappings[1].host_ip);
  assert_int_equal(c->labels.n, 2);
  assert_string_equal(c->labels.v[1].key, "tier");
  assert_string_equal(mascri_kv_list_get(&c->annotations, "note"), "a \"quoted\" value");
  assert_string_equal(c->cgroup_parent, "/kubepods/burstable/pod1");
  assert_string_equal(mascri_kv_list_get(&c->sysctls, "net.ipv4.ip_forward"), "1");
  const struct mascri_pod_security *s = &c->security;
  assert_int_equal(s->namespace_options.network, MASCRI_NS_MODE_NODE);
  assert_int_equal(s->namespace_options.pid, MASCRI_NS_MODE_TARGET);
  assert_int_equal(s->namespace_options.ipc, MASCRI_NS_MODE_CONTAINER);
  assert_int_equal(s->namespace_options.userns, MASCRI_NS_MODE_POD);
  assert_string_equal(s->namespace_options.target_id, "target-ctr");
  assert_true(s->privileged);
  assert_true(s->readonly_rootfs);
  assert_true(s->has_run_as_user);
  assert_int_equal(s->run_as_user, 1000);
  assert_true(s->has_run_as_group);
  assert_int_equal(s->run_as_group, -5);
  assert_int_equal(s->n_supplemental_groups, 2);
  assert_int_equal(s->supplemental_groups[1], 4294967296LL);
  assert_true(s->seccomp.set);
  assert_int_equal(s->seccomp.type, MASCRI_PROFILE_LOCALHOST);
  assert_string_equal(s->seccomp.localhost_ref, "profiles/web.json");
  assert_true(s->apparmor.set);
  assert_int_equal(s->apparmor.type, MASCRI_PROFILE_UNCONFINED);
}

static void roundtrip_every_field(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_pod_config_ struct mascri_pod_config *c = full();
  _cleanup_free_ char *json = gen(c);
  _cleanup_pod_config_ struct mascri_pod_config *back = xmalloc0(sizeof(*back));
  assert_int_equal(parse(json, back, &err), 0);
  check_full(back);
  assert_true(mascri_pod_config_equal(c, back));
  _cleanup_free_ char *again = gen(back);
  assert_string_equal(json, again);
}

static void copy_is_deep_and_equal(void **state)
{
  (void)state;
  _cleanup_pod_config_ struct mascri_pod_config *c = full();
  _cleanup_pod_config_ struct mascri_pod_config *d = mascri_pod_config_copy(c);
  check_full(d);
  assert_true(mascri_pod_config_equal(c, d));
  assert_ptr_not_equal(d->hostname, c->hostname);
  assert_ptr_not_equal(d->port_mappings[0].host_ip, c->port_mappings[0].host_ip);
  assert_ptr_not_equal(d->security.supplemental_groups, c->security.supplemental_groups);
  /* one field apart: no longer equal */
  d->security.run_as_user = 1001;
  assert_false(mascri_pod_config_equal(c, d));
  d->security.run_as_user = 1000;
  d->security.has_run_as_group = false;
  assert_false(mascri_pod_config_equal(c, d));
  d->security.has_run_as_group = true;
  free(d->labels.v[0].value);
  d->labels.v[0].value = xstrdup("api");
  assert_false(mascri_pod_config_equal(c, d));
}

static void empty_and_absent(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct mascri_pod_config c = {0};
  /* absent: a request that sets nothing (no PID namespace of its own, host user ids) */
  assert_int_equal(parse("{}", &c, &err), 0);
  assert_null(c.hostname);
  assert_int_equal(c.n_port_mappings, 0);
  assert_int_equal(c.security.namespace_options.pid, MASCRI_NS_MODE_CONTAINER);
  assert_int_equal(c.security.namespace_options.userns, MASCRI_NS_MODE_NODE);
  assert_int_equal(parse("{\"config\":{\"securityContext\":{}}}", &c, &err), 0);
  assert_int_equal(c.security.namespace_options.pid, MASCRI_NS_MODE_CONTAINER);
  assert_false(c.security.has_run_as_user);
  assert_false(c.security.seccomp.set);
  /* empty lists are kept as none */
  assert_int_equal(parse("{\"config\":{\"dns\":{\"servers\":[]}}}", &c, &err), 0);
  assert_null(c.dns.servers);
  mascri_pod_config_clear(&c);
}

/* The document fails to parse with an error whose message holds every one of want. */
static void rejects(const char *json, const char *want1, const char *want2)
{
  _cleanup_error_ mascri_error_t err = NULL;
  struct mascri_pod_config c = {0};
  assert_true(parse(json, &c, &err) < 0);
  const char *msg = mascri_error_message(&err);
  if (!strstr(msg, want1) || (want2 && !strstr(msg, want2)))
    fail_msg("\"%s\": message \"%s\" does not name %s %s", json, msg, want1, want2 ? want2 : "");
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  /* nothing half-read is left behind */
  assert_null(c.hostname);
  assert_null(c.port_mappings);
  mascri_pod_config_clear(&c);
}

static void wrong_shapes_name_the_field(void **state)
{
  (void)state;
  rejects("{\"config\":[]}", "config", NULL);
  rejects("{\"config\":{\"hostname\":\"h\",\"logDirectory\":5}}", "logDirectory", NULL);
  rejects("{\"config\":{\"metadata\":{\"attempt\":\"1\"}}}", "metadata", "attempt");
  rejects("{\"config\":{\"metadata\":{\"attempt\":-1}}}", "attempt", NULL);
  rejects("{\"config\":{\"dns\":[]}}", "dns", NULL);
  rejects("{\"config\":{\"dns\":{\"searches\":[\"a\",1]}}}", "dns", "searches[1]");
  rejects("{\"config\":{\"portMappings\":{}}}", "portMappings", NULL);
  rejects("{\"config\":{\"portMappings\":[7]}}", "portMappings[0]", NULL);
  rejects("{\"config\":{\"portMappings\":[{},{\"hostPort\":\"80\"}]}}", "portMappings[1]",
          "hostPort");
  rejects("{\"config\":{\"portMappings\":[{\"containerPort\":4294967296}]}}", "containerPort",
          NULL);
  rejects("{\"config\":{\"labels\":{\"a\":\"b\",\"c\":true}}}", "labels.c", NULL);
  rejects("{\"config\":{\"annotations\":[]}}", "annotations", NULL);
  rejects("{\"config\":{\"cgroupParent\":{}}}", "cgroupParent", NULL);
  rejects("{\"config\":{\"sysctls\":{\"x\":null}}}", "sysctls.x", NULL);
  rejects("{\"config\":{\"securityContext\":1}}", "securityContext", NULL);
  rejects("{\"config\":{\"securityContext\":{\"privileged\":1}}}", "securityContext", "privileged");
  rejects("{\"config\":{\"securityContext\":{\"runAsUser\":1.5}}}", "runAsUser", NULL);
  rejects("{\"config\":{\"securityContext\":{\"supplementalGroups\":[1,\"2\"]}}}",
          "supplementalGroups[1]", NULL);
  rejects("{\"config\":{\"securityContext\":{\"seccomp\":{\"localhostRef\":3}}}}", "seccomp",
          "localhostRef");
}

static void unknown_enums_rejected(void **state)
{
  (void)state;
  rejects("{\"config\":{\"portMappings\":[{\"protocol\":3}]}}", "protocol", NULL);
  rejects("{\"config\":{\"securityContext\":{\"namespaceOptions\":{\"network\":4}}}}",
          "namespaceOptions", "network");
  rejects("{\"config\":{\"securityContext\":{\"namespaceOptions\":{\"pid\":-1}}}}", "pid", NULL);
  rejects("{\"config\":{\"securityContext\":{\"apparmor\":{\"type\":3}}}}", "apparmor", "type");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(roundtrip_every_field),  cmocka_unit_test(copy_is_deep_and_equal),
      cmocka_unit_test(empty_and_absent),       cmocka_unit_test(wrong_shapes_name_the_field),
      cmocka_unit_test(unknown_enums_rejected),
  };
  return cmocka_run_group_tests_name("sandbox-pod-config", tests, NULL, NULL);
}
