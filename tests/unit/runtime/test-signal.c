/* Whether a signal would reach a process: /proc/PID/status texts of a PID-namespace init
 * before and after it installs its handler, and this process itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <unistd.h>

#include "runtime/signal-ready.h"

/* SIGTERM is 15: bit 14 (0x4000); SIGUSR1 is 10: bit 9 (0x200). */
static const char fresh_init[] = "Name:\ttop\nNSpid:\t4242\t1\nSigIgn:\t0000000000000000\n"
                                 "SigCgt:\t0000000000000000\n";
static const char handled_init[] = "Name:\ttop\nNSpid:\t4242\t1\nSigIgn:\t0000000000000000\n"
                                   "SigCgt:\t0000000000004000\n";
static const char ignoring_init[] = "Name:\tx\nNSpid:\t4242\t1\nSigIgn:\t0000000000004000\n"
                                    "SigCgt:\t0000000000000200\n";
static const char plain[] = "Name:\tsleep\nNSpid:\t4243\t7\nSigIgn:\t0000000000000000\n"
                            "SigCgt:\t0000000000000000\n";
static const char host_pid[] = "Name:\tsleep\nNSpid:\t4243\nSigIgn:\t0000000000000000\n"
                               "SigCgt:\t0000000000000000\n";

static void init_without_handler_drops(void **state)
{
  (void)state;
  assert_int_equal(mascri_sig_reach_of_status(fresh_init, SIGTERM), MASCRI_SIG_DISCARDED);
  assert_int_equal(mascri_sig_reach_of_status(fresh_init, SIGUSR1), MASCRI_SIG_DISCARDED);
  /* SIGKILL and SIGSTOP always get through. */
  assert_int_equal(mascri_sig_reach_of_status(fresh_init, SIGKILL), MASCRI_SIG_DELIVERED);
  assert_int_equal(mascri_sig_reach_of_status(fresh_init, SIGSTOP), MASCRI_SIG_DELIVERED);
}

static void handler_or_ignore(void **state)
{
  (void)state;
  assert_int_equal(mascri_sig_reach_of_status(handled_init, SIGTERM), MASCRI_SIG_DELIVERED);
  assert_int_equal(mascri_sig_reach_of_status(handled_init, SIGUSR1), MASCRI_SIG_DISCARDED);
  assert_int_equal(mascri_sig_reach_of_status(ignoring_init, SIGTERM), MASCRI_SIG_IGNORED);
  assert_int_equal(mascri_sig_reach_of_status(ignoring_init, SIGUSR1), MASCRI_SIG_DELIVERED);
}

static void not_an_init(void **state)
{
  (void)state;
  assert_int_equal(mascri_sig_reach_of_status(plain, SIGTERM), MASCRI_SIG_DELIVERED);
  assert_int_equal(mascri_sig_reach_of_status(host_pid, SIGTERM), MASCRI_SIG_DELIVERED);
  assert_int_equal(mascri_sig_reach_of_status("", SIGTERM), MASCRI_SIG_DELIVERED);
}

static void this_process(void **state)
{
  (void)state;
  struct sigaction sa = {.sa_handler = SIG_IGN}, old;
  sigaction(SIGUSR2, &sa, &old);
  assert_int_equal(mascri_sig_reach(getpid(), SIGUSR2), MASCRI_SIG_IGNORED);
  sigaction(SIGUSR2, &old, NULL);
  /* The test is not a namespace init (unless run as one): the default action applies. */
  if (getpid() != 1)
    assert_int_equal(mascri_sig_reach(getpid(), SIGUSR2), MASCRI_SIG_DELIVERED);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(init_without_handler_drops),
      cmocka_unit_test(handler_or_ignore),
      cmocka_unit_test(not_an_init),
      cmocka_unit_test(this_process),
  };
  return cmocka_run_group_tests_name("runtime-signal", tests, NULL, NULL);
}
