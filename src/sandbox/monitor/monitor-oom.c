/* OOM kills: memory.events while the cgroup exists, the kernel log once it is gone. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/cgroup.h"
#include "sandbox/monitor/monitor-oom.h"

/* The longest record /dev/kmsg returns is about 1 KiB of text plus its dictionary; a read
 * into a smaller buffer fails with EINVAL. */
#define KMSG_RECORD_MAX 8192

int monitor_memory_events_oom(int fd)
{
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return mascri_cgroup_keyed_value(buf, "oom_kill") > 0 ? 1 : 0;
}

bool monitor_kmsg_record_kills(const char *rec, size_t len, pid_t pid, uint64_t since_us)
{
  char text[KMSG_RECORD_MAX];
  if (len >= sizeof(text))
    len = sizeof(text) - 1;
  memcpy(text, rec, len);
  text[len] = '\0';
  char *nl = strchr(text, '\n'); /* the continuation lines are the dictionary: not matched */
  if (nl)
    *nl = '\0';
  unsigned prio;
  uint64_t seq, usec;
  int off = 0;
  if (sscanf(text, "%u,%" SCNu64 ",%" SCNu64 ",%*[^;];%n", &prio, &seq, &usec, &off) < 3 ||
      off == 0 || usec < since_us)
    return false;
  char want[48];
  snprintf(want, sizeof(want), "Killed process %d (", (int)pid);
  return strstr(text + off, want) != NULL;
}

bool monitor_kmsg_oom_killed(const char *path, pid_t pid, uint64_t since_us)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return false;
  char rec[KMSG_RECORD_MAX];
  for (;;) {
    ssize_t n = read(fd, rec, sizeof(rec));
    if (n < 0 && errno == EPIPE) /* overwritten while read: the next one follows */
      continue;
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) /* EAGAIN: the end of the log */
      return false;
    if (monitor_kmsg_record_kills(rec, (size_t)n, pid, since_us))
      return true;
  }
}
