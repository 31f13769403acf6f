#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "common/strv.h"

static void append_split_join_roundtrip(void **state)
{
  _cleanup_strv_ char **v = mascri_strv_split("a,,b,c", ',');
  assert_int_equal(mascri_strv_length(v), 4);
  assert_string_equal(v[1], "");
  mascri_strv_append(&v, "d");
  assert_true(mascri_strv_contains(v, "d"));
  assert_false(mascri_strv_contains(v, "e"));
  _cleanup_free_ char *j = mascri_strv_join(v, ":");
  assert_string_equal(j, "a::b:c:d");
}

static void empty_vectors(void **state)
{
  char **v = NULL;
  assert_int_equal(mascri_strv_length(v), 0);
  _cleanup_free_ char *j = mascri_strv_join(v, ",");
  assert_string_equal(j, "");
  _cleanup_strv_ char **d = mascri_strv_dup(v);
  assert_non_null(d);
  assert_null(d[0]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(append_split_join_roundtrip),
      cmocka_unit_test(empty_vectors),
  };
  return cmocka_run_group_tests_name("common-strv", tests, NULL, NULL);
}
