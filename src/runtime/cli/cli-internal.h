/* The runc-compatible commands: one function per subcommand, sharing the global options. */
#ifndef MASCRI_RUNTIME_CLI_INTERNAL_H
#define MASCRI_RUNTIME_CLI_INTERNAL_H

#include <stdbool.h>

#include "common/error.h"
#include "runtime/runtime.h"

typedef struct cli_ctx {
  mascri_runtime_t rt;
  bool debug;
  bool log_file; /* logging goes to --log, so errors are also printed to stderr */
} cli_ctx_t;

/* Each returns the process exit status; argv[0] is the subcommand name. Errors are
 * returned through err with status 1 unless the command has its own exit status. */
int cmd_create(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_run(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_start(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_state(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_list(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_kill(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_delete(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_ps(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_exec(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_pause(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_resume(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_update(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_spec(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_features(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);
int cmd_events(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err);

/* The container id: the one positional argument left after options. */
int cli_need_id(int argc, char **argv, const char *cmd, const char **id, mascri_error_t *err);
/* mascri_signal_parse plus the real-time names ("RTMIN", "SIGRTMIN+3"); -1 when unknown. */
int cli_parse_signal(const char *s);
/* Waits for pid while forwarding the usual signals to it; returns its exit status
 * (128 + signal when killed). Signals must already be blocked (cli_block_signals). */
int cli_wait_forwarding(pid_t pid);
void cli_block_signals(void);
/* Copies between the terminal (stdin/stdout) and the pty master until pid exits;
 * returns its exit status. */
int cli_tty_proxy(int master, pid_t pid);

#endif
