/* image/pull-status.c: the status line between mascri-image and mascrid, both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/pull-status.h"

#define ID "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ok_round_trip(void **state)
{
  (void)state;
  char *line = mascri_pull_status_ok(ID);
  assert_string_equal(line, "ok " ID "\n");
  char *id = NULL;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_pull_status_parse(line, strlen(line), &id, &err), 0);
  assert_string_equal(id, ID);
  assert_null(err);
  free(id);
  /* without the newline too */
  assert_int_equal(mascri_pull_status_parse(line, strlen(line) - 1, &id, &err), 0);
  free(id);
  free(line);
}

static void round_trip_kind(mascri_error_kind_t kind, const char *token)
{
  mascri_error_t src = NULL, err = NULL;
  mascri_make_error_kind(&src, kind, 0, "pull x: line one\nline two");
  char *line = mascri_pull_status_error(&src);
  char *want = NULL;
  assert_true(asprintf(&want, "error %s pull x: line one line two\n", token) > 0);
  assert_string_equal(line, want);
  char *id = NULL;
  assert_true(mascri_pull_status_parse(line, strlen(line), &id, &err) < 0);
  assert_null(id);
  assert_int_equal(mascri_error_kind(&err), kind);
  assert_string_equal(mascri_error_message(&err), "pull x: line one line two");
  mascri_error_release(&err);
  mascri_error_release(&src);
  free(line);
  free(want);
}

static void test_error_kinds(void **state)
{
  (void)state;
  round_trip_kind(MASCRI_ERR_NOT_FOUND, "NOT_FOUND");
  round_trip_kind(MASCRI_ERR_PERMISSION_DENIED, "PERMISSION_DENIED");
  round_trip_kind(MASCRI_ERR_DEADLINE, "DEADLINE_EXCEEDED");
  round_trip_kind(MASCRI_ERR_INVALID_ARGUMENT, "INVALID_ARGUMENT");
  round_trip_kind(MASCRI_ERR_UNAVAILABLE, "UNAVAILABLE");
  round_trip_kind(MASCRI_ERR_CANCELLED, "CANCELLED");
  round_trip_kind(MASCRI_ERR_INTERNAL, "INTERNAL");
  round_trip_kind(MASCRI_ERR_FAILED_PRECONDITION, "FAILED_PRECONDITION");
}

static void expect_bad(const char *buf, size_t len)
{
  char *id = NULL;
  mascri_error_t err = NULL;
  assert_true(mascri_pull_status_parse(buf, len, &id, &err) < 0);
  assert_null(id);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INTERNAL);
  assert_non_null(strstr(mascri_error_message(&err), "unexpected status"));
  mascri_error_release(&err);
}

static void test_garbage_is_internal(void **state)
{
  (void)state;
  expect_bad("", 0);
  expect_bad("ok\n", 3);
  expect_bad("ok sha256:xyz\n", 14);
  expect_bad("ok " ID "\nok " ID "\n", strlen("ok " ID "\nok " ID "\n"));
  expect_bad("error\n", 6);
  expect_bad("error NOT_FOUND\n", 16);
  expect_bad("error NOT_FOUND \n", 17);
  expect_bad("error NO_SUCH_KIND message\n", 27);
  expect_bad("error not_found message\n", 24);
  expect_bad("hello\n", 6);
  const char nul[] = "ok " ID "\0junk";
  expect_bad(nul, sizeof(nul) - 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok_round_trip),
      cmocka_unit_test(test_error_kinds),
      cmocka_unit_test(test_garbage_is_internal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
