/* mascri-monitor's OOM evidence: memory.events' oom_kill count, the kernel log's records
 * (parsed, and one written to the real /dev/kmsg and found there, as root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "sandbox/monitor/monitor-oom.h"

static uint64_t now_us(void)
{
  return (uint64_t)mascri_clock_monotonic_ms() * 1000u;
}

#define REC(s) (s), strlen(s)

static void record_names_the_killed_pid(void **state)
{
  (void)state;
  const char *memcg = "3,1234,5000000,-;Memory cgroup out of memory: Killed process 371 (sh) "
                      "total-vm:3000kB, anon-rss:16000kB\n SUBSYSTEM=memory\n";
  assert_true(monitor_kmsg_record_kills(REC(memcg), 371, 0));
  assert_true(monitor_kmsg_record_kills(REC(memcg), 371, 5000000));
  assert_false(monitor_kmsg_record_kills(REC(memcg), 371, 5000001)); /* before the container */
  assert_false(monitor_kmsg_record_kills(REC(memcg), 37, 0));        /* a prefix of the pid */
  assert_false(monitor_kmsg_record_kills(REC(memcg), 3710, 0));
  const char *global = "3,9,77,-;Out of memory: Killed process 42 (java) total-vm:1kB";
  assert_true(monitor_kmsg_record_kills(REC(global), 42, 0));
  /* Other messages, the dictionary, and records that are not records. */
  assert_false(
      monitor_kmsg_record_kills(REC("6,10,80,-;oom_reaper: reaped process 42 (java)"), 42, 0));
  assert_false(monitor_kmsg_record_kills(REC("6,10,80,-;x\n PROC=Killed process 42 (y)"), 42, 0));
  assert_false(monitor_kmsg_record_kills(REC("Killed process 42 (java)"), 42, 0));
  assert_false(monitor_kmsg_record_kills(REC("3,9,notanumber,-;Killed process 42 (j)"), 42, 0));
  assert_false(monitor_kmsg_record_kills(REC(""), 42, 0));
}

static void memory_events_count(void **state)
{
  (void)state;
  char path[] = "/tmp/mascri-oom-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  const char *quiet = "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\noom_group_kill 0\n";
  assert_int_equal(write(fd, quiet, strlen(quiet)), (ssize_t)strlen(quiet));
  assert_int_equal(monitor_memory_events_oom(fd), 0);
  const char *killed = "low 0\nhigh 0\nmax 35\noom 1\noom_kill 1\noom_group_kill 0\n";
  assert_int_equal(pwrite(fd, killed, strlen(killed), 0), (ssize_t)strlen(killed));
  assert_int_equal(monitor_memory_events_oom(fd), 1);
  close(fd);
  assert_int_equal(monitor_memory_events_oom(fd), -1); /* unreadable, as a removed cgroup's */
}

/* A record written to the kernel log is found by pid, and only from its time on. */
static void the_real_kernel_log(void **state)
{
  (void)state;
  int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    skip(); /* not root, or no /dev/kmsg in this sandbox */
    return;
  }
  pid_t pid = 4000000 + (getpid() % 100000); /* above pid_max's default: no real process */
  uint64_t before = now_us();
  assert_false(monitor_kmsg_oom_killed("/dev/kmsg", pid, before));
  char msg[96]; /* with its newline: the kernel holds back an unterminated record */
  int n = snprintf(msg, sizeof(msg), "mascri unit test: Killed process %d (test)\n", (int)pid);
  assert_int_equal(write(fd, msg, (size_t)n), n);
  close(fd);
  assert_true(monitor_kmsg_oom_killed("/dev/kmsg", pid, before > 1000000 ? before - 1000000 : 0));
  assert_false(monitor_kmsg_oom_killed("/dev/kmsg", pid, now_us() + 60000000));
  assert_false(monitor_kmsg_oom_killed("/nonexistent/kmsg", pid, 0));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(record_names_the_killed_pid),
      cmocka_unit_test(memory_events_count),
      cmocka_unit_test(the_real_kernel_log),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
