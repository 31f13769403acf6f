/* mascri-monitor's command line (sandbox/monitor.h): the two modes and their options. */
#ifndef MASCRI_SANDBOX_MONITOR_ARGS_H
#define MASCRI_SANDBOX_MONITOR_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef enum {
  MONITOR_MODE_CREATE = 0,
  MONITOR_MODE_EXEC,
} monitor_mode_t;

/* The strings point into argv. */
typedef struct monitor_args {
  monitor_mode_t mode;
  const char *id;
  const char *runtime_root;
  bool systemd_cgroup;
  bool terminal;
  /* create */
  const char *bundle, *log_path, *exit_file, *socket_dir;
  bool stdin_, stdin_once;
  size_t log_max_line;
  const char *mount_template; /* NULL: the container's mounts copy ours (runtime.h) */
  /* exec */
  const char *process_file;
  bool interactive; /* a streaming Exec: control pipe on fd 4, forks away */
} monitor_args_t;

/* Parses argv (argv[1] is the mode). Unknown options, options of the other mode, missing
 * values and missing required options are INVALID_ARGUMENT errors naming the option. */
int monitor_args_parse(int argc, char **argv, monitor_args_t *out, mascri_error_t *err);

#endif
