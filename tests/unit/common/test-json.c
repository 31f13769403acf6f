#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"

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

static char *nested(size_t depth, const char *open, const char *close)
{
  size_t n = strlen(open), m = strlen(close);
  char *s = xmalloc(depth * (n + m) + 1), *p = s;
  for (size_t i = 0; i < depth; i++, p += n)
    memcpy(p, open, n);
  for (size_t i = 0; i < depth; i++, p += m)
    memcpy(p, close, m);
  *p = '\0';
  return s;
}

static void nesting_is_bounded(void **state)
{
  mascri_error_t err = NULL;
  yajl_val v = NULL;
  /* at the limit: fine */
  _cleanup_free_ char *ok = nested(MASCRI_JSON_MAX_DEPTH, "[", "]");
  assert_int_equal(mascri_json_parse(ok, strlen(ok), "ok", &v, &err), 0);
  yajl_tree_free(v);
  /* one more: refused, whatever the mix of arrays and objects */
  _cleanup_free_ char *deep = nested(MASCRI_JSON_MAX_DEPTH + 1, "[", "]");
  assert_int_equal(mascri_json_parse(deep, strlen(deep), "deep", &v, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "deep: JSON nested deeper than 64"));
  mascri_error_release(&err);
  /* 300,000 levels (the stack overflow of issue 11) are refused too, and quickly */
  _cleanup_free_ char *bomb = nested(300000, "[", "");
  assert_int_equal(mascri_json_parse(bomb, strlen(bomb), "bomb", &v, &err), -1);
  mascri_error_release(&err);
  _cleanup_free_ char *maps = nested(300000, "{\"k\":", "");
  assert_int_equal(mascri_json_parse(maps, strlen(maps), "maps", &v, &err), -1);
  mascri_error_release(&err);
  /* brackets inside strings (escaped quotes included) do not count */
  _cleanup_free_ char *inner = nested(1000, "[", "]");
  _cleanup_free_ char *str = xasprintf("{\"s\": \"\\\"%s\"}", inner);
  assert_int_equal(mascri_json_parse(str, strlen(str), "str", &v, &err), 0);
  _cleanup_free_ char *want = xasprintf("\"%s", inner);
  assert_string_equal(mascri_json_get_string(v, "s"), want);
  yajl_tree_free(v);
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
      cmocka_unit_test(nesting_is_bounded),
      cmocka_unit_test(generator_escapes),
  };
  return cmocka_run_group_tests_name("common-json", tests, NULL, NULL);
}
