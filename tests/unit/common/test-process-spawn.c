#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cleanup.h"
#include "common/process-spawn.h"

/* Runs argv with stdout on a pipe and stdin on /dev/null; returns what it wrote. */
static char *run(char *const argv[], mascri_spawn_group_t group, pid_t *pgid, pid_t *sid)
{
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  const mascri_spawn_fd_t fds[] = {
      {.fd = 0, .from = -1, .null_flags = O_RDONLY},
      {.fd = 1, .from = p[1]},
  };
  pid_t pid = 0;
  assert_int_equal(mascri_spawn(argv[0], argv, NULL, fds, ARRAY_SIZE(fds), group, &pid), 0);
  close(p[1]);
  /* Not reaped yet, so its group and session can still be asked. */
  *pgid = getpgid(pid);
  *sid = getsid(pid);
  static char out[8192];
  size_t len = 0;
  ssize_t n;
  while ((n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
    len += (size_t)n;
  out[len] = '\0';
  close(p[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  return out;
}

/* A signal mask line of /proc/<pid>/status ("SigIgn:\t<hex>"). */
static unsigned long long status_mask(const char *status, const char *name)
{
  const char *line = strstr(status, name);
  assert_non_null(line);
  return strtoull(line + strlen(name) + 2, NULL, 16);
}

static void clean_signals(void **state)
{
  /* What mascrid does: SIGPIPE ignored, a signal blocked for its signalfd. */
  struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
  sigaction(SIGPIPE, &ign, &old_pipe);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &old_mask);

  char *argv[] = {(char *)"/bin/cat", (char *)"/proc/self/status", NULL};
  pid_t pgid, sid;
  const char *out = run(argv, MASCRI_SPAWN_KEEP_GROUP, &pgid, &sid);
  /* glibc keeps its own real-time signals (32, 33) as they were: look at 1..31 only. */
  assert_int_equal(status_mask(out, "SigBlk") & 0x7fffffffULL, 0);
  assert_int_equal(status_mask(out, "SigIgn") & 0x7fffffffULL, 0);
  assert_int_equal(pgid, getpgrp());
  assert_int_equal(sid, getsid(0));

  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
}

static void dev_null_stdin(void **state)
{
  char *argv[] = {(char *)"/bin/cat", NULL};
  pid_t pgid, sid;
  assert_string_equal(run(argv, MASCRI_SPAWN_KEEP_GROUP, &pgid, &sid), "");
}

static void own_group_and_session(void **state)
{
  char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"echo $$", NULL};
  pid_t pgid, sid;
  long pid = atol(run(argv, MASCRI_SPAWN_NEW_PGROUP, &pgid, &sid));
  assert_int_equal(pgid, pid);
  assert_int_equal(sid, getsid(0));
  pid = atol(run(argv, MASCRI_SPAWN_NEW_SESSION, &pgid, &sid));
  assert_int_equal(pgid, pid);
  assert_int_equal(sid, pid);
}

static void missing_program(void **state)
{
  char *argv[] = {(char *)"/nonexistent/mascri-test", NULL};
  pid_t pid = 0;
  int r = mascri_spawn(argv[0], argv, NULL, NULL, 0, MASCRI_SPAWN_KEEP_GROUP, &pid);
  if (r == 0) { /* glibc reports exec failure as a child exiting 127 on some versions */
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(WEXITSTATUS(st), 127);
  } else {
    assert_int_equal(r, ENOENT);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(clean_signals),
      cmocka_unit_test(dev_null_stdin),
      cmocka_unit_test(own_group_and_session),
      cmocka_unit_test(missing_program),
  };
  return cmocka_run_group_tests_name("common-process-spawn", tests, NULL, NULL);
}
