#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fd-pass.h"

static int pair(void **state)
{
  static int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  *state = sv;
  return 0;
}

static int unpair(void **state)
{
  int *sv = *state;
  close(sv[0]);
  close(sv[1]);
  return 0;
}

/* Whether a and b are the same open file. */
static bool same_file(int a, int b)
{
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

static void passes_one_fd_cloexec(void **state)
{
  int *sv = *state;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(mascri_send_with_fd(sv[0], "hello", 5, p[0]), 5);
  char buf[16];
  int got = -2;
  assert_int_equal(mascri_recv_with_fd(sv[1], buf, sizeof(buf), &got), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_true(got >= 0);
  assert_true(got != p[0]);
  assert_true(same_file(got, p[0]));
  assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
  close(got);
  close(p[0]);
  close(p[1]);
}

static void no_fd_gives_minus_one(void **state)
{
  int *sv = *state;
  assert_int_equal(mascri_send_with_fd(sv[0], "x", 1, -1), 1);
  char buf[4];
  int got = 7;
  assert_int_equal(mascri_recv_with_fd(sv[1], buf, sizeof(buf), &got), 1);
  assert_int_equal(got, -1);
}

static void unwanted_fd_is_closed(void **state)
{
  int *sv = *state;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(mascri_send_with_fd(sv[0], "y", 1, p[1]), 1);
  close(p[1]);
  char buf[4];
  assert_int_equal(mascri_recv_with_fd(sv[1], buf, sizeof(buf), NULL), 1);
  /* The only write end left was the received copy: closed, so the read sees EOF. */
  char c;
  assert_int_equal(read(p[0], &c, 1), 0);
  close(p[0]);
}

static void end_of_stream_and_errors(void **state)
{
  int *sv = *state;
  char buf[4];
  int got = 7;
  shutdown(sv[0], SHUT_WR);
  assert_int_equal(mascri_recv_with_fd(sv[1], buf, sizeof(buf), &got), 0);
  assert_int_equal(got, -1);
  assert_int_equal(mascri_send_with_fd(-1, "z", 1, -1), -1);
  assert_int_equal(errno, EBADF);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(passes_one_fd_cloexec, pair, unpair),
      cmocka_unit_test_setup_teardown(no_fd_gives_minus_one, pair, unpair),
      cmocka_unit_test_setup_teardown(unwanted_fd_is_closed, pair, unpair),
      cmocka_unit_test_setup_teardown(end_of_stream_and_errors, pair, unpair),
  };
  return cmocka_run_group_tests_name("common-fd-pass", tests, NULL, NULL);
}
