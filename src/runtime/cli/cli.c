/* `mascri` runtime commands: global options (--root, --log, --log-format, --debug,
 * --systemd-cgroup) and dispatch to one function per subcommand. */
#include "runtime/cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mascri-config.h"
#include "runtime/cli/cli-internal.h"

typedef int (*cmd_fn)(cli_ctx_t *, int, char **, mascri_error_t *);

static const struct {
  const char *name;
  cmd_fn fn;
  bool enters_container; /* re-exec from a sealed copy first (CVE-2019-5736) */
} commands[] = {
    {"create", cmd_create, true},  {"run", cmd_run, true},
    {"start", cmd_start, false},   {"state", cmd_state, false},
    {"list", cmd_list, false},     {"kill", cmd_kill, false},
    {"delete", cmd_delete, false}, {"ps", cmd_ps, false},
    {"exec", cmd_exec, true},      {"pause", cmd_pause, false},
    {"resume", cmd_resume, false}, {"update", cmd_update, false},
    {"spec", cmd_spec, false},     {"features", cmd_features, false},
    {"events", cmd_events, false},
};

static void usage(FILE *f)
{
  fprintf(f, "usage: mascri [global options] COMMAND [options] [ID]\n\n"
             "global options: --root DIR, --log FILE, --log-format text|json, --debug,\n"
             "  --systemd-cgroup, --version\n"
             "commands: create start run state list kill delete ps exec pause resume\n"
             "  update spec features events; image ... (image commands)\n");
}

static int parse_globals(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {
      {"root", required_argument, NULL, 'r'},
      {"log", required_argument, NULL, 'l'},
      {"log-format", required_argument, NULL, 'f'},
      {"debug", no_argument, NULL, 'd'},
      {"systemd-cgroup", no_argument, NULL, 's'},
      {"rootless", required_argument, NULL, 'R'},
      {"criu", required_argument, NULL, 'C'},
      {"version", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *log_path = NULL;
  mascri_log_format_t fmt = MASCRI_LOG_FORMAT_TEXT;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
    switch (c) {
    case 'r':
      ctx->rt.state_root = optarg;
      break;
    case 'l':
      log_path = optarg;
      break;
    case 'f':
      if (strcmp(optarg, "json") == 0)
        fmt = MASCRI_LOG_FORMAT_JSON;
      else if (strcmp(optarg, "text") != 0)
        return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                      "--log-format: expected text or json, got %s", optarg);
      break;
    case 'd':
      ctx->debug = true;
      break;
    case 's':
      ctx->rt.cgroup_manager = MASCRI_CGROUP_MANAGER_SYSTEMD;
      break;
    case 'R':
    case 'C':
      break;
    case 'v':
      printf("mascri version %s\nspec: 1.2.0\n", MASCRI_VERSION);
      return 1;
    case 'h':
      usage(stdout);
      return 1;
    default:
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "bad option");
    }
  }
  mascri_log_set_program("mascri");
  if (ctx->debug)
    mascri_log_set_level(MASCRI_LOG_DEBUG);
  if (log_path && log_path[0]) {
    if (mascri_log_to_file(log_path, fmt, err) < 0)
      return -1;
    ctx->log_file = true;
  }
  if (!log_path && fmt == MASCRI_LOG_FORMAT_JSON)
    mascri_log_to_fd(2, fmt);
  return 0;
}

int mascri_runtime_cli_main(int argc, char **argv)
{
  cli_ctx_t ctx = {.rt = {.state_root = NULL}};
  _cleanup_error_ mascri_error_t err = NULL;
  int r = parse_globals(&ctx, argc, argv, &err);
  if (r != 0) {
    if (r < 0)
      fprintf(stderr, "mascri: %s\n", mascri_error_message(&err));
    return r < 0 ? 2 : 0;
  }
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  const char *name = argv[optind];
  if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
    printf("mascri version %s\nspec: 1.2.0\n", MASCRI_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(name, commands[i].name) != 0)
      continue;
    if (commands[i].enters_container && mascri_runtime_ensure_sealed_exe(argc, argv, &err) < 0) {
      log_error("%s", mascri_error_message(&err));
      if (ctx.log_file)
        fprintf(stderr, "mascri: %s\n", mascri_error_message(&err));
      return 1;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0;
    r = commands[i].fn(&ctx, sub_argc, sub_argv, &err);
    if (r < 0 || err) {
      log_error("%s", mascri_error_message(&err));
      if (ctx.log_file)
        fprintf(stderr, "mascri: %s\n", mascri_error_message(&err));
      return r < 0 ? 1 : r;
    }
    return r;
  }
  fprintf(stderr, "mascri: unknown command \"%s\"\n", name);
  usage(stderr);
  return 2;
}
