/* The CRI container log written by mascri-monitor: one record per line,
 *   "<RFC3339Nano local time with numeric offset> <stdout|stderr> <F|P> <content>\n".
 * Each stream has its own line buffer (max_line bytes, mapped at open: a record never
 * allocates, only the pages a line uses are resident, and idle ones go back), so records
 * of the two streams never interleave; a line longer than max_line becomes P records of
 * max_line bytes followed by an F record with the rest, a complete line an F record; every
 * record is written with one writev() on an O_APPEND fd.
 * A record calls no stdio, and localtime_r() only about once an hour: the timestamp is
 * written digit by digit from the local offset, which the log keeps while it holds
 * (monitor_log_clock_t), so that the monitor's steady state runs on few code pages
 * (monitor-mem.h). */
#ifndef MASCRI_SANDBOX_MONITOR_LOG_H
#define MASCRI_SANDBOX_MONITOR_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"

typedef enum {
  MONITOR_STDOUT = 0,
  MONITOR_STDERR = 1,
} monitor_stream_t;

typedef struct monitor_log_line {
  char *buf; /* max_line bytes */
  size_t len;
} monitor_log_line_t;

/* What localtime_r() says about the seconds in [from, until): the local clock is the epoch
 * seconds plus shift (the UTC offset, less the leap seconds of a "right/" zone), shown with
 * the offset gmtoff. Zeroed = empty. */
typedef struct monitor_log_clock {
  int64_t from, until;
  int64_t shift;
  long gmtoff;
  unsigned fills; /* how many times it was filled */
} monitor_log_clock_t;

/* How far ahead a looked-up offset is taken to hold when it is the same at both ends (no
 * zone changes its offset twice within an hour); a change in between is found exactly. */
#define MONITOR_LOG_CLOCK_HOLD 3600

typedef struct monitor_log {
  int fd;
  const char *path; /* not owned */
  size_t max_line;
  monitor_log_line_t lines[2];
  size_t map_len; /* one anonymous mapping holds both buffers */
  monitor_log_clock_t clock;
} monitor_log_t;

/* Enough for "2026-11-22T18:30:00.123456789+00:00". */
#define MONITOR_LOG_TIME_MAX 48

/* Formats ts in local time as RFC3339 with nine fractional digits and a "+hh:mm" offset;
 * returns the length (0 when it does not fit, or localtime_r() fails). */
size_t monitor_log_format_time(const struct timespec *ts, char *buf, size_t size);
/* The same text, through c: localtime_r() runs only when ts is outside the seconds c holds
 * (then c is refilled for the hour ahead, up to the next change of offset). */
size_t monitor_log_clock_format(monitor_log_clock_t *c, const struct timespec *ts, char *buf,
                                size_t size);

/* Opens path (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640) and maps the line buffers;
 * reads the time zone. */
int monitor_log_open(monitor_log_t *l, const char *path, size_t max_line, mascri_error_t *err);
/* Opens the path again (after a rotation by rename) and only then closes the old fd. */
int monitor_log_reopen(monitor_log_t *l, mascri_error_t *err);
/* Logs a chunk read from a stream; now NULL = CLOCK_REALTIME. */
void monitor_log_write(monitor_log_t *l, monitor_stream_t s, const char *data, size_t len,
                       const struct timespec *now);
/* End of a stream: a buffered partial line becomes an F record. */
void monitor_log_flush(monitor_log_t *l, monitor_stream_t s, const struct timespec *now);
/* Runs a record's path once without writing anything (no fd is used): every libc function
 * a record needs has run (monitor_mem_init()'s warm-up), and the clock is filled when it
 * does not hold now. */
void monitor_log_warm(monitor_log_t *l);
/* Gives back the whole pages of the line buffers past what they hold (an idle log: they
 * come back as zero pages on use). */
void monitor_log_release(monitor_log_t *l);
/* Closes the fd and unmaps the line buffers (without flushing). */
void monitor_log_close(monitor_log_t *l);

#endif
