/* create, run, start. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/cli/cli-internal.h"

typedef struct create_flags {
  mascri_create_options_t opts;
  bool detach;
  bool keep;
} create_flags_t;

static int parse_create(int argc, char **argv, bool run, create_flags_t *f, mascri_error_t *err)
{
  static const struct option opts[] = {
      {"bundle", required_argument, NULL, 'b'},   {"console-socket", required_argument, NULL, 'c'},
      {"pid-file", required_argument, NULL, 'p'}, {"no-pivot", no_argument, NULL, 'P'},
      {"no-new-keyring", no_argument, NULL, 'K'}, {"preserve-fds", required_argument, NULL, 'F'},
      {"detach", no_argument, NULL, 'd'},         {"keep", no_argument, NULL, 'k'},
      {"no-subreaper", no_argument, NULL, 'S'},   {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, run ? "b:d" : "b:", opts, NULL)) != -1) {
    switch (c) {
    case 'b':
      f->opts.bundle = optarg;
      break;
    case 'c':
      f->opts.stdio.console_socket = optarg;
      break;
    case 'p':
      f->opts.pid_file = optarg;
      break;
    case 'P':
      f->opts.no_pivot = true;
      break;
    case 'K':
      f->opts.no_new_keyring = true;
      break;
    case 'F':
      f->opts.preserve_fds = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'd':
      f->detach = true;
      break;
    case 'k':
      f->keep = true;
      break;
    case 'S':
      break;
    default:
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s: bad option", argv[0]);
    }
  }
  return cli_need_id(argc, argv, argv[0], &f->opts.id, err);
}

static int load_spec(const create_flags_t *f, mascri_spec_t **spec, mascri_error_t *err)
{
  _cleanup_free_ char *path =
      mascri_path_join(f->opts.bundle ? f->opts.bundle : ".", "config.json");
  return mascri_spec_load_file(path, spec, err);
}

int cmd_create(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  create_flags_t f = {.opts = {.stdio = MASCRI_STDIO_INHERIT, .wait_start = true}};
  _cleanup_spec_ mascri_spec_t *spec = NULL;
  if (parse_create(argc, argv, false, &f, err) < 0 || load_spec(&f, &spec, err) < 0)
    return -1;
  if (spec->process && spec->process->terminal && !f.opts.stdio.console_socket)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "process.terminal needs --console-socket with create");
  if (mascri_container_create(&ctx->rt, spec, &f.opts, err) < 0)
    return -1;
  return 0;
}

int cmd_run(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  create_flags_t f = {.opts = {.stdio = MASCRI_STDIO_INHERIT}};
  _cleanup_spec_ mascri_spec_t *spec = NULL;
  int master = -1;
  if (parse_create(argc, argv, true, &f, err) < 0 || load_spec(&f, &spec, err) < 0)
    return -1;
  bool tty = spec->process && spec->process->terminal;
  if (tty && !f.opts.stdio.console_socket) {
    if (f.detach)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "process.terminal with --detach needs --console-socket");
    f.opts.stdio.console_master = &master;
  }
  if (!f.detach)
    cli_block_signals();
  pid_t pid = mascri_container_create(&ctx->rt, spec, &f.opts, err);
  if (pid < 0)
    return -1;
  if (f.detach)
    return 0;
  int status = master >= 0 ? cli_tty_proxy(master, pid) : cli_wait_forwarding(pid);
  if (!f.keep) {
    mascri_error_t e = NULL;
    if (mascri_container_delete(&ctx->rt, f.opts.id, true, &e) < 0)
      mascri_log_error_release(MASCRI_LOG_WARNING, &e, "run %s", f.opts.id);
  }
  return status;
}

int cmd_start(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  const char *id = NULL;
  if (cli_need_id(argc, argv, "start", &id, err) < 0)
    return -1;
  return mascri_container_start(&ctx->rt, id, err);
}
