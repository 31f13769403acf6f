#include "image-cli.h"

#include <stdio.h>

int mascri_image_cli_main(int argc, char **argv)
{
  fprintf(stderr, "mascri image: not implemented yet\n");
  return 1;
}
