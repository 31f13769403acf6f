/* Configuration parsing: network modes, CNI config files and plugin stdin, pod records,
 * nftables port mapping scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "netns/cni-config.h"
#include "netns/cni-json.h"
#include "netns/nft.h"
#include "netns/record.h"

static void test_modes(void **state)
{
  assert_int_equal(mascri_network_parse_mode("auto"), MASCRI_NETWORK_AUTO);
  assert_int_equal(mascri_network_parse_mode("builtin"), MASCRI_NETWORK_BUILTIN);
  assert_int_equal(mascri_network_parse_mode("bridge"), MASCRI_NETWORK_BUILTIN);
  assert_int_equal(mascri_network_parse_mode("cni"), MASCRI_NETWORK_CNI);
  assert_int_equal(mascri_network_parse_mode("none"), MASCRI_NETWORK_NONE);
  assert_int_equal(mascri_network_parse_mode("calico"), -1);
  assert_int_equal(mascri_network_parse_mode(NULL), -1);
  assert_string_equal(mascri_network_mode_name(MASCRI_NETWORK_CNI), "cni");
}

static const char conflist[] =
    "{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"plugins\":["
    "{\"type\":\"bridge\",\"bridge\":\"cni0\",\"ipam\":{\"type\":\"host-local\","
    "\"ranges\":[[{\"subnet\":\"10.1.0.0/16\"}]]}},"
    "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}]}";

static void test_conflist(void **state)
{
  struct netns_cni_netconf nc;
  mascri_error_t err = NULL;
  assert_int_equal(netns_cni_netconf_parse(conflist, strlen(conflist), "t", &nc, &err), 0);
  assert_string_equal(nc.name, "podnet");
  assert_string_equal(nc.version, "1.0.0");
  assert_int_equal(mascri_json_array_len(nc.plugins), 2);
  assert_false(nc.disable_check);
  netns_cni_netconf_clear(&nc);
}

static void test_single_conf(void **state)
{
  const char *conf = "{\"cniVersion\":\"0.4.0\",\"name\":\"one\",\"type\":\"bridge\","
                     "\"isGateway\":true,\"mtu\":1400}";
  struct netns_cni_netconf nc;
  mascri_error_t err = NULL;
  assert_int_equal(netns_cni_netconf_parse(conf, strlen(conf), "t", &nc, &err), 0);
  assert_int_equal(mascri_json_array_len(nc.plugins), 1);
  yajl_val p = mascri_json_array_at(nc.plugins, 0);
  assert_string_equal(mascri_json_get_string(p, "type"), "bridge");
  int64_t mtu = 0;
  assert_int_equal(mascri_json_get_int64(p, "mtu", &mtu), 1);
  assert_int_equal(mtu, 1400);
  netns_cni_netconf_clear(&nc);
}

static void test_bad_configs(void **state)
{
  const char *bad[] = {
      "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"}]}", /* no name */
      "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[]}",       /* no plugins */
      "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{}]}",     /* no type */
      "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"type\":\"../evil\"}", /* path in type */
      "{\"name\":",                                                     /* not JSON */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct netns_cni_netconf nc;
    mascri_error_t err = NULL;
    assert_true(netns_cni_netconf_parse(bad[i], strlen(bad[i]), "t", &nc, &err) < 0);
    mascri_error_release(&err);
  }
}

static void test_first_config(void **state)
{
  char tmpl[] = "/tmp/mascri-test-cni-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  mascri_error_t err = NULL;
  assert_null(netns_cni_first_config(tmpl));
  const char *names[] = {"20-b.conf", "10-a.conflist", "05-ignored.txt", ".00-hidden.conf",
                         "30-c.json"};
  for (size_t i = 0; i < 5; i++) {
    char *p = xasprintf("%s/%s", tmpl, names[i]);
    assert_int_equal(mascri_write_file_atomic(p, "{}", 2, 0644, &err), 0);
    free(p);
  }
  char *first = netns_cni_first_config(tmpl);
  char *expect = xasprintf("%s/10-a.conflist", tmpl);
  assert_string_equal(first, expect);
  free(first);
  free(expect);
  mascri_rm_rf(tmpl, &err);
  assert_null(netns_cni_first_config("/nonexistent/dir"));
}

static void test_plugin_stdin(void **state)
{
  struct netns_cni_netconf nc;
  mascri_error_t err = NULL;
  assert_int_equal(netns_cni_netconf_parse(conflist, strlen(conflist), "t", &nc, &err), 0);
  const char *rt = "{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,"
                   "\"protocol\":\"tcp\"}],\"bandwidth\":{\"ingressRate\":1}}";
  yajl_val runtime = NULL, prev = NULL;
  assert_int_equal(mascri_json_parse(rt, strlen(rt), "rt", &runtime, &err), 0);
  const char *pr = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.2/16\"}]}";
  assert_int_equal(mascri_json_parse(pr, strlen(pr), "pr", &prev, &err), 0);

  /* bridge: no capabilities, so no runtimeConfig; no prevResult for the first plugin. */
  char *in0 = netns_cni_plugin_stdin(mascri_json_array_at(nc.plugins, 0), nc.name, nc.version,
                                     runtime, NULL);
  yajl_val v0 = NULL;
  assert_int_equal(mascri_json_parse(in0, strlen(in0), "in0", &v0, &err), 0);
  assert_string_equal(mascri_json_get_string(v0, "name"), "podnet");
  assert_string_equal(mascri_json_get_string(v0, "cniVersion"), "1.0.0");
  assert_string_equal(mascri_json_get_string(v0, "bridge"), "cni0");
  assert_null(mascri_json_get(v0, "runtimeConfig"));
  assert_null(mascri_json_get(v0, "prevResult"));

  /* portmap: only the capability it declares, plus prevResult. */
  char *in1 = netns_cni_plugin_stdin(mascri_json_array_at(nc.plugins, 1), nc.name, nc.version,
                                     runtime, prev);
  yajl_val v1 = NULL;
  assert_int_equal(mascri_json_parse(in1, strlen(in1), "in1", &v1, &err), 0);
  yajl_val rc = mascri_json_get(v1, "runtimeConfig");
  assert_non_null(rc);
  assert_int_equal(mascri_json_array_len(mascri_json_get(rc, "portMappings")), 1);
  assert_null(mascri_json_get(rc, "bandwidth"));
  const char *addr_path[] = {"prevResult", "ips", NULL};
  yajl_val ips = mascri_json_get_path(v1, addr_path);
  assert_string_equal(mascri_json_get_string(mascri_json_array_at(ips, 0), "address"),
                      "10.1.0.2/16");
  yajl_tree_free(v0);
  yajl_tree_free(v1);
  yajl_tree_free(runtime);
  yajl_tree_free(prev);
  free(in0);
  free(in1);
  netns_cni_netconf_clear(&nc);
}

static void test_record_roundtrip(void **state)
{
  struct netns_record r = {0};
  r.id = xstrdup("pod1");
  r.netns = xstrdup("/run/netns/x");
  r.host_veth = xstrdup("mv0123456789ab");
  r.ipv4 = xstrdup("10.89.0.2");
  r.gateway4 = xstrdup("10.89.0.1");
  r.prefix4 = 16;
  r.cni_result = xstrdup("{\"ips\":[]}");
  struct mascri_port_mapping ports[] = {{MASCRI_PROTO_UDP, 53, 5353, "127.0.0.1"},
                                        {MASCRI_PROTO_TCP, 80, 8080, NULL}};
  netns_record_set_ports(&r, ports, 2);
  char *json = netns_record_to_json(&r);
  struct netns_record back;
  mascri_error_t err = NULL;
  assert_int_equal(netns_record_from_json(json, strlen(json), &back, &err), 0);
  assert_string_equal(back.id, "pod1");
  assert_string_equal(back.ipv4, "10.89.0.2");
  assert_null(back.ipv6);
  assert_int_equal(back.prefix4, 16);
  assert_string_equal(back.cni_result, "{\"ips\":[]}");
  assert_int_equal(back.n_ports, 2);
  assert_int_equal(back.ports[0].protocol, MASCRI_PROTO_UDP);
  assert_int_equal(back.ports[0].host_port, 5353);
  assert_string_equal(back.ports[0].host_ip, "127.0.0.1");
  assert_null(back.ports[1].host_ip);
  free(json);
  netns_record_clear(&r);
  netns_record_clear(&back);
}

static void test_nft_ports(void **state)
{
  struct mascri_ip ip4, ip6;
  mascri_ip_parse("10.89.0.5", &ip4);
  mascri_ip_parse("fd89::5", &ip6);
  struct mascri_port_mapping ports[] = {
      {MASCRI_PROTO_TCP, 80, 8080, NULL},
      {MASCRI_PROTO_UDP, 53, 5353, "192.168.1.2"},
      {MASCRI_PROTO_TCP, 443, 0, NULL}, /* no host port: skipped */
  };
  mascri_error_t err = NULL;
  char *add = mascri_nft_ports_script("t", true, &ip4, &ip6, ports, 3, &err);
  assert_non_null(add);
  assert_string_equal(add,
                      "add element inet t hp4 { tcp . 8080 : 10.89.0.5 . 80 }\n"
                      "add element inet t hp6 { tcp . 8080 : fd89::5 . 80 }\n"
                      "add element inet t hp4ip { udp . 192.168.1.2 . 5353 : 10.89.0.5 . 53 }\n");
  char *del = mascri_nft_ports_script("t", false, &ip4, NULL, ports, 2, &err);
  assert_string_equal(del, "delete element inet t hp4 { tcp . 8080 }\n"
                           "delete element inet t hp4ip { udp . 192.168.1.2 . 5353 }\n");
  free(add);
  free(del);
  struct mascri_port_mapping v6only[] = {{MASCRI_PROTO_TCP, 80, 80, "fd00::1"}};
  assert_null(mascri_nft_ports_script("t", true, &ip4, NULL, v6only, 1, &err));
  mascri_error_release(&err);
  struct mascri_port_mapping sctp[] = {{MASCRI_PROTO_SCTP, 80, 80, NULL}};
  assert_null(mascri_nft_ports_script("t", true, &ip4, NULL, sctp, 1, &err));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  mascri_error_release(&err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_modes),
      cmocka_unit_test(test_conflist),
      cmocka_unit_test(test_single_conf),
      cmocka_unit_test(test_bad_configs),
      cmocka_unit_test(test_first_config),
      cmocka_unit_test(test_plugin_stdin),
      cmocka_unit_test(test_record_roundtrip),
      cmocka_unit_test(test_nft_ports),
  };
  return cmocka_run_group_tests_name("netns-config", tests, NULL, NULL);
}
