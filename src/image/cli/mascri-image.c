/* `mascri-image`: the image commands, exec()ed by `mascri image ...` with its argv
 * ("mascri image pull ..."); `mascri-image pull ...` works too. */
#include <string.h>

#include "image/cli/image-cli.h"

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "image") == 0)
    return mascri_image_cli_main(argc - 1, argv + 1);
  argv[0] = (char *)"image";
  return mascri_image_cli_main(argc, argv);
}
