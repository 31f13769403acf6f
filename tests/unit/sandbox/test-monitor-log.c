/* The CRI log writer of mascri-monitor: timestamps, F/P records, per-stream buffering. */
#include <setjmp.h>
#include <stdbool.h>
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
#include "sandbox/monitor/monitor-log.h"

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

/* The text localtime_r() and snprintf() give (the formatter before the digit writer). */
static bool reference(time_t secs, long nsec, char *buf, size_t size)
{
  struct tm tm;
  if (!localtime_r(&secs, &tm) || tm.tm_sec == 60) /* a leap second of a right/ zone */
    return false;
  long off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld%c%02ld:%02ld", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nsec,
           tm.tm_gmtoff < 0 ? '-' : '+', off / 3600, (off % 3600) / 60);
  return true;
}

static void set_tz(const char *tz)
{
  setenv("TZ", tz, 1);
  tzset();
}

/* Both formatters against the reference, the clock kept across a walk over t0..t1 in steps
 * of step seconds (backwards when step < 0). */
static void walk(const char *tz, int64_t t0, int64_t t1, int64_t step)
{
  set_tz(tz);
  monitor_log_clock_t c = {0};
  char want[96], got[MONITOR_LOG_TIME_MAX], once[MONITOR_LOG_TIME_MAX];
  for (int64_t t = t0; step > 0 ? t <= t1 : t >= t1; t += step) {
    struct timespec ts = {.tv_sec = (time_t)t,
                          .tv_nsec = (long)(t % 1000000000 + 1000000000) % 1000000000};
    if (!reference(ts.tv_sec, ts.tv_nsec, want, sizeof(want)))
      continue;
    assert_int_equal(monitor_log_clock_format(&c, &ts, got, sizeof(got)), strlen(want));
    assert_int_equal(monitor_log_format_time(&ts, once, sizeof(once)), strlen(want));
    if (strcmp(want, got) != 0 || strcmp(want, once) != 0)
      fail_msg("TZ=%s t=%lld: want %s, clock %s, once %s", tz, (long long)t, want, got, once);
  }
}

static void clock_matches_localtime(void **state)
{
  const char *zones[] = {
      "UTC0",
      "XYZ3",
      "IST-5:30",
      "CET-1CEST,M3.5.0,M10.5.0/3",
      "LHST-10:30LHDT-11,M10.1.0,M4.1.0", /* a half-hour DST */
      "NST3:30NDT,M3.2.0,M11.1.0",
      ":Europe/Berlin",    /* tzdata, when installed (else UTC: still equal) */
      ":America/St_Johns", /* and its history, LMT offsets with seconds */
      ":Australia/Lord_Howe",
      ":right/UTC", /* leap seconds: the clock's shift differs from the offset */
  };
  for (size_t i = 0; i < ARRAY_SIZE(zones); i++) {
    walk(zones[i], 1700000000, 1700000000 + 3 * 366 * 86400LL, 7919); /* 2023..2026, ~2 h */
    walk(zones[i], 1774746000 - 86400, 1774746000 + 86400, 97);       /* around the EU changes */
    walk(zones[i], 1792890000 + 86400, 1792890000 - 86400, -89);
    walk(zones[i], 1790000000, 1790000000 - 400 * 86400LL, -86399); /* backwards */
    walk(zones[i], -2500000000LL, 4200000000LL, 86400 * 97 + 13);   /* 1890..2103 */
    walk(zones[i], -70000000000LL, -60000000000LL, 86400 * 3659LL); /* negative years */
    walk(zones[i], 253402300799LL - 86400 * 40, 253402300799LL + 86400 * 400, 86400 * 13 + 1);
  }
  set_tz("UTC0");
}

/* 2026-03-29T01:00:00Z: CET becomes CEST; and 2026-10-25T01:00:00Z back. */
static void clock_follows_an_offset_change_to_the_second(void **state)
{
  set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
  monitor_log_clock_t c = {0};
  char buf[MONITOR_LOG_TIME_MAX];
  struct timespec ts = {.tv_sec = 1774746000 - 1800};
  monitor_log_clock_format(&c, &ts, buf, sizeof(buf)); /* filled half an hour before */
  assert_string_equal(buf, "2026-03-29T01:30:00.000000000+01:00");
  assert_true(c.until == 1774746000); /* found by bisection */
  ts.tv_sec = 1774746000 - 1;
  monitor_log_clock_format(&c, &ts, buf, sizeof(buf));
  assert_string_equal(buf, "2026-03-29T01:59:59.000000000+01:00");
  ts.tv_sec = 1774746000;
  monitor_log_clock_format(&c, &ts, buf, sizeof(buf));
  assert_string_equal(buf, "2026-03-29T03:00:00.000000000+02:00");
  ts.tv_sec = 1792890000 - 1;
  monitor_log_clock_format(&c, &ts, buf, sizeof(buf));
  assert_string_equal(buf, "2026-10-25T02:59:59.000000000+02:00");
  ts.tv_sec = 1792890000;
  monitor_log_clock_format(&c, &ts, buf, sizeof(buf));
  assert_string_equal(buf, "2026-10-25T02:00:00.000000000+01:00");
  ts.tv_sec = 1774746000 - 1; /* the clock stepped back */
  monitor_log_clock_format(&c, &ts, buf, sizeof(buf));
  assert_string_equal(buf, "2026-03-29T01:59:59.000000000+01:00");
  /* without a change ahead, the clock holds for an hour */
  ts.tv_sec = 1780000000;
  monitor_log_clock_format(&c, &ts, buf, sizeof(buf));
  assert_true(c.from == 1780000000 && c.until == 1780000000 + MONITOR_LOG_CLOCK_HOLD);
  assert_int_equal(monitor_log_clock_format(&c, &ts, buf, 10), 0); /* does not fit */
  set_tz("UTC0");
}

static void warm_writes_nothing_and_fills_the_clock(void **state)
{
  fixture_t *f = *state;
  monitor_log_warm(&f->log);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  assert_true(f->log.clock.from <= now.tv_sec && now.tv_sec < f->log.clock.until);
  assert_int_equal(f->log.lines[0].len, 0);
  out(f, "a\n");
  _cleanup_free_ char *got = contents(f->path);
  assert_string_equal(got, TS " stdout F a\n");
}

static void release_keeps_what_a_line_holds(void **state)
{
  fixture_t *f = *state;
  monitor_log_close(&f->log);
  const size_t page = (size_t)sysconf(_SC_PAGESIZE), max = 4 * page;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(monitor_log_open(&f->log, f->path, max, &err), 0);
  _cleanup_free_ char *part = xmalloc(max);
  memset(part, 'a', page + 10); /* a partial line over a page boundary */
  monitor_log_write(&f->log, MONITOR_STDOUT, part, page + 10, &when);
  monitor_log_write(&f->log, MONITOR_STDERR, "x\n", 2, &when);
  monitor_log_release(&f->log);
  memset(part, 'b', 2 * page);
  monitor_log_write(&f->log, MONITOR_STDOUT, part, 2 * page, &when);
  monitor_log_write(&f->log, MONITOR_STDOUT, "\n", 1, &when);
  monitor_log_release(&f->log);
  monitor_log_write(&f->log, MONITOR_STDOUT, "c", 1, &when);
  monitor_log_flush(&f->log, MONITOR_STDOUT, &when);
  _cleanup_free_ char *got = contents(f->path);
  _cleanup_free_ char *want = xmalloc(3 * page + 200);
  char *p = want + sprintf(want, "%s", TS " stderr F x\n" TS " stdout F ");
  memset(p, 'a', page + 10), p += page + 10;
  memset(p, 'b', 2 * page), p += 2 * page;
  strcpy(p, "\n" TS " stdout F c\n");
  assert_string_equal(got, want);
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
      cmocka_unit_test(clock_matches_localtime),
      cmocka_unit_test(clock_follows_an_offset_change_to_the_second),
      cmocka_unit_test_setup_teardown(warm_writes_nothing_and_fills_the_clock, setup, teardown),
      cmocka_unit_test_setup_teardown(release_keeps_what_a_line_holds, setup, teardown),
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
