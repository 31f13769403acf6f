/* mascri-monitor's reports: the error line, exit codes, the exit file, control answers
 * (and one real control socket round trip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "sandbox/monitor/monitor-ctl.h"
#include "sandbox/monitor/monitor-status.h"

static void error_line_has_the_kind_token(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  char line[128];
  mascri_make_error_kind(&err, MASCRI_ERR_INVALID_ARGUMENT, 0, "bad\nspec");
  size_t len = monitor_format_error_line(&err, line, sizeof(line));
  assert_int_equal(len, strlen(line));
  assert_string_equal(line, "error INVALID_ARGUMENT bad spec\n");
  mascri_make_error_kind(&err, MASCRI_ERR_DEADLINE, 0, "slow");
  monitor_format_error_line(&err, line, sizeof(line));
  assert_string_equal(line, "error DEADLINE_EXCEEDED slow\n");
  mascri_make_error(&err, ENOENT, "open x");
  monitor_format_error_line(&err, line, sizeof(line));
  assert_string_equal(line, "error INTERNAL open x: No such file or directory\n");
  char small[16]; /* truncated, still one line */
  monitor_format_error_line(&err, small, sizeof(small));
  assert_int_equal(strlen(small), sizeof(small) - 1);
  assert_int_equal(small[sizeof(small) - 2], '\n');
}

static void exit_codes(void **state)
{
  int sig = -1;
  assert_int_equal(monitor_exit_code(W_EXITCODE(3, 0), &sig), 3);
  assert_int_equal(sig, 0);
  assert_int_equal(monitor_exit_code(W_EXITCODE(0, SIGKILL), &sig), 137);
  assert_int_equal(sig, SIGKILL);
  assert_int_equal(monitor_exit_code(W_EXITCODE(0, SIGTERM), &sig), 143);
  assert_int_equal(sig, SIGTERM);
}

static void exit_file_json(void **state)
{
  char buf[160];
  monitor_format_exit_file(137, 9, 1795372200123456789LL, true, buf, sizeof(buf));
  assert_string_equal(
      buf,
      "{\"exit_code\":137,\"signal\":9,\"finished_at\":1795372200123456789,\"oom_killed\":true}");
  char dir[] = "/tmp/mascri-test-monexit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *path = mascri_path_join(dir, "exit");
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(monitor_write_exit_file(path, W_EXITCODE(2, 0), 5, false, &err), 0);
  _cleanup_free_ char *got = NULL;
  size_t len = 0;
  assert_int_equal(mascri_read_file(path, &got, &len, &err), 0);
  assert_string_equal(got,
                      "{\"exit_code\":2,\"signal\":0,\"finished_at\":5,\"oom_killed\":false}\n");
  mascri_rm_rf(dir, &err);
}

static int fake_reopen(void *data, mascri_error_t *err)
{
  int *calls = data;
  if (++*calls > 1)
    return mascri_make_error(err, EACCES, "reopen /x.log");
  return 0;
}

static void control_answers(void **state)
{
  int calls = 0;
  monitor_ctl_handler_t h = {
      .monitor_pid = 10, .init_pid = 20, .reopen = fake_reopen, .data = &calls};
  char reply[128];
  monitor_ctl_answer(&h, "ping", 4, reply, sizeof(reply));
  assert_string_equal(reply, "ok 10 20");
  monitor_ctl_answer(&h, "ping\n", 5, reply, sizeof(reply));
  assert_string_equal(reply, "ok 10 20");
  monitor_ctl_answer(&h, "reopen", 6, reply, sizeof(reply));
  assert_string_equal(reply, "ok");
  monitor_ctl_answer(&h, "reopen", 6, reply, sizeof(reply));
  assert_string_equal(reply, "error reopen /x.log: Permission denied");
  monitor_ctl_answer(&h, "pingx", 5, reply, sizeof(reply));
  assert_string_equal(reply, "error unknown request");
  monitor_ctl_answer(&h, "pin", 3, reply, sizeof(reply));
  assert_string_equal(reply, "error unknown request");
  assert_int_equal(calls, 2);
}

static void control_socket_round_trip(void **state)
{
  char dir[] = "/tmp/mascri-test-monctl-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *sockdir = mascri_path_join(dir, "mon");
  _cleanup_error_ mascri_error_t err = NULL;
  int lfd = -1;
  assert_int_equal(monitor_ctl_listen(sockdir, &lfd, &err), 0);
  struct stat st;
  assert_int_equal(stat(sockdir, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);
  int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/ctl", sockdir);
  assert_int_equal(connect(c, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(send(c, "ping", 4, 0), 4);
  monitor_ctl_handler_t h = {.monitor_pid = 1, .init_pid = 2, .reopen = fake_reopen};
  monitor_ctl_serve(lfd, &h);
  char reply[64] = {0};
  assert_int_equal(recv(c, reply, sizeof(reply) - 1, 0), 6);
  assert_string_equal(reply, "ok 1 2");
  close(c);
  close(lfd);
  monitor_ctl_remove(sockdir);
  assert_false(mascri_path_exists(sockdir));
  mascri_rm_rf(dir, &err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_line_has_the_kind_token),
      cmocka_unit_test(exit_codes),
      cmocka_unit_test(exit_file_json),
      cmocka_unit_test(control_answers),
      cmocka_unit_test(control_socket_round_trip),
  };
  return cmocka_run_group_tests_name("sandbox-monitor-status", tests, NULL, NULL);
}
