/* Test helper for tests/integration/test_ctr_seccomp.py (not a unit test), linked
 * statically and run inside a container: makes the raw syscalls the default seccomp profile
 * treats specially and prints "<probe> <errno>" (0 when it worked), one line per argument.
 * Probes: thread (pthread_create: clone3, falling back to clone on ENOSYS), clone3,
 * clone (no namespace flags), clone-newuts, unshare-newuts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_main(void *arg)
{
  return arg;
}

/* fork-like: the child gets a copy of this stack and exits at once */
static int reap(long pid)
{
  if (pid < 0)
    return errno;
  if (pid == 0)
    _exit(0);
  int st = 0;
  waitpid((pid_t)pid, &st, 0);
  return 0;
}

static int probe(const char *name)
{
  if (strcmp(name, "thread") == 0) {
    pthread_t t;
    int r = pthread_create(&t, NULL, thread_main, NULL);
    if (r == 0)
      pthread_join(t, NULL);
    return r;
  }
  if (strcmp(name, "clone3") == 0) {
    struct clone_args ca;
    memset(&ca, 0, sizeof(ca));
    ca.exit_signal = SIGCHLD;
    return reap(syscall(SYS_clone3, &ca, sizeof(ca)));
  }
  if (strcmp(name, "clone") == 0)
    return reap(syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL));
  if (strcmp(name, "clone-newuts") == 0)
    return reap(syscall(SYS_clone, (unsigned long)(CLONE_NEWUTS | SIGCHLD), 0UL, 0UL, 0UL, 0UL));
  if (strcmp(name, "unshare-newuts") == 0)
    return unshare(CLONE_NEWUTS) < 0 ? errno : 0;
  return -1;
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    int r = probe(argv[i]);
    if (r < 0) {
      fprintf(stderr, "unknown probe %s\n", argv[i]);
      return 2;
    }
    printf("%s %d\n", argv[i], r);
  }
  return 0;
}
