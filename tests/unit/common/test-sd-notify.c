/* common/sd-notify.c: the datagram reaches a socket named by NOTIFY_SOCKET (path and
 * abstract forms); nothing is sent without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sd-notify.h"

static int bind_dgram(const char *name, bool abstract)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  memcpy(sa.sun_path + (abstract ? 1 : 0), name, n);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
  return fd;
}

static void expect_message(int fd, const char *want)
{
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, want);
}

static void test_path_socket(void **state)
{
  (void)state;
  char dir[] = "/tmp/mascri-notify-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/notify", dir);
  int fd = bind_dgram(path, false);
  setenv("NOTIFY_SOCKET", path, 1);
  assert_int_equal(mascri_sd_notify("READY=1\nSTATUS=x"), 1);
  expect_message(fd, "READY=1\nSTATUS=x");
  close(fd);
  unlink(path);
  rmdir(dir);
  unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
  (void)state;
  char name[64];
  snprintf(name, sizeof(name), "mascri-notify-test-%d", (int)getpid());
  int fd = bind_dgram(name, true);
  char env[80];
  snprintf(env, sizeof(env), "@%s", name);
  setenv("NOTIFY_SOCKET", env, 1);
  assert_int_equal(mascri_sd_notify("STOPPING=1"), 1);
  expect_message(fd, "STOPPING=1");
  close(fd);
  unsetenv("NOTIFY_SOCKET");
}

static void test_unset_and_bad(void **state)
{
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  assert_int_equal(mascri_sd_notify("READY=1"), 0);
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  assert_true(mascri_sd_notify("READY=1") < 0);
  unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_socket),
      cmocka_unit_test(test_abstract_socket),
      cmocka_unit_test(test_unset_and_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
