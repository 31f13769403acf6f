/* exec: a new process in a running container (--process file, or args on the command
 * line over the container's own process settings). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/caps.h"
#include "runtime/cli/cli-internal.h"

typedef struct exec_flags {
  const char *process_file, *cwd, *user, *pid_file, *console_socket;
  char **env, **caps, **gids;
  bool tty, detach, no_new_privs;
  unsigned preserve_fds;
} exec_flags_t;

static void exec_flags_clear(exec_flags_t *f)
{
  mascri_strv_free(f->env);
  mascri_strv_free(f->caps);
  mascri_strv_free(f->gids);
}

static int parse_exec(int argc, char **argv, exec_flags_t *f, mascri_error_t *err)
{
  static const struct option opts[] = {
      {"console-socket", required_argument, NULL, 'C'},
      {"cwd", required_argument, NULL, 'w'},
      {"env", required_argument, NULL, 'e'},
      {"tty", no_argument, NULL, 't'},
      {"user", required_argument, NULL, 'u'},
      {"additional-gids", required_argument, NULL, 'g'},
      {"process", required_argument, NULL, 'p'},
      {"detach", no_argument, NULL, 'd'},
      {"pid-file", required_argument, NULL, 'P'},
      {"process-label", required_argument, NULL, 'L'},
      {"apparmor", required_argument, NULL, 'A'},
      {"no-new-privs", no_argument, NULL, 'N'},
      {"cap", required_argument, NULL, 'c'},
      {"preserve-fds", required_argument, NULL, 'F'},
      {"cgroup", required_argument, NULL, 'G'},
      {"ignore-paused", no_argument, NULL, 'I'},
      {NULL, 0, NULL, 0},
  };
  int c;
  /* "+": options end at the id; what follows is the command */
  while ((c = getopt_long(argc, argv, "+e:tu:g:p:dc:", opts, NULL)) != -1) {
    switch (c) {
    case 'C':
      f->console_socket = optarg;
      break;
    case 'w':
      f->cwd = optarg;
      break;
    case 'e':
      mascri_strv_append(&f->env, optarg);
      break;
    case 't':
      f->tty = true;
      break;
    case 'u':
      f->user = optarg;
      break;
    case 'g':
      mascri_strv_append(&f->gids, optarg);
      break;
    case 'p':
      f->process_file = optarg;
      break;
    case 'd':
      f->detach = true;
      break;
    case 'P':
      f->pid_file = optarg;
      break;
    case 'N':
      f->no_new_privs = true;
      break;
    case 'c':
      mascri_strv_append(&f->caps, optarg);
      break;
    case 'F':
      f->preserve_fds = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'L':
    case 'A':
    case 'G':
    case 'I':
      break;
    default:
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "exec: bad option");
    }
  }
  return 0;
}

/* Overrides an env entry with the same name, or appends it. */
static void env_set(char ***env, const char *kv)
{
  size_t klen = strcspn(kv, "=");
  for (size_t i = 0; *env && (*env)[i]; i++)
    if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
      free((*env)[i]);
      (*env)[i] = xstrdup(kv);
      return;
    }
  mascri_strv_append(env, kv);
}

static int apply_flags(mascri_spec_process_t *p, const exec_flags_t *f, char **args,
                       mascri_error_t *err)
{
  if (args && args[0]) {
    mascri_strv_free(p->args);
    p->args = mascri_strv_dup(args);
  }
  for (size_t i = 0; f->env && f->env[i]; i++)
    env_set(&p->env, f->env[i]);
  if (f->cwd) {
    free(p->cwd);
    p->cwd = xstrdup(f->cwd);
  }
  if (f->user) {
    char *colon = strchr(f->user, ':');
    p->user.uid = (uid_t)strtoul(f->user, NULL, 10);
    p->user.gid = colon ? (gid_t)strtoul(colon + 1, NULL, 10) : p->user.gid;
  }
  for (size_t i = 0; f->gids && f->gids[i]; i++) {
    p->user.additional_gids =
        xrealloc(p->user.additional_gids, (p->user.n_additional_gids + 1) * sizeof(gid_t));
    p->user.additional_gids[p->user.n_additional_gids++] = (gid_t)strtoul(f->gids[i], NULL, 10);
  }
  if (f->caps) {
    uint64_t add = 0;
    if (mascri_caps_from_names(f->caps, &add, err) < 0)
      return -1;
    p->has_caps = true;
    p->caps.bounding |= add;
    p->caps.effective |= add;
    p->caps.permitted |= add;
    p->caps.ambient |= add;
    p->caps.inheritable |= add;
  }
  if (f->tty)
    p->terminal = true;
  else if (!f->process_file)
    p->terminal = false;
  if (f->no_new_privs)
    p->no_new_privileges = true;
  return 0;
}

static int load_process(cli_ctx_t *ctx, const char *id, const exec_flags_t *f, char **args,
                        mascri_spec_process_t **out, mascri_error_t *err)
{
  if (f->process_file) {
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    if (mascri_read_file(f->process_file, &buf, &len, err) < 0 ||
        mascri_spec_process_parse(buf, len, out, err) < 0)
      return mascri_error_wrap(err, "--process %s", f->process_file);
  } else if (mascri_container_process(&ctx->rt, id, out, err) < 0) {
    return -1;
  } else if (!args || !args[0]) {
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "exec: a command or --process is required");
  }
  return apply_flags(*out, f, args, err);
}

int cmd_exec(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  _cleanup_(exec_flags_clear) exec_flags_t f = {0};
  const char *id = NULL;
  if (parse_exec(argc, argv, &f, err) < 0 || cli_need_id(argc, argv, "exec", &id, err) < 0)
    return -1;
  _cleanup_spec_process_ mascri_spec_process_t *p = NULL;
  if (load_process(ctx, id, &f, argv + optind + 1, &p, err) < 0)
    return -1;
  int master = -1;
  mascri_exec_options_t opts = {.process = p,
                                .stdio = MASCRI_STDIO_INHERIT,
                                .pid_file = f.pid_file,
                                .preserve_fds = f.preserve_fds};
  if (p->terminal) {
    if (f.console_socket)
      opts.stdio.console_socket = f.console_socket;
    else if (f.detach)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "exec: --tty with --detach needs --console-socket");
    else
      opts.stdio.console_master = &master;
  }
  if (!f.detach)
    cli_block_signals();
  pid_t pid = mascri_container_exec(&ctx->rt, id, &opts, err);
  if (pid < 0)
    return -1;
  if (f.detach)
    return 0;
  return master >= 0 ? cli_tty_proxy(master, pid) : cli_wait_forwarding(pid);
}
