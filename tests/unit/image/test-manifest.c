#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "image/config.h"
#include "image/manifest.h"

#define D(c)                                                                                       \
  "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
      c c c c c c c c c c c c c c c c c c c c c

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D(
        "a") "\",\"size\":10},\"layers\":[{\"mediaType\":\"application/"
             "vnd.oci.image.layer.v1.tar+zstd\","
             "\"digest\":\"" D(
                 "b") "\",\"size\":20},{\"mediaType\":\"application/vnd.docker.image.rootfs."
                      "diff.tar.gzip\",\"digest\":\"" D("c") "\",\"size\":30}]}";

static const char index_json[] =
    "{\"schemaVersion\":2,\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D(
        "1") "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":"
             "\"v6\"}},"
             "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D(
                 "2") "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
                      "\"variant\":\"v7\"}},"
                      "{\"mediaType\":\"application/"
                      "vnd.oci.image.manifest.v1+json\",\"digest\":\"" D(
                          "3") "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
                               "\"amd64\"}},"
                               "{\"mediaType\":\"application/"
                               "vnd.oci.image.manifest.v1+json\",\"digest\":\"" D(
                                   "4") "\",\"size\":1,\"platform\":{\"os\":\"linux\","
                                        "\"architecture\":\"arm64\"}},"
                                        "{\"mediaType\":\"application/"
                                        "vnd.oci.image.manifest.v1+json\",\"digest\":\"" D(
                                            "5") "\",\"size\":1,\"platform\":{\"os\":\"windows\","
                                                 "\"architecture\":\"amd64\"}}]}";

static void parses_oci_manifest(void **state)
{
  struct mascri_manifest m;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_manifest_parse(oci_manifest, strlen(oci_manifest), NULL, &m, &err), 0);
  assert_false(m.is_index);
  assert_string_equal(m.config.digest, D("a"));
  assert_int_equal(m.n_entries, 2);
  assert_int_equal(m.entries[1].size, 30);
  mascri_compression_t c;
  assert_int_equal(mascri_layer_compression(m.entries[0].media_type, &c, &err), 0);
  assert_int_equal(c, MASCRI_COMPRESSION_ZSTD);
  assert_int_equal(mascri_layer_compression(m.entries[1].media_type, &c, &err), 0);
  assert_int_equal(c, MASCRI_COMPRESSION_GZIP);
  assert_int_equal(mascri_layer_compression("application/x-foo", &c, &err), -1);
  mascri_manifest_clear(&m);
}

static int select_for(const char *platform)
{
  struct mascri_manifest m;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_manifest_parse(index_json, strlen(index_json),
                                         "application/vnd.oci.image.index.v1+json", &m, &err),
                   0);
  assert_true(m.is_index);
  int r = mascri_manifest_select(&m, platform, &err);
  if (r < 0)
    assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
  mascri_manifest_clear(&m);
  return r;
}

static void selects_platform(void **state)
{
  assert_int_equal(select_for("linux/amd64"), 2);
  assert_int_equal(select_for("linux/arm64/v8"), 3);
  assert_int_equal(select_for("linux/arm64"), 3);
  assert_int_equal(select_for("linux/arm/v7"), 1);
  assert_int_equal(select_for("linux/arm/v6"), 0);
  assert_int_equal(select_for("linux/arm/v5"), 0); /* falls back to any arm */
  assert_int_equal(select_for("windows/amd64"), 4);
  assert_int_equal(select_for("linux/s390x"), -1);
  _cleanup_free_ char *host = mascri_platform_host();
  assert_non_null(strstr(host, "linux/"));
}

static void refuses_schema1_and_garbage(void **state)
{
  const char *bad[] = {
      "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}",
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+"
      "prettyjws\"}",
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"digest\":\"sha256:zz\",\"size\":1},\"layers\":[]}",
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"digest\":\"" D("a") "\",\"size\":-1},\"layers\":[]}",
      "{\"schemaVersion\":2,\"mediaType\":\"text/html\"}",
      "not json",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct mascri_manifest m;
    _cleanup_error_ mascri_error_t err = NULL;
    assert_int_equal(mascri_manifest_parse(bad[i], strlen(bad[i]), NULL, &m, &err), -1);
    assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
    if (i < 2)
      assert_non_null(strstr(mascri_error_message(&err), "schema 1"));
  }
}

static void config_fields_and_chain_ids(void **state)
{
  const char cfg[] =
      "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"User\":\"1000:1000\","
      "\"Env\":[\"A=1\"],\"Entrypoint\":[\"/e\"],\"Cmd\":[\"c\"],\"WorkingDir\":\"/w\","
      "\"ExposedPorts\":{\"80/tcp\":{}},\"Volumes\":{\"/data\":{}},"
      "\"Labels\":{\"k\":\"v\"},\"StopSignal\":\"SIGINT\"},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D("a") "\",\"" D("b") "\"]}}";
  struct mascri_image_info *i = xmalloc0(sizeof(*i));
  char **diff = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_image_config_parse(cfg, strlen(cfg), i, &diff, &err), 0);
  assert_string_equal(i->user, "1000:1000");
  assert_string_equal(i->env[0], "A=1");
  assert_string_equal(i->exposed_ports[0], "80/tcp");
  assert_string_equal(i->volumes[0], "/data");
  assert_string_equal(i->labels[0], "k=v");
  assert_string_equal(i->stop_signal, "SIGINT");
  char **chain = mascri_chain_ids(diff);
  assert_string_equal(chain[0], D("a"));
  /* sha256("sha256:aaa... sha256:bbb...") */
  assert_int_equal(strlen(chain[1]), 71);
  assert_string_not_equal(chain[1], D("b"));
  mascri_strv_free(chain);
  mascri_strv_free(diff);
  mascri_image_info_free(i);
}

static void config_refuses_volume_escape(void **state)
{
  const char *bad[] = {
      "{\"config\":{\"Volumes\":{\"/data/../../etc\":{}}},\"rootfs\":{\"diff_ids\":[]}}",
      "{\"config\":{\"Volumes\":{\"relative\":{}}},\"rootfs\":{\"diff_ids\":[]}}",
      "{\"config\":{},\"rootfs\":{\"diff_ids\":[\"md5:x\"]}}",
  };
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    struct mascri_image_info *i = xmalloc0(sizeof(*i));
    char **diff = NULL;
    _cleanup_error_ mascri_error_t err = NULL;
    assert_int_equal(mascri_image_config_parse(bad[k], strlen(bad[k]), i, &diff, &err), -1);
    assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
    mascri_image_info_free(i);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_oci_manifest),          cmocka_unit_test(selects_platform),
      cmocka_unit_test(refuses_schema1_and_garbage),  cmocka_unit_test(config_fields_and_chain_ids),
      cmocka_unit_test(config_refuses_volume_escape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
