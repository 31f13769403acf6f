#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netns/exec.h"

static void test_io_and_status(void **state)
{
  char *argv[] = {"sh", "-c", "cat; echo oops >&2; exit 3", NULL};
  struct mascri_exec_result res;
  mascri_error_t err = NULL;
  const char *input = "{\"cniVersion\":\"1.0.0\"}";
  assert_int_equal(mascri_exec("/bin/sh", argv, NULL, input, strlen(input), 5000, &res, &err), 0);
  assert_int_equal(res.status, 3);
  assert_string_equal(res.out, input);
  assert_string_equal(res.errout, "oops\n");
  mascri_exec_result_clear(&res);
}

static void test_environment(void **state)
{
  char *argv[] = {"sh", "-c", "printf %s \"$CNI_COMMAND\"", NULL};
  char *envp[] = {"CNI_COMMAND=VERSION", NULL};
  struct mascri_exec_result res;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_exec("/bin/sh", argv, envp, NULL, 0, 5000, &res, &err), 0);
  assert_int_equal(res.status, 0);
  assert_string_equal(res.out, "VERSION");
  mascri_exec_result_clear(&res);
}

static void test_large_output_and_unread_input(void **state)
{
  /* The child ignores stdin and writes more than a pipe holds: no deadlock, no SIGPIPE. */
  char *argv[] = {"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x", NULL};
  static char input[200000];
  memset(input, 'y', sizeof(input));
  struct mascri_exec_result res;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_exec("/bin/sh", argv, NULL, input, sizeof(input), 10000, &res, &err), 0);
  assert_int_equal(res.status, 0);
  assert_int_equal(strlen(res.out), 300000);
  mascri_exec_result_clear(&res);
}

static void test_timeout_kills(void **state)
{
  char *argv[] = {"sleep", "10", NULL};
  struct mascri_exec_result res;
  mascri_error_t err = NULL;
  assert_true(mascri_exec("/bin/sleep", argv, NULL, NULL, 0, 200, &res, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_DEADLINE);
  assert_non_null(strstr(mascri_error_message(&err), "timed out"));
  mascri_error_release(&err);
}

static void test_timeout_kills_the_whole_group(void **state)
{
  /* The helper's own child must not outlive the timeout either. */
  char *argv[] = {"sh", "-c", "sleep 30 & echo $! > /tmp/mascri-test-exec-child; wait", NULL};
  struct mascri_exec_result res;
  mascri_error_t err = NULL;
  assert_true(mascri_exec("/bin/sh", argv, NULL, NULL, 0, 300, &res, &err) < 0);
  mascri_error_release(&err);
  FILE *f = fopen("/tmp/mascri-test-exec-child", "r");
  assert_non_null(f);
  int pid = 0;
  assert_int_equal(fscanf(f, "%d", &pid), 1);
  fclose(f);
  unlink("/tmp/mascri-test-exec-child");
  /* Killed (and reaped by init or a zombie until then): not running sleep any more. */
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  for (int i = 0; i < 100; i++) {
    FILE *st = fopen(path, "r");
    if (st == NULL)
      return;
    char state = '?';
    int n = fscanf(st, "%*d %*s %c", &state);
    fclose(st);
    if (n == 1 && state == 'Z')
      return;
    usleep(10000);
  }
  fail_msg("child %d of the timed out helper is still running", pid);
}

static void test_missing_program(void **state)
{
  char *argv[] = {"nope", NULL};
  struct mascri_exec_result res;
  mascri_error_t err = NULL;
  assert_true(mascri_exec("/nonexistent/nope", argv, NULL, NULL, 0, 1000, &res, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "/nonexistent/nope"));
  mascri_error_release(&err);
}

/* The kept fd is open in the helper and in what the helper starts (a lock it shares), and
 * not in a helper run without it. */
static void test_kept_fd_reaches_the_helpers_children(void **state)
{
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  char *argv[] = {"sh", "-c", "sh -c 'echo kept >&3' 2>/dev/null", NULL};
  struct mascri_exec_result res;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_exec("/bin/sh", argv, NULL, NULL, 0, 5000, &res, &err), 0);
  mascri_exec_result_clear(&res);
  assert_int_equal(mascri_exec_keeping(fds[1], "/bin/sh", argv, NULL, NULL, 0, 5000, &res, &err),
                   0);
  assert_int_equal(res.status, 0);
  mascri_exec_result_clear(&res);
  close(fds[1]);
  char buf[16] = "";
  assert_int_equal(read(fds[0], buf, sizeof(buf) - 1), 5);
  assert_string_equal(buf, "kept\n");
  close(fds[0]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_io_and_status),
      cmocka_unit_test(test_environment),
      cmocka_unit_test(test_large_output_and_unread_input),
      cmocka_unit_test(test_timeout_kills),
      cmocka_unit_test(test_timeout_kills_the_whole_group),
      cmocka_unit_test(test_missing_program),
      cmocka_unit_test(test_kept_fd_reaches_the_helpers_children),
  };
  return cmocka_run_group_tests_name("netns-exec", tests, NULL, NULL);
}
