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

/* The same, with keep_fd (when >= 0) open in the helper as MASCRI_EXEC_KEPT_FD and not
 * close-on-exec, so what the helper starts in turn holds it too: a lock taken on it stays
 * held until the last of them is gone (see mascri_network_open's helpers lock). */
#define MASCRI_EXEC_KEPT_FD 3
int mascri_exec_keeping(int keep_fd, const char *path, char *const argv[], char *const envp[],
                        const char *input, size_t input_len, unsigned timeout_ms,
                        struct mascri_exec_result *res, mascri_error_t *err);

#endif
