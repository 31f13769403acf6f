/* mascrid: the CRI daemon. */
#include <stdio.h>
#include <string.h>

#include "mascri-config.h"

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("mascrid version %s\n", MASCRI_VERSION);
    return 0;
  }
  fprintf(stderr, "mascrid: the CRI server is not implemented yet (see the CRI server issue)\n");
  return 1;
}
