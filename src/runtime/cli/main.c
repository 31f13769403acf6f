/* `mascri-runtime`: the runc-compatible OCI runtime commands alone, without the image
 * commands' libraries (curl, libarchive, TLS...), so that starting it costs a fraction of
 * a millisecond. Same commands and flags as `mascri` minus `mascri image`; containerd and
 * podman can use either binary as their runc. */
#include "runtime/cli/cli.h"

int main(int argc, char **argv)
{
  return mascri_runtime_cli_main(argc, argv);
}
