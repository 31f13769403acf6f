#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/size.h"

static void sizes(void **state)
{
  uint64_t v = 0;
  assert_true(mascri_parse_size("1024", false, &v));
  assert_int_equal(v, 1024);
  assert_true(mascri_parse_size("64K", false, &v));
  assert_int_equal(v, 65536);
  assert_true(mascri_parse_size("1MiB", false, &v));
  assert_int_equal(v, 1 << 20);
  assert_true(mascri_parse_size("32g", false, &v));
  assert_int_equal(v, 32ull << 30);
  assert_true(mascri_parse_size("2T", false, &v));
  assert_int_equal(v, 2ull << 40);
  assert_true(mascri_parse_size("0", true, &v));
  assert_int_equal(v, 0);
  assert_false(mascri_parse_size("0", false, &v));
  assert_false(mascri_parse_size("", false, &v));
  assert_false(mascri_parse_size("-1", false, &v));
  assert_false(mascri_parse_size("1X", false, &v));
  assert_false(mascri_parse_size("1KK", false, &v));
  assert_false(mascri_parse_size("99999999999999999999", false, &v));
  assert_false(mascri_parse_size("16777216T", false, &v)); /* 2^64 */
  assert_false(mascri_parse_size(" 1", false, &v));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sizes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
