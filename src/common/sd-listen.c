#include "common/sd-listen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_uint(const char *s, unsigned long *out)
{
  if (s == NULL || *s < '0' || *s > '9')
    return -EINVAL;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end)
    return -EINVAL;
  *out = v;
  return 0;
}

static int parse_env(void)
{
  const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
  if (pid_s == NULL || fds_s == NULL)
    return 0;
  unsigned long pid, n;
  if (parse_uint(pid_s, &pid) < 0 || parse_uint(fds_s, &n) < 0)
    return -EINVAL;
  if (pid != (unsigned long)getpid())
    return 0; /* meant for the process that exec()ed us */
  if (n > INT_MAX - MASCRI_SD_LISTEN_FDS_START)
    return -EINVAL;
  for (int fd = MASCRI_SD_LISTEN_FDS_START; fd < MASCRI_SD_LISTEN_FDS_START + (int)n; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
      return -errno; /* a count that names closed fds */
    if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
      return -errno;
  }
  return (int)n;
}

int mascri_sd_listen_fds(void)
{
  int r = parse_env();
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return r;
}

int mascri_sd_is_listening_unix(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
    return errno == ENOTSOCK ? 0 : -errno;
  int type = 0, accepting = 0;
  socklen_t l1 = sizeof(type), l2 = sizeof(accepting);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) < 0 ||
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &l2) < 0)
    return -errno;
  return ss.ss_family == AF_UNIX && type == SOCK_STREAM && accepting;
}
