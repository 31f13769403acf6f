#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"

static void parse_and_get(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_json_ yajl_val v = NULL;
  const char *text = "{\"a\":{\"b\":[\"x\",\"y\"]},\"n\":42,\"t\":true,\"s\":\"str\"}";
  assert_int_equal(mascri_json_parse(text, strlen(text), "test", &v, &err), 0);
  int64_t n = 0;
  bool t = false;
  assert_int_equal(mascri_json_get_int64(v, "n", &n), 1);
  assert_int_equal(n, 42);
  assert_int_equal(mascri_json_get_int64(v, "s", &n), -1);
  assert_int_equal(mascri_json_get_int64(v, "missing", &n), 0);
  assert_int_equal(mascri_json_get_bool(v, "t", &t), 1);
  assert_true(t);
  assert_string_equal(mascri_json_get_string(v, "s"), "str");
  assert_null(mascri_json_get_string(v, "n"));
  const char *path[] = {"a", "b", NULL};
  yajl_val arr = mascri_json_get_path(v, path);
  assert_int_equal(mascri_json_array_len(arr), 2);
  _cleanup_strv_ char **sv = mascri_json_string_array(arr, "a.b", &err);
  assert_non_null(sv);
  assert_string_equal(sv[1], "y");
}

static void parse_error_names_input(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  yajl_val v = NULL;
  assert_true(mascri_json_parse("{\"a\":", 5, "config.json", &v, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "parse config.json"));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

static void string_array_rejects_non_strings(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_json_ yajl_val v = NULL;
  const char *text = "[\"ok\", 3]";
  assert_int_equal(mascri_json_parse(text, strlen(text), "t", &v, &err), 0);
  assert_null(mascri_json_string_array(v, "process.args", &err));
  assert_string_equal(mascri_error_message(&err), "process.args[1]: expected a string, got number");
}

static void generator_escapes(void **state)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  char *strv[] = {"a\"b", NULL};
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "k", "line\n");
  mascri_json_gen_kv_uint(g, "big", 18446744073709551615ULL);
  mascri_json_gen_kv_strv(g, "v", strv);
  yajl_gen_map_close(g);
  _cleanup_free_ char *out = mascri_json_gen_take(g, NULL);
  assert_string_equal(out, "{\"k\":\"line\\n\",\"big\":18446744073709551615,\"v\":[\"a\\\"b\"]}");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_and_get),
      cmocka_unit_test(parse_error_names_input),
      cmocka_unit_test(string_array_rejects_non_strings),
      cmocka_unit_test(generator_escapes),
  };
  return cmocka_run_group_tests_name("common-json", tests, NULL, NULL);
}
