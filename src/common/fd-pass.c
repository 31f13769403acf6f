#include "common/fd-pass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for one descriptor, aligned for a cmsghdr. */
union fd_control {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
};

ssize_t mascri_send_with_fd(int sock, const void *data, size_t len, int fd)
{
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  union fd_control ctrl;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&ctrl, 0, sizeof(ctrl));
    msg.msg_control = ctrl.buf;
    msg.msg_controllen = sizeof(ctrl.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

/* Keeps the first passed descriptor in *fd (when asked for) and closes the rest. */
static void take_fds(struct msghdr *msg, int *fd)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (fd && *fd < 0)
        *fd = got;
      else
        close(got);
    }
  }
}

ssize_t mascri_recv_with_fd(int sock, void *buf, size_t size, int *fd)
{
  struct iovec iov = {.iov_base = buf, .iov_len = size};
  union fd_control ctrl;
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctrl.buf,
                       .msg_controllen = sizeof(ctrl.buf)};
  if (fd)
    *fd = -1;
  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  take_fds(&msg, fd);
  return n;
}
