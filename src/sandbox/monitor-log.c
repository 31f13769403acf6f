/* The CRI log writer (monitor-log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "sandbox/monitor-log.h"

size_t monitor_log_format_time(const struct timespec *ts, char *buf, size_t size)
{
  struct tm tm;
  time_t secs = ts->tv_sec;
  if (!localtime_r(&secs, &tm))
    return 0;
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  if (off < 0)
    off = -off;
  int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld%c%02ld:%02ld", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts->tv_nsec,
                   sign, off / 3600, (off % 3600) / 60);
  return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

int monitor_log_open(monitor_log_t *l, const char *path, size_t max_line, mascri_error_t *err)
{
  *l = (monitor_log_t){.fd = -1, .path = path, .max_line = max_line};
  l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (l->fd < 0)
    return mascri_make_error(err, errno, "open the container log %s", path);
  return 0;
}

int monitor_log_reopen(monitor_log_t *l, mascri_error_t *err)
{
  int fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    return mascri_make_error(err, errno, "reopen the container log %s", l->path);
  if (l->fd >= 0)
    close(l->fd);
  l->fd = fd;
  return 0;
}

/* Writes all of iov; a failing log (disk full, ...) drops the record. */
static void write_iov(int fd, struct iovec *iov, int n)
{
  while (n > 0) {
    ssize_t w = writev(fd, iov, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++, n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
}

static void emit(monitor_log_t *l, monitor_stream_t s, bool partial, const char *data, size_t len,
                 const struct timespec *now)
{
  struct timespec ts;
  if (!now) {
    clock_gettime(CLOCK_REALTIME, &ts);
    now = &ts;
  }
  char prefix[MONITOR_LOG_TIME_MAX + 16];
  size_t n = monitor_log_format_time(now, prefix, MONITOR_LOG_TIME_MAX);
  int m = snprintf(prefix + n, sizeof(prefix) - n, " %s %c ",
                   s == MONITOR_STDOUT ? "stdout" : "stderr", partial ? 'P' : 'F');
  struct iovec iov[3] = {
      {.iov_base = prefix, .iov_len = n + (size_t)m},
      {.iov_base = (void *)data, .iov_len = len},
      {.iov_base = (void *)"\n", .iov_len = 1},
  };
  if (l->fd >= 0)
    write_iov(l->fd, iov, 3);
}

/* Appends up to the line's room; returns how much it took. */
static size_t buffer_append(monitor_log_t *l, monitor_log_line_t *line, const char *data,
                            size_t len)
{
  if (!line->buf)
    line->buf = xmalloc(l->max_line);
  size_t take = len < l->max_line - line->len ? len : l->max_line - line->len;
  memcpy(line->buf + line->len, data, take);
  line->len += take;
  return take;
}

void monitor_log_write(monitor_log_t *l, monitor_stream_t s, const char *data, size_t len,
                       const struct timespec *now)
{
  monitor_log_line_t *line = &l->lines[s];
  const size_t max = l->max_line;
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t seg = nl ? (size_t)(nl - data) : len; /* bytes before the newline */
    if (line->len == max && seg > 0) {           /* full, and the line goes on */
      emit(l, s, true, line->buf, line->len, now);
      line->len = 0;
    }
    if (line->len == 0) {
      for (; seg > max; seg -= max, data += max, len -= max)
        emit(l, s, true, data, max, now);
      if (!nl) {
        buffer_append(l, line, data, seg);
        return;
      }
      emit(l, s, false, data, seg, now);
      data += seg + 1, len -= seg + 1;
      continue;
    }
    size_t took = buffer_append(l, line, data, seg);
    data += took, len -= took;
    if (took == seg && nl) {
      emit(l, s, false, line->buf, line->len, now);
      line->len = 0;
      data++, len--;
    }
  }
}

void monitor_log_flush(monitor_log_t *l, monitor_stream_t s, const struct timespec *now)
{
  monitor_log_line_t *line = &l->lines[s];
  if (line->len > 0)
    emit(l, s, false, line->buf, line->len, now);
  line->len = 0;
}

void monitor_log_close(monitor_log_t *l)
{
  if (l->fd >= 0)
    close(l->fd);
  l->fd = -1;
  for (int i = 0; i < 2; i++) {
    free(l->lines[i].buf);
    l->lines[i] = (monitor_log_line_t){0};
  }
}
