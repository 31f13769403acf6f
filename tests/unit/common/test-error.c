#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"

static void make_error_appends_strerror(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  int r = mascri_make_error(&err, ENOENT, "open `%s`", "/x");
  assert_int_equal(r, -ENOENT);
  assert_string_equal(mascri_error_message(&err), "open `/x`: No such file or directory");
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INTERNAL);
}

static void make_error_without_errno_returns_minus_one(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_make_error_kind(&err, MASCRI_ERR_NOT_FOUND, 0, "no pod %s", "p1"), -1);
  assert_string_equal(mascri_error_message(&err), "no pod p1");
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
}

static void wrap_prepends_context_and_keeps_kind(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_make_error_kind(&err, MASCRI_ERR_INVALID_ARGUMENT, EINVAL, "bad value");
  assert_int_equal(mascri_error_wrap(&err, "field `%s`", "process.args"), -EINVAL);
  assert_string_equal(mascri_error_message(&err),
                      "field `process.args`: bad value: Invalid argument");
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

static void new_error_replaces_old_one(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_make_error(&err, 0, "first");
  mascri_make_error(&err, 0, "second");
  assert_string_equal(mascri_error_message(&err), "second");
  mascri_error_release(&err);
  assert_null(err);
  assert_string_equal(mascri_error_message(&err), "unknown error");
}

static void move_transfers_ownership(void **state)
{
  _cleanup_error_ mascri_error_t a = NULL;
  _cleanup_error_ mascri_error_t b = NULL;
  mascri_make_error(&a, 0, "moved");
  mascri_error_move(&b, &a);
  assert_null(a);
  assert_string_equal(mascri_error_message(&b), "moved");
}

static void null_err_drops_the_error(void **state)
{
  /* Callers that only want to know whether a step failed pass NULL: nothing is kept. */
  assert_int_equal(mascri_make_error(NULL, ENOENT, "open `%s`", "/x"), -ENOENT);
  assert_int_equal(mascri_make_error_kind(NULL, MASCRI_ERR_NOT_FOUND, 0, "no pod"), -1);
  assert_int_equal(mascri_error_wrap(NULL, "ctx"), -1);
  mascri_error_release(NULL);
  mascri_error_t a = NULL;
  mascri_make_error(&a, 0, "dropped");
  mascri_error_move(NULL, &a);
  assert_null(a);
}

static void capture(void *data, mascri_log_level_t level, const char *msg)
{
  char **out = data;
  free(*out);
  *out = xasprintf("%s|%s", mascri_log_level_name(level), msg);
}

static void log_error_release_logs_then_releases(void **state)
{
  _cleanup_free_ char *seen = NULL;
  mascri_log_to_sink(capture, &seen);
  mascri_error_t err = NULL;
  mascri_make_error(&err, ENOENT, "open `/x`");
  mascri_log_error_release(MASCRI_LOG_WARNING, &err, "pod %s", "p1");
  assert_null(err);
  assert_non_null(seen);
  assert_non_null(strstr(seen, "pod p1: open `/x`: No such file or directory"));
  assert_non_null(strstr(seen, "warn"));
  mascri_log_to_fd(2, MASCRI_LOG_FORMAT_TEXT);
}

static void kind_names(void **state)
{
  assert_string_equal(mascri_error_kind_name(MASCRI_ERR_ALREADY_EXISTS), "already exists");
  assert_string_equal(mascri_error_kind_name((mascri_error_kind_t)999), "internal");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(make_error_appends_strerror),
      cmocka_unit_test(make_error_without_errno_returns_minus_one),
      cmocka_unit_test(wrap_prepends_context_and_keeps_kind),
      cmocka_unit_test(new_error_replaces_old_one),
      cmocka_unit_test(move_transfers_ownership),
      cmocka_unit_test(null_err_drops_the_error),
      cmocka_unit_test(log_error_release_logs_then_releases),
      cmocka_unit_test(kind_names),
  };
  return cmocka_run_group_tests_name("common-error", tests, NULL, NULL);
}
