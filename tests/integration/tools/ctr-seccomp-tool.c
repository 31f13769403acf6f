/* Test driver for tests/integration/test_ctr_seccomp.py (not a unit test): prints the
 * seccomp object mascri puts in a CRI container's config.json ("null" when unconfined).
 * Usage: ctr-seccomp-tool PROFILE [CAP...], PROFILE as in the CRI seccomp_profile_path
 * ("runtime/default", "unconfined", "localhost/<path>"). */
#include <stdio.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "sandbox/ctr-seccomp.h"

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROFILE [CAP...]\n", argv[0]);
    return 2;
  }
  struct mascri_ctr_security sc = {.seccomp_profile_path = argv[1]}; /* borrowed: not cleared */
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  _cleanup_error_ mascri_error_t err = NULL;
  yajl_gen_map_open(g);
  if (mascri_ctr_seccomp_gen(g, &sc, false, argv + 2, &err) < 0) {
    fprintf(stderr, "%s\n", mascri_error_message(&err));
    return 1;
  }
  yajl_gen_map_close(g);
  size_t len = 0;
  _cleanup_free_ char *text = mascri_json_gen_take(g, &len);
  fwrite(text, 1, len, stdout);
  return 0;
}
