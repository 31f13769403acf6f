#include "common/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/xalloc.h"

/* Weak: binaries linked without libsystemd (-Wl,--as-needed, e.g. `mascri`) log to
 * their fd instead of journald. */
#pragma weak sd_journal_print_with_location

/* The process's one logging state (see log.h): written by main() before threads start. */
static struct {
  mascri_log_level_t level;
  mascri_log_format_t format;
  int fd;
  int own_fd;
  int journald;
  const char *program;
  mascri_log_sink_fn sink;
  void *sink_data;
} log_state = {MASCRI_LOG_INFO, MASCRI_LOG_FORMAT_TEXT, 2, 0, 0, "mascri", NULL, NULL};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int mascri_log_parse_level(const char *name)
{
  if (name == NULL)
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
    if (strcmp(name, level_names[i]) == 0)
      return (int)i;
  if (strcmp(name, "warn") == 0)
    return MASCRI_LOG_WARNING;
  return -1;
}

const char *mascri_log_level_name(mascri_log_level_t level)
{
  return (unsigned)level < ARRAY_SIZE(level_names) ? level_names[level] : "info";
}

void mascri_log_set_level(mascri_log_level_t level)
{
  log_state.level = level;
}

mascri_log_level_t mascri_log_get_level(void)
{
  return log_state.level;
}

void mascri_log_set_program(const char *name)
{
  log_state.program = name;
}

static void reset_target(void)
{
  if (log_state.own_fd && log_state.fd >= 0)
    close(log_state.fd);
  log_state.fd = 2;
  log_state.own_fd = 0;
  log_state.journald = 0;
  log_state.sink = NULL;
}

void mascri_log_to_fd(int fd, mascri_log_format_t format)
{
  reset_target();
  log_state.fd = fd;
  log_state.format = format;
}

int mascri_log_to_file(const char *path, mascri_log_format_t format, mascri_error_t *err)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0)
    return mascri_make_error(err, errno, "open log file `%s`", path);
  reset_target();
  log_state.fd = fd;
  log_state.own_fd = 1;
  log_state.format = format;
  return 0;
}

void mascri_log_to_journald(void)
{
  reset_target();
  log_state.journald = 1;
}

void mascri_log_to_sink(mascri_log_sink_fn fn, void *data)
{
  reset_target();
  log_state.sink = fn;
  log_state.sink_data = data;
}

static void format_time(char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static void write_all_fd(int fd, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    buf += w;
    len -= (size_t)w;
  }
}

static void emit_json(mascri_log_level_t level, const char *msg, const char *when)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(0);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "level", level_names[level]);
  mascri_json_gen_kv_string(g, "msg", msg);
  mascri_json_gen_kv_string(g, "time", when);
  yajl_gen_map_close(g);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf(g, &buf, &len);
  _cleanup_free_ char *line = xasprintf("%.*s\n", (int)len, (const char *)buf);
  write_all_fd(log_state.fd, line, strlen(line));
}

static void emit(mascri_log_level_t level, const char *msg)
{
  int saved = errno;
  if (log_state.sink) {
    log_state.sink(log_state.sink_data, level, msg);
  } else if (log_state.journald && sd_journal_print_with_location) {
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    sd_journal_print(prio[level], "%s", msg);
  } else {
    char when[64];
    format_time(when, sizeof(when));
    if (log_state.format == MASCRI_LOG_FORMAT_JSON) {
      emit_json(level, msg, when);
    } else {
      _cleanup_free_ char *line = xasprintf("%s %s[%d]: %s: %s\n", when, log_state.program,
                                            (int)getpid(), level_names[level], msg);
      write_all_fd(log_state.fd, line, strlen(line));
    }
  }
  errno = saved;
}

void mascri_log(mascri_log_level_t level, const char *fmt, ...)
{
  if (level > log_state.level)
    return;
  _cleanup_free_ char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (r < 0)
    return;
  emit(level, msg);
}

void mascri_log_error_release(mascri_log_level_t level, mascri_error_t *err, const char *fmt, ...)
{
  _cleanup_free_ char *ctx = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end(ap);
  mascri_log(level, "%s: %s", ctx ? ctx : "error", mascri_error_message(err));
  mascri_error_release(err);
}
