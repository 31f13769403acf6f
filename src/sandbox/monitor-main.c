/* mascri-monitor: the per-container monitor process. */
#include <stdio.h>

int main(void)
{
  fprintf(stderr, "mascri-monitor: not implemented yet (see the CRI server issue)\n");
  return 1;
}
