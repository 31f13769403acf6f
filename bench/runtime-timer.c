/* Runs a command N times and prints the median wall and CPU (user+sys of the whole
 * process tree) in milliseconds: "wall_ms cpu_ms". Used by bench/runtime-vs-runc.sh.
 * Usage: runtime-timer N CMD [ARGS...]; "{}" in an argument is replaced by the run index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
  if (argc < 3)
    return 2;
  int n = atoi(argv[1]);
  double *wall = calloc(n, sizeof(double)), *cpu = calloc(n, sizeof(double));
  for (int i = 0; i < n; i++) {
    char **args = calloc(argc, sizeof(char *));
    for (int j = 2; j < argc; j++) {
      char *p = strstr(argv[j], "{}");
      if (p) {
        args[j - 2] = malloc(strlen(argv[j]) + 16);
        sprintf(args[j - 2], "%.*s%d%s", (int)(p - argv[j]), argv[j], i, p + 2);
      } else {
        args[j - 2] = argv[j];
      }
    }
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
      execvp(args[0], args);
      _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    wall[i] = now_ms() - t0;
    getrusage(RUSAGE_CHILDREN, &after);
    cpu[i] = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1e3 +
             (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e3 +
             (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e3 +
             (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e3;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "run %d failed (status 0x%x)\n", i, st);
      return 1;
    }
  }
  qsort(wall, n, sizeof(double), cmp);
  qsort(cpu, n, sizeof(double), cmp);
  printf("%.2f %.2f\n", wall[n / 2], cpu[n / 2]);
  return 0;
}
