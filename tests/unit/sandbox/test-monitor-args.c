/* mascri-monitor's command line: both modes, defaults, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sandbox/monitor/monitor-args.h"
#include "sandbox/monitor.h"

#define PARSE(a, ...)                                                                              \
  ({                                                                                               \
    char *argv_[] = {"mascri-monitor", __VA_ARGS__, NULL};                                         \
    monitor_args_parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (a), &err);             \
  })

#define CREATE_REQUIRED                                                                            \
  "--id", "c1", "--bundle", "/b", "--runtime-root", "/r", "--log-path", "/l", "--exit-file", "/e", \
      "--socket-dir", "/s"

static void create_with_the_required_options(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  monitor_args_t a;
  assert_int_equal(PARSE(&a, "create", CREATE_REQUIRED), 0);
  assert_int_equal(a.mode, MONITOR_MODE_CREATE);
  assert_string_equal(a.id, "c1");
  assert_string_equal(a.bundle, "/b");
  assert_string_equal(a.runtime_root, "/r");
  assert_string_equal(a.log_path, "/l");
  assert_string_equal(a.exit_file, "/e");
  assert_string_equal(a.socket_dir, "/s");
  assert_false(a.terminal || a.stdin_ || a.stdin_once || a.systemd_cgroup);
  assert_int_equal(a.log_max_line, MASCRI_MONITOR_DEFAULT_MAX_LINE);
  assert_null(a.process_file);
}

static void create_flags_and_equals_form(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  monitor_args_t a;
  assert_int_equal(PARSE(&a, "create", CREATE_REQUIRED, "--terminal", "--stdin", "--stdin-once",
                         "--systemd-cgroup", "--log-max-line=100", "--id=c2"),
                   0);
  assert_true(a.terminal && a.stdin_ && a.stdin_once && a.systemd_cgroup);
  assert_int_equal(a.log_max_line, 100);
  assert_string_equal(a.id, "c2");
}

static void exec_mode(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  monitor_args_t a;
  assert_int_equal(
      PARSE(&a, "exec", "--id", "c1", "--runtime-root", "/r", "--process", "/p.json", "--terminal"),
      0);
  assert_int_equal(a.mode, MONITOR_MODE_EXEC);
  assert_string_equal(a.process_file, "/p.json");
  assert_true(a.terminal);
  assert_null(a.bundle);
}

static void expect_error(int r, mascri_error_t *err, const char *needle)
{
  assert_true(r < 0);
  assert_int_equal(mascri_error_kind(err), MASCRI_ERR_INVALID_ARGUMENT);
  if (!strstr(mascri_error_message(err), needle))
    fail_msg("\"%s\" not in \"%s\"", needle, mascri_error_message(err));
  mascri_error_release(err);
}

static void errors_name_the_problem(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  monitor_args_t a;
  char *only[] = {"mascri-monitor", NULL};
  expect_error(monitor_args_parse(1, only, &a, &err), &err, "usage");
  expect_error(PARSE(&a, "run", "--id", "x"), &err, "unknown mode \"run\"");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--bogus"), &err, "unknown option \"--bogus\"");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "stray"), &err, "unexpected argument");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--bundle"), &err, "--bundle needs a value");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--bundle="), &err, "non-empty");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--terminal=1"), &err, "takes no value");
  expect_error(PARSE(&a, "create", "--id", "c1", "--bundle", "/b", "--runtime-root", "/r",
                     "--log-path", "/l", "--exit-file", "/e"),
               &err, "--socket-dir is required");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--process", "/p"), &err,
               "--process is not valid in this mode");
  expect_error(PARSE(&a, "exec", "--id", "c1", "--runtime-root", "/r"), &err,
               "--process is required");
  expect_error(
      PARSE(&a, "exec", "--id", "c1", "--runtime-root", "/r", "--process", "/p", "--stdin"), &err,
      "--stdin is not valid in this mode");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--log-max-line", "0"), &err, "--log-max-line");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--log-max-line", "12k"), &err,
               "--log-max-line");
  expect_error(PARSE(&a, "create", CREATE_REQUIRED, "--log-max-line", "-5"), &err,
               "--log-max-line");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_with_the_required_options),
      cmocka_unit_test(create_flags_and_equals_form),
      cmocka_unit_test(exec_mode),
      cmocka_unit_test(errors_name_the_problem),
  };
  return cmocka_run_group_tests_name("sandbox-monitor-args", tests, NULL, NULL);
}
