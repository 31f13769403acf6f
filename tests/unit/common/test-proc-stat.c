#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/proc-stat.h"

/* Fields 4..21 of a real line, then starttime (22) and a few more. */
#define MIDDLE "1 1 1 0 -1 4194560 100 0 0 0 2 3 0 0 20 0 1 0 "

static void plain_line(void **state)
{
  mascri_proc_stat_t st = {0};
  assert_int_equal(mascri_proc_stat_parse("42 (sleep) S " MIDDLE "123456 8192 100\n", &st), 0);
  assert_int_equal(st.state, 'S');
  assert_int_equal(st.start_time, 123456);
}

static void comm_with_spaces_and_parens(void **state)
{
  mascri_proc_stat_t st = {0};
  assert_int_equal(mascri_proc_stat_parse("7 (a) Z (b c)) R " MIDDLE "99 1 2\n", &st), 0);
  assert_int_equal(st.state, 'R');
  assert_int_equal(st.start_time, 99);
}

static void zombie(void **state)
{
  mascri_proc_stat_t st = {0};
  assert_int_equal(mascri_proc_stat_parse("9 (x) Z " MIDDLE "5", &st), 0);
  assert_int_equal(st.state, 'Z');
  assert_int_equal(st.start_time, 5);
  assert_true(mascri_proc_state_exited('Z'));
  assert_true(mascri_proc_state_exited('X'));
  assert_false(mascri_proc_state_exited('S'));
  assert_false(mascri_proc_state_exited('D'));
}

static void malformed(void **state)
{
  mascri_proc_stat_t st = {0};
  const char *bad[] = {
      "",
      "42 sleep S 1 2 3",
      "42 (sleep)",
      "42 (sleep) ",
      "42 (sleep)S " MIDDLE "1",
      "42 (sleep) S 1 1 1",
      "42 (sleep) S " MIDDLE,
      "42 (sleep) S " MIDDLE "12x 3",
      "42 (sleep) S " MIDDLE "99999999999999999999999 3",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    errno = 0;
    assert_int_equal(mascri_proc_stat_parse(bad[i], &st), -1);
    assert_int_equal(errno, EINVAL);
  }
}

static void read_self(void **state)
{
  mascri_proc_stat_t st = {0};
  assert_int_equal(mascri_proc_stat_read(getpid(), &st), 0);
  assert_int_equal(st.state, 'R');
  assert_true(st.start_time > 0);
}

static void read_missing(void **state)
{
  mascri_proc_stat_t st = {0};
  /* Above the kernel's pid_max limit (4194304), so never a live pid. */
  assert_int_equal(mascri_proc_stat_read(4194305 + 1000, &st), -1);
  assert_int_equal(errno, ENOENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plain_line), cmocka_unit_test(comm_with_spaces_and_parens),
      cmocka_unit_test(zombie),     cmocka_unit_test(malformed),
      cmocka_unit_test(read_self),  cmocka_unit_test(read_missing),
  };
  return cmocka_run_group_tests_name("common-proc-stat", tests, NULL, NULL);
}
