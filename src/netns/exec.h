/* Runs a helper program (nft, CNI plugins): stdin from a buffer, stdout and stderr
 * captured, a timeout after which it is killed. */
#ifndef MASCRI_NETNS_EXEC_H
#define MASCRI_NETNS_EXEC_H

#include <stddef.h>

#include "common/error.h"

struct mascri_exec_result {
  int status;   /* exit code, or 128 + signal */
  char *out;    /* captured stdout, NUL-terminated */
  char *errout; /* captured stderr, NUL-terminated */
};
void mascri_exec_result_clear(struct mascri_exec_result *r);

/* Runs path with argv and envp (NULL: inherit) feeding input (may be NULL). Fails only when
 * the program cannot be run or times out (MASCRI_ERR_DEADLINE, the child is killed); a
 * non-zero exit is reported in res->status. timeout_ms 0 means no timeout. */
int mascri_exec(const char *path, char *const argv[], char *const envp[], const char *input,
                size_t input_len, unsigned timeout_ms, struct mascri_exec_result *res,
                mascri_error_t *err);

#endif
