/* common/sd-listen.c: sockets passed for this pid are counted and made close-on-exec, the
 * variables are unset either way, and a listening unix stream socket is told apart. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sd-listen.h"

static void set_env(const char *pid, const char *fds)
{
  setenv("LISTEN_PID", pid, 1);
  setenv("LISTEN_FDS", fds, 1);
  setenv("LISTEN_FDNAMES", "mascri.socket", 1);
}

static void assert_env_unset(void)
{
  assert_null(getenv("LISTEN_PID"));
  assert_null(getenv("LISTEN_FDS"));
  assert_null(getenv("LISTEN_FDNAMES"));
}

/* A listening unix socket at fd 3 without FD_CLOEXEC, as systemd passes it. */
static void passed_socket_at_3(void)
{
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(s >= 0);
  struct sockaddr sa = {.sa_family = AF_UNIX};
  assert_int_equal(bind(s, &sa, sizeof(sa_family_t)), 0); /* an autobound abstract name */
  assert_int_equal(listen(s, 1), 0);
  assert_int_equal(dup2(s, 3), 3);
  if (s != 3)
    close(s);
}

static void test_passed_for_us(void **state)
{
  (void)state;
  passed_socket_at_3();
  char pid[32];
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  set_env(pid, "1");
  assert_int_equal(mascri_sd_listen_fds(), 1);
  assert_env_unset();
  assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(mascri_sd_is_listening_unix(3), 1);
  close(3);
}

static void test_not_for_us(void **state)
{
  (void)state;
  set_env("1", "1");
  assert_int_equal(mascri_sd_listen_fds(), 0);
  assert_env_unset();
  assert_int_equal(mascri_sd_listen_fds(), 0); /* nothing set */
}

static void test_malformed(void **state)
{
  (void)state;
  char pid[32];
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  set_env(pid, "x");
  assert_int_equal(mascri_sd_listen_fds(), -EINVAL);
  assert_env_unset();
  set_env("-1", "1");
  assert_int_equal(mascri_sd_listen_fds(), -EINVAL);
  close(3);
  set_env(pid, "1"); /* fd 3 is closed */
  assert_true(mascri_sd_listen_fds() < 0);
}

static void test_is_listening_unix(void **state)
{
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(mascri_sd_is_listening_unix(sv[0]), 0); /* connected, not listening */
  int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
  assert_int_equal(mascri_sd_is_listening_unix(dg), 0);
  int fd = open("/dev/null", O_RDONLY);
  assert_int_equal(mascri_sd_is_listening_unix(fd), 0);
  close(sv[0]);
  close(sv[1]);
  close(dg);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_passed_for_us),
      cmocka_unit_test(test_not_for_us),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_is_listening_unix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
