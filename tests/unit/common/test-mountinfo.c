#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/mountinfo.h"

static const char text[] = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                           "23 22 0:5 / /tmp rw master:3 - tmpfs tmpfs rw\n"
                           "24 23 0:6 / /tmp/a\\040b rw - tmpfs tmpfs rw\n"
                           "25 22 0:7 / /tmpx rw shared:9 master:4 - tmpfs tmpfs rw\n"
                           "26 23 0:8 / /tmp rw - tmpfs tmpfs rw\n"
                           "garbage line\n";

static void parse_line(void **state)
{
  mascri_mountinfo_t m;
  assert_int_equal(
      mascri_mountinfo_parse_line("25 22 0:7 / /x\\011y rw shared:9 master:4 - t t rw", &m), 0);
  assert_int_equal(m.id, 25);
  assert_string_equal(m.mountpoint, "/x\ty");
  assert_true(m.shared);
  assert_true(m.slave);
  mascri_mountinfo_clear(&m);
  assert_true(mascri_mountinfo_parse_line("25 22 0:7 / /x rw shared:9", &m) < 0);
  assert_true(mascri_mountinfo_parse_line("x 22 0:7 / /x rw - t t rw", &m) < 0);
  assert_true(mascri_mountinfo_parse_line("", &m) < 0);
}

static void find_by_prefix(void **state)
{
  mascri_mountinfo_t m;
  mascri_error_t err = NULL;
  /* /tmp is listed twice: the later mount is on top */
  assert_int_equal(mascri_mountinfo_find(text, -1, "/tmp/c/d", &m, &err), 0);
  assert_int_equal(m.id, 26);
  assert_false(m.shared);
  assert_false(m.slave);
  mascri_mountinfo_clear(&m);
  /* "/tmpx" is not a prefix of "/tmp/..." and "/tmp" is not one of "/tmpx/..." */
  assert_int_equal(mascri_mountinfo_find(text, -1, "/tmpx/y", &m, &err), 0);
  assert_int_equal(m.id, 25);
  mascri_mountinfo_clear(&m);
  assert_int_equal(mascri_mountinfo_find(text, -1, "/tmp/a b/c", &m, &err), 0);
  assert_int_equal(m.id, 24);
  mascri_mountinfo_clear(&m);
  assert_int_equal(mascri_mountinfo_find(text, -1, "/usr", &m, &err), 0);
  assert_int_equal(m.id, 22);
  assert_true(m.shared);
  mascri_mountinfo_clear(&m);
}

static void find_by_id(void **state)
{
  mascri_mountinfo_t m;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_mountinfo_find(text, 23, "/tmp", &m, &err), 0);
  assert_int_equal(m.id, 23);
  assert_true(m.slave);
  mascri_mountinfo_clear(&m);
  assert_true(mascri_mountinfo_find(text, 99, "/tmp", &m, &err) < 0);
  mascri_error_release(&err);
}

/* The real mountinfo: / is always found, by id on this kernel. */
static void lookup_root(void **state)
{
  mascri_mountinfo_t m;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_mountinfo_lookup("/", &m, &err), 0);
  assert_string_equal(m.mountpoint, "/");
  mascri_mountinfo_clear(&m);
  assert_true(mascri_mountinfo_lookup("/nonexistent/x", &m, &err) < 0);
  mascri_error_release(&err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_line),
      cmocka_unit_test(find_by_prefix),
      cmocka_unit_test(find_by_id),
      cmocka_unit_test(lookup_root),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
