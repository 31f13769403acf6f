/* mascri-monitor: the per-container monitor process (the contract is sandbox/monitor.h). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/log.h"
#include "runtime/runtime.h"
#include "sandbox/monitor/monitor-args.h"
#include "sandbox/monitor/monitor-create.h"
#include "sandbox/monitor/monitor-exec.h"
#include "sandbox/monitor/monitor-status.h"
#include "sandbox/monitor.h"

static void report(const mascri_error_t *err)
{
  char line[4096];
  size_t len = monitor_format_error_line(err, line, sizeof(line));
  monitor_write_line(MASCRI_MONITOR_SYNC_FD, line, len);
  fprintf(stderr, "mascri-monitor: %s\n", mascri_error_message(err));
}

int main(int argc, char **argv)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_log_set_program("mascri-monitor");
  /* mascrid starts us from a sealed copy already; this re-execs when run from a file. */
  if (mascri_runtime_ensure_sealed_exe(argc, argv, &err) < 0) {
    report(&err);
    return 1;
  }
  /* the sync/status fd must not reach the container (nor anything else we start) */
  fcntl(MASCRI_MONITOR_SYNC_FD, F_SETFD, FD_CLOEXEC);
  monitor_args_t a;
  if (monitor_args_parse(argc, argv, &a, &err) < 0) {
    report(&err);
    return 1;
  }
  if (a.mode == MONITOR_MODE_EXEC)
    return monitor_exec_main(&a, MASCRI_MONITOR_SYNC_FD);
  return monitor_create_main(&a, MASCRI_MONITOR_SYNC_FD);
}
