/* mascri-pause: holds a pod's namespaces. As PID 1 of the pod's pid namespace it reaps
 * every orphan; it exits 0 on SIGTERM or SIGINT. Static, no library at run time.
 * mascrid passes the pod id as argv[1] (unused here) so that a pause process left without
 * a record by a crash can be found and stopped. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    puts("mascri-pause");
    return 0;
  }

  /* Whatever the parent ignored must reach sigwait(). */
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
    perror("mascri-pause: sigprocmask");
    return 1;
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
      continue;
    if (sig == SIGTERM || sig == SIGINT)
      return 0;
    /* SIGCHLD: reap every child that has exited. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
      ;
  }
}
