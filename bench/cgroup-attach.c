/* What placing a new process in a cgroup costs, the three ways a runtime can do it:
 *   v1 write  fork, then write the pid to <v1 hierarchy>/<cg>/cgroup.procs
 *   v2 write  fork, then write the pid to <v2 mount>/<cg>/cgroup.procs
 *   v2 clone  clone3(CLONE_INTO_CGROUP) straight into <v2 mount>/<cg>
 * Each sample is taken after a quiet gap (default 50 ms, like containers started one at a
 * time), so a write pays the kernel's cgroup_threadgroup_rwsem switch (an RCU grace period)
 * as it would in real use. The clone is the runtime's own (mascri_cgroup_clone). Prints the
 * median and p90 in ms. Root only; not a test. From the source tree:
 *   cc -O2 -D_GNU_SOURCE -Isrc -I/usr/include/yajl -o cgroup-attach bench/cgroup-attach.c \
 *     src/runtime/cgroup-clone.c && ./cgroup-attach [N] [gap_ms] */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup.h"

static double now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void reap(pid_t pid)
{
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* fork + write; the child waits in pause() until killed */
static double by_write(const char *procs)
{
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  char buf[16];
  int len = snprintf(buf, sizeof(buf), "%d", (int)pid);
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, (size_t)len) != len) {
    perror(procs);
    exit(1);
  }
  double t = now_ms() - t0;
  close(fd);
  reap(pid);
  return t;
}

static double by_clone(int cgfd)
{
  bool placed = false;
  double t0 = now_ms();
  pid_t pid = mascri_cgroup_clone(0, cgfd, &placed);
  if (pid == 0) {
    pause();
    _exit(0);
  }
  if (pid < 0 || !placed) {
    fprintf(stderr, "clone into the cgroup: %s\n", pid < 0 ? strerror(errno) : "not placed");
    exit(1);
  }
  double t = now_ms() - t0;
  reap(pid);
  return t;
}

static void report(const char *name, double *v, int n)
{
  qsort(v, (size_t)n, sizeof(*v), cmp);
  printf("%-9s median %7.3f ms   p90 %7.3f ms\n", name, v[n / 2], v[(n * 9) / 10]);
}

static char *v2_mount(void)
{
  struct stat st;
  if (stat("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0)
    return "/sys/fs/cgroup/unified";
  if (stat("/sys/fs/cgroup/cgroup.procs", &st) == 0)
    return "/sys/fs/cgroup";
  return NULL;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 20;
  int gap = argc > 2 ? atoi(argv[2]) : 50;
  if (n < 1 || n > 10000)
    n = 20;
  char v1[256], v2[256], procs[300];
  snprintf(v1, sizeof(v1), "/sys/fs/cgroup/pids/mascri-bench-attach-%d", (int)getpid());
  const char *m = v2_mount();
  if (m)
    snprintf(v2, sizeof(v2), "%s/mascri-bench-attach-%d", m, (int)getpid());
  double *s = calloc((size_t)n, sizeof(double));
  struct timespec quiet = {gap / 1000, (gap % 1000) * 1000000L};
  if (mkdir(v1, 0755) == 0) {
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", v1);
    for (int i = 0; i < n; i++) {
      nanosleep(&quiet, NULL);
      s[i] = by_write(procs);
    }
    report("v1 write", s, n);
    rmdir(v1);
  } else {
    printf("v1 write  (no cgroup v1 pids hierarchy)\n");
  }
  if (!m || mkdir(v2, 0755) < 0) {
    printf("v2        (no cgroup2 mount)\n");
    return 0;
  }
  snprintf(procs, sizeof(procs), "%s/cgroup.procs", v2);
  for (int i = 0; i < n; i++) {
    nanosleep(&quiet, NULL);
    s[i] = by_write(procs);
  }
  report("v2 write", s, n);
  int fd = open(v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (int i = 0; i < n; i++) {
    nanosleep(&quiet, NULL);
    s[i] = by_clone(fd);
  }
  report("v2 clone", s, n);
  close(fd);
  rmdir(v2);
  free(s);
  return 0;
}
