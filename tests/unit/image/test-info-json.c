#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/json.h"
#include "image/info-json.h"

static char *gen(const struct mascri_image_info *info)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_image_info_gen_config(g, info);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

static void unset_fields_are_empty(void **state)
{
  struct mascri_image_info info = {0};
  _cleanup_free_ char *json = gen(&info);
  assert_string_equal(json, "{\"os\":\"\",\"architecture\":\"\",\"created\":\"\",\"user\":\"\","
                            "\"env\":[],\"entrypoint\":[],\"cmd\":[],\"workingDir\":\"\","
                            "\"exposedPorts\":[],\"volumes\":[],\"labels\":[],"
                            "\"stopSignal\":\"\"}");
}

static void set_fields_are_written(void **state)
{
  char *env[] = {(char *)"PATH=/bin", NULL};
  char *cmd[] = {(char *)"sh", (char *)"-c", (char *)"true", NULL};
  struct mascri_image_info info = {
      .os = (char *)"linux",
      .architecture = (char *)"amd64",
      .user = (char *)"1000",
      .env = env,
      .cmd = cmd,
      .working_dir = (char *)"/srv",
      .stop_signal = (char *)"SIGQUIT",
  };
  _cleanup_free_ char *json = gen(&info);
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_json_ yajl_val v = NULL;
  assert_int_equal(mascri_json_parse(json, strlen(json), "info", &v, &err), 0);
  assert_string_equal(mascri_json_get_string(v, "os"), "linux");
  assert_string_equal(mascri_json_get_string(v, "architecture"), "amd64");
  assert_string_equal(mascri_json_get_string(v, "user"), "1000");
  assert_string_equal(mascri_json_get_string(v, "workingDir"), "/srv");
  assert_string_equal(mascri_json_get_string(v, "stopSignal"), "SIGQUIT");
  assert_non_null(strstr(json, "\"cmd\":[\"sh\",\"-c\",\"true\"]"));
  assert_non_null(strstr(json, "\"env\":[\"PATH=/bin\"]"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unset_fields_are_empty),
      cmocka_unit_test(set_fields_are_written),
  };
  return cmocka_run_group_tests_name("image-info-json", tests, NULL, NULL);
}
