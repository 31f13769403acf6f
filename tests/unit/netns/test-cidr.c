#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "netns/cidr.h"

static void test_parse_v4(void **state)
{
  struct mascri_cidr c;
  mascri_error_t err = NULL;
  char buf[64];
  assert_int_equal(mascri_cidr_parse("10.89.3.7/16", &c, &err), 0);
  assert_string_equal(mascri_cidr_format(&c, buf), "10.89.0.0/16");
  assert_int_equal(mascri_cidr_size(&c), 65536);
  struct mascri_ip ip;
  mascri_cidr_nth(&c, 257, &ip);
  assert_string_equal(mascri_ip_format(&ip, buf), "10.89.1.1");
  assert_int_equal(mascri_cidr_offset(&c, &ip), 257);
  assert_true(mascri_cidr_contains(&c, &ip));
  assert_int_equal(mascri_ip_parse("10.90.0.1", &ip), 0);
  assert_false(mascri_cidr_contains(&c, &ip));
}

static void test_parse_v6(void **state)
{
  struct mascri_cidr c;
  mascri_error_t err = NULL;
  char buf[64];
  assert_int_equal(mascri_cidr_parse("fd89::1/64", &c, &err), 0);
  assert_string_equal(mascri_cidr_format(&c, buf), "fd89::/64");
  assert_int_equal(mascri_cidr_size(&c), UINT64_C(1) << 32);
  struct mascri_ip ip;
  mascri_cidr_nth(&c, 0x1ff, &ip);
  assert_string_equal(mascri_ip_format(&ip, buf), "fd89::1ff");
  assert_int_equal(mascri_cidr_offset(&c, &ip), 0x1ff);
  struct mascri_ip v4;
  mascri_ip_parse("10.0.0.1", &v4);
  assert_false(mascri_cidr_contains(&c, &v4));
}

static void test_parse_errors(void **state)
{
  struct mascri_cidr c;
  mascri_error_t err = NULL;
  const char *bad[] = {"10.0.0.0", "10.0.0.0/33", "10.0.0/8",    "fd89::/129",
                       "x/8",      "10.0.0.0/",   "10.0.0.0/8x", ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_true(mascri_cidr_parse(bad[i], &c, &err) < 0);
    assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
    mascri_error_release(&err);
  }
}

static void test_carry(void **state)
{
  struct mascri_cidr c;
  mascri_error_t err = NULL;
  char buf[64];
  assert_int_equal(mascri_cidr_parse("10.0.255.0/16", &c, &err), 0);
  struct mascri_ip ip;
  mascri_cidr_nth(&c, 65535, &ip);
  assert_string_equal(mascri_ip_format(&ip, buf), "10.0.255.255");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_v4),
      cmocka_unit_test(test_parse_v6),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_carry),
  };
  return cmocka_run_group_tests_name("netns-cidr", tests, NULL, NULL);
}
