/* PodSandboxConfig to the plain pod config: the conversion RunPodSandbox uses and the
 * converter of version 1 pod records (a packed config in, plain fields out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "cri/rpc-pod-conv.h"

/* A request with many fields set, on the stack (the messages point at each other). */
struct request {
  Runtime__V1__PodSandboxConfig c;
  Runtime__V1__PodSandboxMetadata md;
  Runtime__V1__DNSConfig dns;
  Runtime__V1__PortMapping pm[2], *pms[2];
  Runtime__V1__PodSandboxConfig__LabelsEntry label[2], *labels[2];
  Runtime__V1__PodSandboxConfig__AnnotationsEntry annotation, *annotations[1];
  Runtime__V1__LinuxPodSandboxConfig linux_;
  Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry sysctl, *sysctls[1];
  Runtime__V1__LinuxSandboxSecurityContext sc;
  Runtime__V1__NamespaceOption ns;
  Runtime__V1__UserNamespace userns;
  Runtime__V1__Int64Value uid;
  Runtime__V1__SecurityProfile seccomp, apparmor;
  int64_t groups[2];
  char *servers[2], *searches[1], *options[1];
};

static void request_init(struct request *r)
{
  memset(r, 0, sizeof(*r));
  runtime__v1__pod_sandbox_config__init(&r->c);
  runtime__v1__pod_sandbox_metadata__init(&r->md);
  r->md.name = "web";
  r->md.uid = "uid-1";
  r->md.namespace_ = "prod";
  r->md.attempt = 2;
  r->c.metadata = &r->md;
  r->c.hostname = "web-0";
  r->c.log_directory = "/var/log/pods/web";
  runtime__v1__dnsconfig__init(&r->dns);
  r->servers[0] = "10.0.0.10";
  r->servers[1] = "10.0.0.11";
  r->searches[0] = "cluster.local";
  r->options[0] = "ndots:5";
  r->dns.servers = r->servers;
  r->dns.n_servers = 2;
  r->dns.searches = r->searches;
  r->dns.n_searches = 1;
  r->dns.options = r->options;
  r->dns.n_options = 1;
  r->c.dns_config = &r->dns;
  for (size_t i = 0; i < 2; i++) {
    runtime__v1__port_mapping__init(&r->pm[i]);
    r->pms[i] = &r->pm[i];
  }
  r->pm[0].protocol = RUNTIME__V1__PROTOCOL__UDP;
  r->pm[0].container_port = 53;
  r->pm[0].host_port = 5353;
  r->pm[0].host_ip = "127.0.0.1";
  r->pm[1].container_port = 80;
  r->c.port_mappings = r->pms;
  r->c.n_port_mappings = 2;
  const char *lk[] = {"app", "tier"}, *lvv[] = {"web", "front"};
  for (size_t i = 0; i < 2; i++) {
    runtime__v1__pod_sandbox_config__labels_entry__init(&r->label[i]);
    r->label[i].key = (char *)lk[i];
    r->label[i].value = (char *)lvv[i];
    r->labels[i] = &r->label[i];
  }
  r->c.labels = r->labels;
  r->c.n_labels = 2;
  runtime__v1__pod_sandbox_config__annotations_entry__init(&r->annotation);
  r->annotation.key = "note";
  r->annotation.value = "hello";
  r->annotations[0] = &r->annotation;
  r->c.annotations = r->annotations;
  r->c.n_annotations = 1;
  runtime__v1__linux_pod_sandbox_config__init(&r->linux_);
  r->linux_.cgroup_parent = "/kubepods/pod1";
  runtime__v1__linux_pod_sandbox_config__sysctls_entry__init(&r->sysctl);
  r->sysctl.key = "net.ipv4.ip_forward";
  r->sysctl.value = "1";
  r->sysctls[0] = &r->sysctl;
  r->linux_.sysctls = r->sysctls;
  r->linux_.n_sysctls = 1;
  r->c.linux = &r->linux_;
  runtime__v1__linux_sandbox_security_context__init(&r->sc);
  r->linux_.security_context = &r->sc;
  runtime__v1__namespace_option__init(&r->ns);
  r->ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
  r->ns.pid = RUNTIME__V1__NAMESPACE_MODE__POD;
  r->ns.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
  runtime__v1__user_namespace__init(&r->userns);
  r->userns.mode = RUNTIME__V1__NAMESPACE_MODE__NODE;
  r->ns.userns_options = &r->userns;
  r->sc.namespace_options = &r->ns;
  r->sc.privileged = true;
  r->sc.readonly_rootfs = true;
  runtime__v1__int64_value__init(&r->uid);
  r->uid.value = 1000;
  r->sc.run_as_user = &r->uid;
  r->groups[0] = 2000;
  r->groups[1] = 3000;
  r->sc.supplemental_groups = r->groups;
  r->sc.n_supplemental_groups = 2;
  runtime__v1__security_profile__init(&r->seccomp);
  r->seccomp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
  r->seccomp.localhost_ref = "profiles/web.json";
  r->sc.seccomp = &r->seccomp;
  runtime__v1__security_profile__init(&r->apparmor);
  r->apparmor.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
  r->sc.apparmor = &r->apparmor;
}

static uint8_t *pack(const Runtime__V1__PodSandboxConfig *c, size_t *len)
{
  *len = runtime__v1__pod_sandbox_config__get_packed_size(c);
  uint8_t *buf = xmalloc(*len + 1);
  runtime__v1__pod_sandbox_config__pack(c, buf);
  return buf;
}

static void legacy_record_config(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct request r;
  request_init(&r);
  size_t len = 0;
  _cleanup_free_ uint8_t *buf = pack(&r.c, &len);
  struct mascri_pod_config c = {0};
  assert_int_equal(mascri_pod_config_legacy(buf, len, &c, &err), 0);
  assert_string_equal(c.metadata.name, "web");
  assert_string_equal(c.metadata.uid, "uid-1");
  assert_string_equal(c.metadata.namespace_, "prod");
  assert_int_equal(c.metadata.attempt, 2);
  assert_string_equal(c.hostname, "web-0");
  assert_string_equal(c.log_directory, "/var/log/pods/web");
  assert_int_equal(mascri_strv_length(c.dns.servers), 2);
  assert_string_equal(c.dns.servers[1], "10.0.0.11");
  assert_string_equal(c.dns.searches[0], "cluster.local");
  assert_string_equal(c.dns.options[0], "ndots:5");
  assert_int_equal(c.n_port_mappings, 2);
  assert_int_equal(c.port_mappings[0].protocol, MASCRI_PROTO_UDP);
  assert_int_equal(c.port_mappings[0].container_port, 53);
  assert_int_equal(c.port_mappings[0].host_port, 5353);
  assert_string_equal(c.port_mappings[0].host_ip, "127.0.0.1");
  assert_int_equal(c.port_mappings[1].protocol, MASCRI_PROTO_TCP);
  assert_null(c.port_mappings[1].host_ip);
  assert_int_equal(c.labels.n, 2);
  assert_string_equal(mascri_kv_list_get(&c.labels, "tier"), "front");
  assert_string_equal(mascri_kv_list_get(&c.annotations, "note"), "hello");
  assert_string_equal(c.cgroup_parent, "/kubepods/pod1");
  assert_string_equal(mascri_kv_list_get(&c.sysctls, "net.ipv4.ip_forward"), "1");
  const struct mascri_pod_security *s = &c.security;
  assert_int_equal(s->namespace_options.network, MASCRI_NS_MODE_NODE);
  assert_int_equal(s->namespace_options.pid, MASCRI_NS_MODE_POD);
  assert_int_equal(s->namespace_options.userns, MASCRI_NS_MODE_NODE);
  assert_true(s->privileged);
  assert_true(s->readonly_rootfs);
  assert_true(s->has_run_as_user);
  assert_int_equal(s->run_as_user, 1000);
  assert_false(s->has_run_as_group);
  assert_int_equal(s->n_supplemental_groups, 2);
  assert_int_equal(s->supplemental_groups[1], 3000);
  assert_true(s->seccomp.set);
  assert_int_equal(s->seccomp.type, MASCRI_PROFILE_LOCALHOST);
  assert_string_equal(s->seccomp.localhost_ref, "profiles/web.json");
  assert_true(s->apparmor.set);
  assert_int_equal(s->apparmor.type, MASCRI_PROFILE_RUNTIME_DEFAULT);
  mascri_pod_config_clear(&c);
}

static void legacy_rejects_garbage(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct mascri_pod_config c = {0};
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
  assert_true(mascri_pod_config_legacy(junk, sizeof(junk), &c, &err) < 0);
  assert_null(c.metadata.name);
}

static void request_edges(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct request r;
  request_init(&r);
  struct mascri_pod_config c = {0};
  /* without namespace options the pod has no PID namespace of its own */
  r.sc.namespace_options = NULL;
  assert_int_equal(mascri_pod_config_from_pb(&r.c, &c, &err), 0);
  assert_int_equal(c.security.namespace_options.pid, MASCRI_NS_MODE_CONTAINER);
  assert_int_equal(c.security.namespace_options.network, MASCRI_NS_MODE_POD);
  mascri_pod_config_clear(&c);
  r.c.linux = NULL;
  r.c.dns_config = NULL;
  assert_int_equal(mascri_pod_config_from_pb(&r.c, &c, &err), 0);
  assert_int_equal(c.security.namespace_options.pid, MASCRI_NS_MODE_CONTAINER);
  assert_int_equal(c.security.namespace_options.userns, MASCRI_NS_MODE_NODE);
  assert_null(c.cgroup_parent);
  assert_null(c.dns.servers);
  mascri_pod_config_clear(&c);
  /* what the plain types cannot hold */
  r.c.linux = &r.linux_;
  r.sc.namespace_options = &r.ns;
  r.ns.ipc = 7;
  assert_true(mascri_pod_config_from_pb(&r.c, &c, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "namespace_options.ipc"));
  r.ns.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
  r.apparmor.profile_type = 9;
  assert_true(mascri_pod_config_from_pb(&r.c, &c, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "apparmor"));
  r.apparmor.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
  r.c.metadata = NULL;
  assert_true(mascri_pod_config_from_pb(&r.c, &c, &err) < 0);
  assert_string_equal(mascri_error_message(&err), "pod sandbox metadata is required");
  assert_null(c.hostname);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(legacy_record_config),
      cmocka_unit_test(legacy_rejects_garbage),
      cmocka_unit_test(request_edges),
  };
  return cmocka_run_group_tests_name("cri-rpc-pod-conv", tests, NULL, NULL);
}
