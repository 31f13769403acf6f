/* One small logger: levels and a pluggable sink (text or JSON lines to stderr or a
 * file, or journald). Its configuration is the process's one logging state, set once
 * by main() before any thread starts; everything else is passed down explicitly. */
#ifndef MASCRI_COMMON_LOG_H
#define MASCRI_COMMON_LOG_H

#include "common/error.h"

typedef enum {
  MASCRI_LOG_ERROR = 0,
  MASCRI_LOG_WARNING,
  MASCRI_LOG_INFO,
  MASCRI_LOG_DEBUG,
} mascri_log_level_t;

typedef enum {
  MASCRI_LOG_FORMAT_TEXT = 0,
  MASCRI_LOG_FORMAT_JSON,
} mascri_log_format_t;

typedef void (*mascri_log_sink_fn)(void *data, mascri_log_level_t level, const char *msg);

/* Parses "error", "warning"/"warn", "info", "debug"; returns -1 on anything else. */
int mascri_log_parse_level(const char *name);
const char *mascri_log_level_name(mascri_log_level_t level);

void mascri_log_set_level(mascri_log_level_t level);
mascri_log_level_t mascri_log_get_level(void);
void mascri_log_set_program(const char *name);
/* Writes to fd (default 2) in the given format. */
void mascri_log_to_fd(int fd, mascri_log_format_t format);
/* Opens (appending, O_CLOEXEC) path and writes there in the given format. */
int mascri_log_to_file(const char *path, mascri_log_format_t format, mascri_error_t *err);
void mascri_log_to_journald(void);
void mascri_log_to_sink(mascri_log_sink_fn fn, void *data);

void mascri_log(mascri_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs "<context>: <the error's message>" (context formatted like printf) and releases
 * the error: for errors a caller reports and goes on without. */
void mascri_log_error_release(mascri_log_level_t level, mascri_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) mascri_log(MASCRI_LOG_ERROR, __VA_ARGS__)
#define log_warning(...) mascri_log(MASCRI_LOG_WARNING, __VA_ARGS__)
#define log_info(...) mascri_log(MASCRI_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
  do {                                                                                             \
    if (mascri_log_get_level() >= MASCRI_LOG_DEBUG)                                                \
      mascri_log(MASCRI_LOG_DEBUG, __VA_ARGS__);                                                   \
  } while (0)

#endif
