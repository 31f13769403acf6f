/* mascri-monitor's command line: "--name value" or "--name=value", checked per mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/monitor/monitor-args.h"
#include "sandbox/monitor.h"

#define MAX_LINE_LIMIT (16u << 20)

/* Which modes accept an option. */
#define IN_CREATE 1
#define IN_EXEC 2

typedef enum {
  OPT_ID = 0,
  OPT_RUNTIME_ROOT,
  OPT_SYSTEMD_CGROUP,
  OPT_TERMINAL,
  OPT_BUNDLE,
  OPT_LOG_PATH,
  OPT_EXIT_FILE,
  OPT_SOCKET_DIR,
  OPT_STDIN,
  OPT_STDIN_ONCE,
  OPT_LOG_MAX_LINE,
  OPT_PROCESS,
  OPT_INTERACTIVE,
  OPT_MOUNT_TEMPLATE,
} opt_id_t;

typedef struct opt_def {
  const char *name;
  opt_id_t id;
  bool has_value;
  int modes;
} opt_def_t;

static const opt_def_t options[] = {
    {"id", OPT_ID, true, IN_CREATE | IN_EXEC},
    {"runtime-root", OPT_RUNTIME_ROOT, true, IN_CREATE | IN_EXEC},
    {"systemd-cgroup", OPT_SYSTEMD_CGROUP, false, IN_CREATE | IN_EXEC},
    {"terminal", OPT_TERMINAL, false, IN_CREATE | IN_EXEC},
    {"bundle", OPT_BUNDLE, true, IN_CREATE},
    {"log-path", OPT_LOG_PATH, true, IN_CREATE},
    {"exit-file", OPT_EXIT_FILE, true, IN_CREATE},
    {"socket-dir", OPT_SOCKET_DIR, true, IN_CREATE},
    {"stdin", OPT_STDIN, false, IN_CREATE},
    {"stdin-once", OPT_STDIN_ONCE, false, IN_CREATE},
    {"log-max-line", OPT_LOG_MAX_LINE, true, IN_CREATE},
    {"process", OPT_PROCESS, true, IN_EXEC},
    {"interactive", OPT_INTERACTIVE, false, IN_EXEC},
    {"mount-template", OPT_MOUNT_TEMPLATE, true, IN_CREATE},
};

static int invalid(mascri_error_t *err, const char *fmt, const char *what)
{
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, fmt, what);
}

static const opt_def_t *find_option(const char *name, size_t len)
{
  for (size_t i = 0; i < ARRAY_SIZE(options); i++)
    if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
      return &options[i];
  return NULL;
}

static int parse_max_line(const char *s, size_t *out, mascri_error_t *err)
{
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || errno || !end || *end || v == 0 || v > MAX_LINE_LIMIT)
    return invalid(err, "--log-max-line: expected a number of bytes (1..16777216), got \"%s\"", s);
  *out = (size_t)v;
  return 0;
}

static int set_option(monitor_args_t *a, opt_id_t id, const char *value, mascri_error_t *err)
{
  switch (id) {
  case OPT_ID:
    a->id = value;
    break;
  case OPT_RUNTIME_ROOT:
    a->runtime_root = value;
    break;
  case OPT_SYSTEMD_CGROUP:
    a->systemd_cgroup = true;
    break;
  case OPT_TERMINAL:
    a->terminal = true;
    break;
  case OPT_BUNDLE:
    a->bundle = value;
    break;
  case OPT_LOG_PATH:
    a->log_path = value;
    break;
  case OPT_EXIT_FILE:
    a->exit_file = value;
    break;
  case OPT_SOCKET_DIR:
    a->socket_dir = value;
    break;
  case OPT_STDIN:
    a->stdin_ = true;
    break;
  case OPT_STDIN_ONCE:
    a->stdin_once = true;
    break;
  case OPT_LOG_MAX_LINE:
    return parse_max_line(value, &a->log_max_line, err);
  case OPT_PROCESS:
    a->process_file = value;
    break;
  case OPT_INTERACTIVE:
    a->interactive = true;
    break;
  case OPT_MOUNT_TEMPLATE:
    if (value[0] != '/')
      return invalid(err, "--mount-template: expected an absolute path, got \"%s\"", value);
    a->mount_template = value;
    break;
  }
  return 0;
}

/* One option at argv[*i]; advances *i past its value. */
static int parse_one(int argc, char **argv, int *i, int mode_bit, monitor_args_t *a,
                     mascri_error_t *err)
{
  const char *arg = argv[*i];
  if (strncmp(arg, "--", 2) != 0 || !arg[2])
    return invalid(err, "unexpected argument \"%s\"", arg);
  const char *name = arg + 2;
  const char *eq = strchr(name, '=');
  const opt_def_t *o = find_option(name, eq ? (size_t)(eq - name) : strlen(name));
  if (!o)
    return invalid(err, "unknown option \"%s\"", arg);
  if (!(o->modes & mode_bit))
    return invalid(err, "option --%s is not valid in this mode", o->name);
  const char *value = NULL;
  if (o->has_value) {
    if (eq)
      value = eq + 1;
    else if (*i + 1 < argc)
      value = argv[++*i];
    else
      return invalid(err, "option --%s needs a value", o->name);
    if (!value[0])
      return invalid(err, "option --%s needs a non-empty value", o->name);
  } else if (eq) {
    return invalid(err, "option --%s takes no value", o->name);
  }
  return set_option(a, o->id, value, err);
}

static int check_required(const monitor_args_t *a, mascri_error_t *err)
{
  struct {
    const char *value, *name;
  } need[] = {
      {a->id, "--id"},
      {a->runtime_root, "--runtime-root"},
      {a->mode == MONITOR_MODE_CREATE ? a->bundle : "", "--bundle"},
      {a->mode == MONITOR_MODE_CREATE ? a->log_path : "", "--log-path"},
      {a->mode == MONITOR_MODE_CREATE ? a->exit_file : "", "--exit-file"},
      {a->mode == MONITOR_MODE_CREATE ? a->socket_dir : "", "--socket-dir"},
      {a->mode == MONITOR_MODE_EXEC ? a->process_file : "", "--process"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(need); i++)
    if (!need[i].value)
      return invalid(err, "%s is required", need[i].name);
  return 0;
}

int monitor_args_parse(int argc, char **argv, monitor_args_t *out, mascri_error_t *err)
{
  monitor_args_t a = {.log_max_line = MASCRI_MONITOR_DEFAULT_MAX_LINE};
  if (argc < 2)
    return invalid(err, "%s", "usage: mascri-monitor create|exec --id ID ...");
  if (strcmp(argv[1], "create") == 0)
    a.mode = MONITOR_MODE_CREATE;
  else if (strcmp(argv[1], "exec") == 0)
    a.mode = MONITOR_MODE_EXEC;
  else
    return invalid(err, "unknown mode \"%s\" (create or exec)", argv[1]);
  int mode_bit = a.mode == MONITOR_MODE_CREATE ? IN_CREATE : IN_EXEC;
  for (int i = 2; i < argc; i++)
    if (parse_one(argc, argv, &i, mode_bit, &a, err) < 0)
      return -1;
  if (check_required(&a, err) < 0)
    return -1;
  *out = a;
  return 0;
}
