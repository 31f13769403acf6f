#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "mascri-config.h"

int mascri_runtime_cli_main(int argc, char **argv)
{
  if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
    printf("mascri version %s\n", MASCRI_VERSION);
    return 0;
  }
  fprintf(stderr, "mascri: the OCI runtime commands are not implemented yet\n");
  return 1;
}
