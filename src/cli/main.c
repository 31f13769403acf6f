/* The `mascri` command: `mascri image ...` goes to the image commands, everything else to
 * the runc-compatible OCI runtime commands. */
#include <string.h>

#include "image/cli/image-cli.h"
#include "runtime/cli/cli.h"

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "image") == 0)
    return mascri_image_cli_main(argc - 1, argv + 1);
  return mascri_runtime_cli_main(argc, argv);
}
