/* Pseudo-terminals for containers. */
#include "runtime/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd-pass.h"
#include "runtime/mount-util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int terminal_open(int *master, int *slave, unsigned rows, unsigned cols, mascri_error_t *err)
{
  _cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return mascri_make_error(err, errno, "open /dev/ptmx");
  if (!fd_on_fs(m, DEVPTS_SUPER_MAGIC))
    return mascri_make_error(err, EPERM, "/dev/ptmx is not a devpts pty");
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
    return mascri_make_error(err, errno, "unlock the pty");
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    return mascri_make_error(err, errno, "open the pty peer");
  if (!fd_on_fs(s, DEVPTS_SUPER_MAGIC)) {
    close(s);
    return mascri_make_error(err, EPERM, "the pty peer is not on devpts");
  }
  if (rows && cols) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(s, TIOCSWINSZ, &ws);
  }
  *master = TAKE_FD(m);
  *slave = s;
  return 0;
}

int terminal_make_controlling(int slave, mascri_error_t *err)
{
  if (setsid() < 0 && errno != EPERM)
    return mascri_make_error(err, errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return mascri_make_error(err, errno, "set the controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0)
      return mascri_make_error(err, errno, "dup2 the terminal to %d", i);
  return 0;
}

int terminal_send_to_socket(const char *path, int master, mascri_error_t *err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "console socket path too long: %s", path);
  strcpy(addr.sun_path, path);
  _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return mascri_make_error(err, errno, "socket");
  if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    return mascri_make_error(err, errno, "connect to the console socket %s", path);
  static const char name[] = "/dev/ptmx";
  if (mascri_send_with_fd(sock, name, sizeof(name) - 1, master) < 0)
    return mascri_make_error(err, errno, "send the pty to the console socket");
  return 0;
}
