#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/signal-name.h"

static void names_and_numbers(void **state)
{
  assert_int_equal(mascri_signal_parse("KILL"), SIGKILL);
  assert_int_equal(mascri_signal_parse("SIGKILL"), SIGKILL);
  assert_int_equal(mascri_signal_parse("sigterm"), SIGTERM);
  assert_int_equal(mascri_signal_parse("SigHup"), SIGHUP);
  assert_int_equal(mascri_signal_parse("WINCH"), SIGWINCH);
  assert_int_equal(mascri_signal_parse("9"), 9);
  assert_int_equal(mascri_signal_parse("1"), 1);
  assert_int_equal(mascri_signal_parse("64"), 64);
}

static void failures_are_minus_one(void **state)
{
  assert_int_equal(mascri_signal_parse(NULL), -1);
  assert_int_equal(mascri_signal_parse(""), -1);
  assert_int_equal(mascri_signal_parse("0"), -1);
  assert_int_equal(mascri_signal_parse("65"), -1);
  assert_int_equal(mascri_signal_parse("SIG"), -1);
  assert_int_equal(mascri_signal_parse("NOPE"), -1);
  assert_int_equal(mascri_signal_parse("-9"), -1);
  assert_int_equal(mascri_signal_parse("RTMIN+3"), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_and_numbers),
      cmocka_unit_test(failures_are_minus_one),
  };
  return cmocka_run_group_tests_name("common-signal-name", tests, NULL, NULL);
}
