#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/pod-util.h"

static void full_name_and_validation(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  struct mascri_metadata md = {.name = "web", .namespace_ = "default", .uid = "u-1", .attempt = 2};
  _cleanup_free_ char *n = mascri_pod_full_name(&md, &err);
  assert_string_equal(n, "k8s_POD_web_default_u-1_2");
  md.uid = "";
  assert_null(mascri_pod_full_name(&md, &err));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "uid"));
  md.uid = NULL;
  assert_null(mascri_pod_full_name(&md, &err));
  assert_non_null(strstr(mascri_error_message(&err), "uid"));
  md.name = NULL;
  assert_null(mascri_pod_full_name(&md, &err));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "name"));
}

static void new_ids_are_hex_and_differ(void **state)
{
  (void)state;
  _cleanup_free_ char *a = mascri_pod_new_id();
  _cleanup_free_ char *b = mascri_pod_new_id();
  assert_int_equal(strlen(a), 64);
  assert_int_equal(strspn(a, "0123456789abcdef"), 64);
  assert_string_not_equal(a, b);
}

static void resolv_conf_text(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  char *servers[] = {"10.0.0.10", "8.8.8.8", NULL};
  char *searches[] = {"ns.svc.cluster.local", "cluster.local", NULL};
  char *options[] = {"ndots:5", NULL};
  struct mascri_pod_dns dns = {.servers = servers, .searches = searches, .options = options};
  _cleanup_free_ char *t = mascri_pod_resolv_conf(&dns, &err);
  assert_string_equal(t, "nameserver 10.0.0.10\nnameserver 8.8.8.8\n"
                         "search ns.svc.cluster.local cluster.local\noptions ndots:5\n");
  char *bad[] = {"1.1.1.1\nnameserver 6.6.6.6", NULL};
  dns.servers = bad;
  assert_null(mascri_pod_resolv_conf(&dns, &err));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

static void hosts_text(void **state)
{
  (void)state;
  _cleanup_free_ char *h = mascri_pod_hosts("web", "10.89.0.5");
  assert_non_null(strstr(h, "127.0.0.1\tlocalhost\n"));
  assert_non_null(strstr(h, "10.89.0.5\tweb\n"));
  _cleanup_free_ char *n = mascri_pod_hosts("web", NULL);
  assert_null(strstr(n, "web"));
}

static void sysctl_rules(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *a =
      mascri_pod_sysctl_path("net.ipv4.ip_unprivileged_port_start", false, false, &err);
  assert_string_equal(a, "net/ipv4/ip_unprivileged_port_start");
  _cleanup_free_ char *b = mascri_pod_sysctl_path("kernel.shmmax", false, false, &err);
  assert_string_equal(b, "kernel/shmmax");
  _cleanup_free_ char *c =
      mascri_pod_sysctl_path("net/ipv4/conf/eth0.1/forwarding", false, false, &err);
  assert_string_equal(c, "net/ipv4/conf/eth0.1/forwarding");
  assert_null(mascri_pod_sysctl_path("net.ipv4.ip_forward", true, false, &err));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_null(mascri_pod_sysctl_path("kernel.msgmax", false, true, &err));
  assert_null(mascri_pod_sysctl_path("kernel.hostname", false, false, &err));
  assert_null(mascri_pod_sysctl_path("vm.swappiness", false, false, &err));
  assert_null(mascri_pod_sysctl_path("net/../../kernel/core_pattern", false, false, &err));
  assert_null(mascri_pod_sysctl_path("", false, false, &err));
}

static void hex_roundtrip(void **state)
{
  (void)state;
  const uint8_t data[] = {0, 1, 0xab, 0xff, 0x10};
  _cleanup_free_ char *h = mascri_hex_encode(data, sizeof(data));
  assert_string_equal(h, "0001abff10");
  _cleanup_free_ uint8_t *back = NULL;
  assert_int_equal(mascri_hex_decode(h, &back), 5);
  assert_memory_equal(back, data, 5);
  uint8_t *none = NULL;
  assert_int_equal(mascri_hex_decode("abc", &none), -1);
  assert_int_equal(mascri_hex_decode("zz", &none), -1);
}

static void hostnames(void **state)
{
  assert_true(mascri_pod_hostname_valid("web"));
  assert_true(mascri_pod_hostname_valid("web-0.svc.cluster.local"));
  assert_true(mascri_pod_hostname_valid("A1"));
  char h64[65], h63[64];
  memset(h64, 'a', 64), h64[64] = '\0';
  memset(h63, 'a', 63), h63[63] = '\0';
  assert_true(mascri_pod_hostname_valid(h63));
  assert_false(mascri_pod_hostname_valid(h64)); /* one label longer than 63 */
  assert_false(mascri_pod_hostname_valid(""));
  assert_false(mascri_pod_hostname_valid("evil\n6.6.6.6\tkubernetes.default"));
  assert_false(mascri_pod_hostname_valid("a b"));
  assert_false(mascri_pod_hostname_valid("a/b"));
  assert_false(mascri_pod_hostname_valid("-a"));
  assert_false(mascri_pod_hostname_valid("a-"));
  assert_false(mascri_pod_hostname_valid("a..b"));
  assert_false(mascri_pod_hostname_valid(".a"));
  assert_false(mascri_pod_hostname_valid("a_b"));

  mascri_error_t err = NULL;
  char *h = mascri_pod_hostname_from_name("nginx-sandbox", &err);
  assert_string_equal(h, "nginx-sandbox");
  free(h);
  /* cut to 63, trailing '-' and '.' dropped, as kubelet does */
  char name[100];
  memset(name, 'b', sizeof(name)), name[62] = '-', name[99] = '\0';
  h = mascri_pod_hostname_from_name(name, &err);
  assert_int_equal(strlen(h), 62);
  free(h);
  assert_null(mascri_pod_hostname_from_name("evil\n6.6.6.6\tkubernetes.default", &err));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "metadata.name"));
  mascri_error_release(&err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_name_and_validation),
      cmocka_unit_test(new_ids_are_hex_and_differ),
      cmocka_unit_test(resolv_conf_text),
      cmocka_unit_test(hostnames),
      cmocka_unit_test(hosts_text),
      cmocka_unit_test(sysctl_rules),
      cmocka_unit_test(hex_roundtrip),
  };
  return cmocka_run_group_tests_name("sandbox-pod-util", tests, NULL, NULL);
}
