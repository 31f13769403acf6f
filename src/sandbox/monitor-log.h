/* The CRI container log written by mascri-monitor: one record per line,
 *   "<RFC3339Nano local time with numeric offset> <stdout|stderr> <F|P> <content>\n".
 * Each stream has its own line buffer (at most max_line bytes, allocated on first use), so
 * records of the two streams never interleave; a line longer than max_line becomes P
 * records of max_line bytes followed by an F record with the rest, a complete line an F
 * record; every record is written with one writev() on an O_APPEND fd. */
#ifndef MASCRI_SANDBOX_MONITOR_LOG_H
#define MASCRI_SANDBOX_MONITOR_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/error.h"

typedef enum {
  MONITOR_STDOUT = 0,
  MONITOR_STDERR = 1,
} monitor_stream_t;

typedef struct monitor_log_line {
  char *buf; /* max_line bytes once used */
  size_t len;
} monitor_log_line_t;

typedef struct monitor_log {
  int fd;
  const char *path; /* not owned */
  size_t max_line;
  monitor_log_line_t lines[2];
} monitor_log_t;

/* Enough for "2026-11-22T18:30:00.123456789+00:00". */
#define MONITOR_LOG_TIME_MAX 48

/* Formats ts in local time as RFC3339 with nine fractional digits and a "+hh:mm" offset;
 * returns the length (0 when it does not fit). */
size_t monitor_log_format_time(const struct timespec *ts, char *buf, size_t size);

/* Opens path (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640). */
int monitor_log_open(monitor_log_t *l, const char *path, size_t max_line, mascri_error_t *err);
/* Opens the path again (after a rotation by rename) and only then closes the old fd. */
int monitor_log_reopen(monitor_log_t *l, mascri_error_t *err);
/* Logs a chunk read from a stream; now NULL = CLOCK_REALTIME. */
void monitor_log_write(monitor_log_t *l, monitor_stream_t s, const char *data, size_t len,
                       const struct timespec *now);
/* End of a stream: a buffered partial line becomes an F record. */
void monitor_log_flush(monitor_log_t *l, monitor_stream_t s, const struct timespec *now);
/* Closes the fd and frees the line buffers (without flushing). */
void monitor_log_close(monitor_log_t *l);

#endif
