/* The CRI log writer (monitor-log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sandbox/monitor/monitor-log.h"
#include "sandbox/monitor/monitor-mem.h"

#define DAY 86400

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

MONITOR_HOT static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* v in decimal, zero-padded to width digits. */
MONITOR_HOT static char *put_digits(char *p, uint64_t v, int width)
{
  char tmp[20];
  int n = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  while (n < width)
    tmp[n++] = '0';
  while (n > 0)
    *p++ = tmp[--n];
  return p;
}

/* "%04d-%02d-%02dT%02d:%02d:%02d.%09ld%c%02ld:%02ld" of the local clock and its offset. */
MONITOR_HOT static size_t format_local(int64_t local, long nsec, long gmtoff, char *buf,
                                       size_t size)
{
  int64_t days = local / DAY - (local % DAY < 0);
  int64_t sod = local - days * DAY, year;
  unsigned mon, mday;
  civil_from_days(days, &year, &mon, &mday);
  char tmp[MONITOR_LOG_TIME_MAX], *p = tmp;
  if (year < 0)
    *p++ = '-';
  p = put_digits(p, (uint64_t)(year < 0 ? -year : year), year < 0 ? 3 : 4);
  *p++ = '-';
  p = put_digits(p, mon, 2);
  *p++ = '-';
  p = put_digits(p, mday, 2);
  *p++ = 'T';
  p = put_digits(p, (uint64_t)(sod / 3600), 2);
  *p++ = ':';
  p = put_digits(p, (uint64_t)(sod / 60 % 60), 2);
  *p++ = ':';
  p = put_digits(p, (uint64_t)(sod % 60), 2);
  *p++ = '.';
  p = put_digits(p, (uint64_t)nsec, 9);
  *p++ = gmtoff < 0 ? '-' : '+';
  long off = gmtoff < 0 ? -gmtoff : gmtoff;
  p = put_digits(p, (uint64_t)(off / 3600), 2);
  *p++ = ':';
  p = put_digits(p, (uint64_t)(off % 3600 / 60), 2);
  size_t n = (size_t)(p - tmp);
  if (n >= size)
    return 0;
  memcpy(buf, tmp, n);
  buf[n] = '\0';
  return n;
}

/* localtime_r() of t as the clock's shift and offset. */
static bool lookup(int64_t t, int64_t *shift, long *gmtoff)
{
  time_t secs = (time_t)t;
  struct tm tm;
  if (!localtime_r(&secs, &tm))
    return false;
  int64_t local =
      days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
          DAY +
      tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  *shift = local - t;
  *gmtoff = tm.tm_gmtoff;
  return true;
}

static bool same_at(int64_t t, const monitor_log_clock_t *c)
{
  int64_t shift;
  long gmtoff;
  return lookup(t, &shift, &gmtoff) && shift == c->shift && gmtoff == c->gmtoff;
}

/* c for t and the hour ahead: up to the first second that differs, found by bisection when
 * the end of the hour differs. */
static bool clock_fill(monitor_log_clock_t *c, int64_t t)
{
  *c = (monitor_log_clock_t){.fills = c->fills + 1};
  if (!lookup(t, &c->shift, &c->gmtoff))
    return false;
  int64_t same = t, other = t + MONITOR_LOG_CLOCK_HOLD;
  if (!same_at(other, c))
    while (other - same > 1) {
      int64_t mid = same + (other - same) / 2;
      if (same_at(mid, c))
        same = mid;
      else
        other = mid;
    }
  c->from = t, c->until = other;
  return true;
}

size_t monitor_log_format_time(const struct timespec *ts, char *buf, size_t size)
{
  int64_t shift;
  long gmtoff;
  if (!lookup(ts->tv_sec, &shift, &gmtoff))
    return 0;
  return format_local(ts->tv_sec + shift, ts->tv_nsec, gmtoff, buf, size);
}

MONITOR_HOT size_t monitor_log_clock_format(monitor_log_clock_t *c, const struct timespec *ts,
                                            char *buf, size_t size)
{
  if ((ts->tv_sec < c->from || ts->tv_sec >= c->until) && !clock_fill(c, ts->tv_sec))
    return 0;
  return format_local(ts->tv_sec + c->shift, ts->tv_nsec, c->gmtoff, buf, size);
}

/* Both line buffers in one private anonymous mapping: no page of it is resident before a
 * line uses it (a heap chunk would touch its neighbours' pages). */
static int map_buffers(monitor_log_t *l, mascri_error_t *err)
{
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t stride = (l->max_line + page - 1) / page * page;
  char *map = mmap(NULL, 2 * stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return mascri_make_error(err, errno, "map the log's line buffers");
  l->map_len = 2 * stride;
  l->lines[0].buf = map;
  l->lines[1].buf = map + stride;
  return 0;
}

/* The log's directory is the pod's, which a container may see through a hostPath: a
 * symlink planted as the log file must not send root's writes elsewhere (O_NOFOLLOW; the
 * directories on the way were checked by mascrid, ctr-create.c). */
int monitor_log_open(monitor_log_t *l, const char *path, size_t max_line, mascri_error_t *err)
{
  *l = (monitor_log_t){.fd = -1, .path = path, .max_line = max_line};
  tzset(); /* the zone is read now, not at the first record */
  l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
  if (l->fd < 0)
    return mascri_make_error(err, errno, "open the container log %s", path);
  return map_buffers(l, err);
}

int monitor_log_reopen(monitor_log_t *l, mascri_error_t *err)
{
  int fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
  if (fd < 0)
    return mascri_make_error(err, errno, "reopen the container log %s", l->path);
  if (l->fd >= 0)
    close(l->fd);
  l->fd = fd;
  return 0;
}

/* Writes all of iov; a failing log (disk full, ...) drops the record. */
MONITOR_HOT static void write_iov(int fd, struct iovec *iov, int n)
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

MONITOR_HOT static void emit(monitor_log_t *l, monitor_stream_t s, bool partial, const char *data,
                             size_t len, const struct timespec *now)
{
  struct timespec ts;
  if (!now) {
    clock_gettime(CLOCK_REALTIME, &ts);
    now = &ts;
  }
  char prefix[MONITOR_LOG_TIME_MAX + 16];
  size_t n = monitor_log_clock_format(&l->clock, now, prefix, MONITOR_LOG_TIME_MAX);
  memcpy(prefix + n, s == MONITOR_STDOUT ? " stdout " : " stderr ", 8);
  prefix[n + 8] = partial ? 'P' : 'F';
  prefix[n + 9] = ' ';
  char nl = '\n'; /* not a literal: writev() would read its read-only page */
  struct iovec iov[3] = {
      {.iov_base = prefix, .iov_len = n + 10},
      {.iov_base = (void *)data, .iov_len = len},
      {.iov_base = &nl, .iov_len = 1},
  };
  if (l->fd >= 0)
    write_iov(l->fd, iov, 3);
}

/* Appends up to the line's room; returns how much it took. */
MONITOR_HOT static size_t buffer_append(monitor_log_t *l, monitor_log_line_t *line,
                                        const char *data, size_t len)
{
  size_t take = len < l->max_line - line->len ? len : l->max_line - line->len;
  memcpy(line->buf + line->len, data, take);
  line->len += take;
  return take;
}

MONITOR_HOT void monitor_log_write(monitor_log_t *l, monitor_stream_t s, const char *data,
                                   size_t len, const struct timespec *now)
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

void monitor_log_warm(monitor_log_t *l)
{
  char buf[8];
  monitor_log_t scratch = {
      .fd = -1, .max_line = sizeof(buf), .lines = {{.buf = buf}}, .clock = l->clock};
  char text[2] = {'w', '\n'}; /* on the stack: no read-only page of the warm-up's own */
  monitor_log_write(&scratch, MONITOR_STDOUT, text, 1, NULL);     /* buffered: memcpy */
  monitor_log_write(&scratch, MONITOR_STDOUT, text + 1, 1, NULL); /* memchr, the clock */
  struct iovec iov = {.iov_base = buf, .iov_len = 0};
  write_iov(-1, &iov, 1); /* writev, which fails at once (EBADF) */
  l->clock = scratch.clock;
}

void monitor_log_release(monitor_log_t *l)
{
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < 2; i++) {
    const monitor_log_line_t *line = &l->lines[i];
    if (!line->buf)
      continue;
    uintptr_t start = ((uintptr_t)line->buf + line->len + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)line->buf + l->max_line) & ~(page - 1);
    if (end > start)
      madvise((void *)start, end - start, MADV_DONTNEED);
  }
}

void monitor_log_close(monitor_log_t *l)
{
  if (l->fd >= 0)
    close(l->fd);
  l->fd = -1;
  if (l->lines[0].buf)
    munmap(l->lines[0].buf, l->map_len);
  for (int i = 0; i < 2; i++)
    l->lines[i] = (monitor_log_line_t){0};
  l->map_len = 0;
}
