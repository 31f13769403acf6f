/* The `mascri` command: the runc-compatible OCI runtime commands, and `mascri image ...`,
 * which runs the image commands in `mascri-image` (installed next to us). Keeping the image
 * commands' libraries (curl, libarchive, TLS, ...) out of this binary lets it be small and
 * static: it starts, and re-execs from its sealed copy, on every container operation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cli/cli.h"

extern char **environ;

/* execs `mascri-image` from our own directory with our argv; returns only on error. */
static int exec_image_commands(char **argv)
{
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - sizeof("mascri-image"));
  if (n <= 0) {
    fprintf(stderr, "mascri: image commands: readlink /proc/self/exe: %s\n", strerror(errno));
    return 1;
  }
  path[n] = '\0';
  char *slash = strrchr(path, '/');
  strcpy(slash ? slash + 1 : path, "mascri-image");
  execve(path, argv, environ);
  fprintf(stderr, "mascri: image commands: cannot run %s: %s\n", path, strerror(errno));
  return 1;
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "image") == 0)
    return exec_image_commands(argv);
  return mascri_runtime_cli_main(argc, argv);
}
