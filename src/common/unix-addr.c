/* Unix socket addresses through a directory fd when the path is too long (unix-addr.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unix-addr.h"

int mascri_unix_addr(const char *dir, const char *name, struct sockaddr_un *addr, int *dirfd,
                     mascri_error_t *err)
{
  *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
  *dirfd = -1;
  int n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", dir, name);
  if (n >= 0 && (size_t)n < sizeof(addr->sun_path))
    return 0;
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mascri_make_error(err, errno, "open %s", dir);
  n = snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", fd, name);
  if (n < 0 || (size_t)n >= sizeof(addr->sun_path)) {
    close(fd);
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, ENAMETOOLONG, "socket name %s",
                                  name);
  }
  *dirfd = fd;
  return 0;
}
