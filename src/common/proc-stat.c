#include "common/proc-stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

enum { FIELD_STATE = 3, FIELD_START_TIME = 22 };

int mascri_proc_stat_parse(const char *text, mascri_proc_stat_t *out)
{
  const char *p = strrchr(text, ')');
  if (!p || p[1] != ' ' || p[2] == '\0') {
    errno = EINVAL;
    return -1;
  }
  p += 2; /* at field 3 */
  char state = *p;
  for (int field = FIELD_STATE; field < FIELD_START_TIME; field++) {
    p = strchr(p, ' ');
    if (!p) {
      errno = EINVAL;
      return -1;
    }
    p++;
  }
  char *end = NULL;
  errno = 0;
  unsigned long long start = strtoull(p, &end, 10);
  if (end == p || errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0')) {
    errno = EINVAL;
    return -1;
  }
  out->state = state;
  out->start_time = start;
  return 0;
}

int mascri_proc_stat_read(pid_t pid, mascri_proc_stat_t *out)
{
  /* 1024 bytes hold the line up to well past field 22 (the comm is at most 64 bytes). */
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n;
  do
    n = read(fd, buf, sizeof(buf) - 1);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  if (n == 0) {
    errno = EINVAL;
    return -1;
  }
  buf[n] = '\0';
  return mascri_proc_stat_parse(buf, out);
}

bool mascri_proc_state_exited(char state)
{
  return state == 'Z' || state == 'X';
}
