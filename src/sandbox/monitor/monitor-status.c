/* The lines and files mascri-monitor reports through (monitor-status.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "sandbox/monitor/monitor-status.h"

size_t monitor_format_error_line(const mascri_error_t *err, char *buf, size_t size)
{
  if (size < 2)
    return 0;
  const char *kind = mascri_error_kind_name(mascri_error_kind(err));
  const char *msg = err && *err ? mascri_error_message(err) : "failed";
  int n = snprintf(buf, size - 1, "error %s %s", kind, msg ? msg : "failed");
  size_t len = n < 0 ? 0 : (size_t)n < size - 1 ? (size_t)n : size - 2;
  size_t kind_end = 6 + strlen(kind);
  for (size_t i = 6; i < len; i++) {
    if (i < kind_end)
      buf[i] = buf[i] == ' '                      ? '_'
               : (buf[i] >= 'a' && buf[i] <= 'z') ? (char)(buf[i] - 32)
                                                  : buf[i];
    else if (buf[i] == '\n' || buf[i] == '\r')
      buf[i] = ' ';
  }
  buf[len++] = '\n';
  buf[len] = '\0';
  return len;
}

int monitor_exit_code(int wait_status, int *sig)
{
  *sig = 0;
  if (WIFEXITED(wait_status))
    return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) {
    *sig = WTERMSIG(wait_status);
    return 128 + *sig;
  }
  return 255;
}

size_t monitor_format_exit_file(int exit_code, int sig, int64_t finished_at_ns, bool oom_killed,
                                char *buf, size_t size)
{
  int n =
      snprintf(buf, size, "{\"exit_code\":%d,\"signal\":%d,\"finished_at\":%lld,\"oom_killed\":%s}",
               exit_code, sig, (long long)finished_at_ns, oom_killed ? "true" : "false");
  return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

int monitor_write_exit_file(const char *path, int wait_status, int64_t finished_at_ns,
                            bool oom_killed, mascri_error_t *err)
{
  int sig = 0;
  int code = monitor_exit_code(wait_status, &sig);
  char buf[160];
  size_t len =
      monitor_format_exit_file(code, sig, finished_at_ns, oom_killed, buf, sizeof(buf) - 1);
  buf[len++] = '\n';
  return mascri_write_file_atomic(path, buf, len, 0644, err);
}

void monitor_write_line(int fd, const char *line, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, line, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    line += n;
    len -= (size_t)n;
  }
}
