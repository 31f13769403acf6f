/* The CRI log writer of mascri-monitor: timestamps, F/P records, per-stream buffering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "sandbox/monitor-log.h"

/* A fixed instant: 2026-11-22T18:30:00.123456789Z. */
static const struct timespec when = {.tv_sec = 1795372200, .tv_nsec = 123456789};
#define TS "2026-11-22T18:30:00.123456789+00:00"

typedef struct fixture {
  char dir[64];
  char *path;
  monitor_log_t log;
} fixture_t;

static int setup(void **state)
{
  setenv("TZ", "UTC0", 1);
  tzset();
  fixture_t *f = xmalloc0(sizeof(*f));
  strcpy(f->dir, "/tmp/mascri-test-monlog-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->path = mascri_path_join(f->dir, "ctr.log");
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(monitor_log_open(&f->log, f->path, 4, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  monitor_log_close(&f->log);
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_rm_rf(f->dir, &err);
  free(f->path);
  free(f);
  return 0;
}

static char *contents(const char *path)
{
  _cleanup_error_ mascri_error_t err = NULL;
  char *buf = NULL;
  size_t len = 0;
  assert_int_equal(mascri_read_file(path, &buf, &len, &err), 0);
  return buf;
}

static void out(fixture_t *f, const char *s)
{
  monitor_log_write(&f->log, MONITOR_STDOUT, s, strlen(s), &when);
}

static void time_is_rfc3339_nano_with_numeric_offset(void **state)
{
  char buf[MONITOR_LOG_TIME_MAX];
  setenv("TZ", "UTC0", 1);
  tzset();
  assert_int_equal(monitor_log_format_time(&when, buf, sizeof(buf)), strlen(TS));
  assert_string_equal(buf, TS);
  struct timespec small = {.tv_sec = 1795372200, .tv_nsec = 5};
  monitor_log_format_time(&small, buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-22T18:30:00.000000005+00:00");
  setenv("TZ", "IST-5:30", 1);
  tzset();
  monitor_log_format_time(&when, buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-23T00:00:00.123456789+05:30");
  setenv("TZ", "XYZ3", 1);
  tzset();
  monitor_log_format_time(&when, buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-22T15:30:00.123456789-03:00");
  assert_int_equal(monitor_log_format_time(&when, buf, 10), 0); /* does not fit */
  setenv("TZ", "UTC0", 1);
  tzset();
}

static void complete_lines_are_f_records(void **state)
{
  fixture_t *f = *state;
  out(f, "ab\n\nc\n");
  monitor_log_write(&f->log, MONITOR_STDERR, "err\n", 4, &when);
  _cleanup_free_ char *got = contents(f->path);
  assert_string_equal(got, TS " stdout F ab\n" TS " stdout F \n" TS " stdout F c\n" TS
                              " stderr F err\n");
}

static void a_line_split_over_reads_is_one_record(void **state)
{
  fixture_t *f = *state;
  out(f, "he");
  out(f, "y\nx");
  out(f, "\n");
  _cleanup_free_ char *got = contents(f->path);
  assert_string_equal(got, TS " stdout F hey\n" TS " stdout F x\n");
}

static void long_lines_become_p_records_then_f(void **state)
{
  fixture_t *f = *state; /* max_line 4 */
  out(f, "abcdefghij\n");
  out(f, "abcd\n");
  out(f, "abcdefgh\n");
  _cleanup_free_ char *got = contents(f->path);
  assert_string_equal(got, TS " stdout P abcd\n" TS " stdout P efgh\n" TS " stdout F ij\n" TS
                              " stdout F abcd\n" TS " stdout P abcd\n" TS " stdout F efgh\n");
}

static void long_lines_in_small_reads(void **state)
{
  fixture_t *f = *state;
  out(f, "ab");
  out(f, "cdef");
  out(f, "gh\n");
  out(f, "abc");
  out(f, "d");
  out(f, "e");
  out(f, "\n");
  _cleanup_free_ char *got = contents(f->path);
  assert_string_equal(got, TS " stdout P abcd\n" TS " stdout F efgh\n" TS " stdout P abcd\n" TS
                              " stdout F e\n");
}

static void final_partial_line_is_f_at_eof(void **state)
{
  fixture_t *f = *state;
  out(f, "one\ntail");
  monitor_log_flush(&f->log, MONITOR_STDOUT, &when);
  monitor_log_flush(&f->log, MONITOR_STDOUT, &when); /* nothing left: no record */
  monitor_log_flush(&f->log, MONITOR_STDERR, &when);
  _cleanup_free_ char *got = contents(f->path);
  assert_string_equal(got, TS " stdout F one\n" TS " stdout F tail\n");
}

static void streams_never_interleave_inside_a_record(void **state)
{
  fixture_t *f = *state;
  out(f, "o1");
  monitor_log_write(&f->log, MONITOR_STDERR, "e1", 2, &when);
  out(f, "o2\n");
  monitor_log_write(&f->log, MONITOR_STDERR, "e2\n", 3, &when);
  _cleanup_free_ char *got = contents(f->path);
  assert_string_equal(got, TS " stdout F o1o2\n" TS " stderr F e1e2\n");
}

static void reopen_follows_a_rename(void **state)
{
  fixture_t *f = *state;
  out(f, "bef\n");
  _cleanup_free_ char *rotated = mascri_path_join(f->dir, "ctr.log.1");
  assert_int_equal(rename(f->path, rotated), 0);
  out(f, "lat\n"); /* still the old file until the reopen */
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(monitor_log_reopen(&f->log, &err), 0);
  out(f, "aft\n");
  _cleanup_free_ char *old = contents(rotated);
  _cleanup_free_ char *now = contents(f->path);
  assert_string_equal(old, TS " stdout F bef\n" TS " stdout F lat\n");
  assert_string_equal(now, TS " stdout F aft\n");
}

static void open_fails_on_a_missing_directory(void **state)
{
  monitor_log_t l;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(monitor_log_open(&l, "/nonexistent-dir/x.log", 16, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "/nonexistent-dir/x.log"));
  monitor_log_close(&l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(time_is_rfc3339_nano_with_numeric_offset),
      cmocka_unit_test_setup_teardown(complete_lines_are_f_records, setup, teardown),
      cmocka_unit_test_setup_teardown(a_line_split_over_reads_is_one_record, setup, teardown),
      cmocka_unit_test_setup_teardown(long_lines_become_p_records_then_f, setup, teardown),
      cmocka_unit_test_setup_teardown(long_lines_in_small_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(final_partial_line_is_f_at_eof, setup, teardown),
      cmocka_unit_test_setup_teardown(streams_never_interleave_inside_a_record, setup, teardown),
      cmocka_unit_test_setup_teardown(reopen_follows_a_rename, setup, teardown),
      cmocka_unit_test(open_fails_on_a_missing_directory),
  };
  return cmocka_run_group_tests_name("sandbox-monitor-log", tests, NULL, NULL);
}
