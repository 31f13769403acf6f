/* mascri_netns_tcp_connect (stream-port.c): localhost in the caller's namespace and in
 * another one (made by a child with unshare, its loopback up; root only, else skipped),
 * refused ports keep ECONNREFUSED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/stream-internal.h"

/* A listening socket on 127.0.0.1 (port 0: any); returns it and sets *port. */
static int listen_v4(uint16_t *port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 4) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0)
    return -1;
  *port = ntohs(a.sin_port);
  return fd;
}

static void host_namespace(void **state)
{
  (void)state;
  _cleanup_error_ mascri_error_t err = NULL;
  uint16_t port = 0;
  _cleanup_close_ int l = listen_v4(&port);
  assert_true(l >= 0);
  _cleanup_close_ int fd = mascri_netns_tcp_connect(NULL, port, 2000, &err);
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  _cleanup_close_ int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  assert_true(c >= 0);
  assert_int_equal(write(c, "hi", 2), 2);
  char buf[4] = "";
  struct pollfd p = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 2000), 1);
  assert_int_equal(read(fd, buf, sizeof(buf)), 2);
  assert_memory_equal(buf, "hi", 2);
  /* nothing listens any more */
  close(l);
  l = -1;
  assert_true(mascri_netns_tcp_connect(NULL, port, 2000, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_UNAVAILABLE);
  assert_int_equal(err->errnum, ECONNREFUSED);
  assert_true(mascri_netns_tcp_connect(NULL, 0, 2000, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

static void loopback_up(void)
{
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  ioctl(s, SIOCGIFFLAGS, &ifr);
  ifr.ifr_flags |= IFF_UP;
  ioctl(s, SIOCSIFFLAGS, &ifr);
  close(s);
}

static void other_namespace(void **state)
{
  (void)state;
  if (geteuid() != 0)
    skip();
  int ready[2];
  assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
  uint16_t port = 0;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* a server alone in its namespace, on a port the host does not serve */
    if (unshare(CLONE_NEWNET) < 0)
      _exit(1);
    loopback_up();
    int l = listen_v4(&port);
    (void)!write(ready[1], &port, sizeof(port));
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    (void)!write(c, "ns", 2);
    pause();
    _exit(0);
  }
  close(ready[1]);
  assert_int_equal(read(ready[0], &port, sizeof(port)), sizeof(port));
  close(ready[0]);
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_close_ int fd = mascri_netns_tcp_connect(path, port, 2000, &err);
  assert_true(fd >= 0);
  char buf[4] = "";
  struct pollfd p = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 2000), 1);
  assert_int_equal(read(fd, buf, sizeof(buf)), 2);
  assert_memory_equal(buf, "ns", 2);
  /* the caller's thread stayed in its own namespace: the port is not served here */
  _cleanup_close_ int host = mascri_netns_tcp_connect(NULL, port, 2000, &err);
  assert_true(host < 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  assert_true(mascri_netns_tcp_connect("/no/such/ns", port, 2000, &err) < 0);
  assert_int_equal(err->errnum, ENOENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(host_namespace),
      cmocka_unit_test(other_namespace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
