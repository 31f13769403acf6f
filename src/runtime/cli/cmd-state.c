/* state, list, kill, delete, ps, events. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/strv.h"
#include "runtime/cli/cli-internal.h"

#define NO_OPTS_LOOP(argc, argv, err)                                                              \
  do {                                                                                             \
    static const struct option none_[] = {{NULL, 0, NULL, 0}};                                     \
    if (getopt_long(argc, argv, "", none_, NULL) != -1)                                            \
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s: bad option",         \
                                    argv[0]);                                                      \
  } while (0)

int cmd_state(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  const char *id = NULL;
  NO_OPTS_LOOP(argc, argv, err);
  if (cli_need_id(argc, argv, "state", &id, err) < 0)
    return -1;
  _cleanup_container_state_ mascri_container_state_t st = {0};
  if (mascri_container_state(&ctx->rt, id, &st, err) < 0)
    return -1;
  _cleanup_free_ char *json = mascri_container_state_json(&st);
  printf("%s\n", json);
  return 0;
}

int cmd_list(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {NULL, 0, NULL, 0}};
  bool json = false, quiet = false;
  int c;
  while ((c = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
    if (c == 'f')
      json = strcmp(optarg, "json") == 0;
    else if (c == 'q')
      quiet = true;
    else
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "list: bad option");
  }
  _cleanup_strv_ char **ids = NULL;
  if (mascri_container_list(&ctx->rt, &ids, err) < 0)
    return -1;
  if (!json && !quiet)
    printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
           "OWNER");
  if (json)
    printf("[");
  for (size_t i = 0; ids[i]; i++) {
    mascri_error_t e = NULL;
    _cleanup_container_state_ mascri_container_state_t st = {0};
    if (mascri_container_state(&ctx->rt, ids[i], &st, &e) < 0) {
      mascri_error_release(&e);
      continue;
    }
    if (quiet) {
      printf("%s\n", st.id);
    } else if (json) {
      _cleanup_free_ char *j = mascri_container_state_json(&st);
      printf("%s%s", i ? "," : "", j);
    } else {
      char when[64];
      struct tm tm;
      gmtime_r(&st.created.tv_sec, &tm);
      strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
      printf("%-20s %-8d %-10s %-40s %-30s %s\n", st.id, (int)st.pid, mascri_status_name(st.status),
             st.bundle, when, st.owner[0] ? st.owner : "root");
    }
  }
  if (json)
    printf("]\n");
  return 0;
}

int cmd_kill(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
  bool all = false;
  int c;
  while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
    if (c != 'a')
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "kill: bad option");
    all = true;
  }
  const char *id = NULL;
  if (cli_need_id(argc, argv, "kill", &id, err) < 0)
    return -1;
  int sig = SIGTERM;
  if (optind + 1 < argc && (sig = cli_parse_signal(argv[optind + 1])) < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "kill: unknown signal %s",
                                  argv[optind + 1]);
  return mascri_container_kill(&ctx->rt, id, sig, all, err);
}

int cmd_delete(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  bool force = false;
  int c;
  while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
    if (c != 'f')
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "delete: bad option");
    force = true;
  }
  const char *id = NULL;
  if (cli_need_id(argc, argv, "delete", &id, err) < 0)
    return -1;
  if (mascri_container_delete(&ctx->rt, id, force, err) < 0) {
    /* runc: deleting a missing container with --force succeeds */
    if (force && mascri_error_kind(err) == MASCRI_ERR_NOT_FOUND) {
      mascri_error_release(err);
      return 0;
    }
    return -1;
  }
  return 0;
}

int cmd_ps(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  bool json = false;
  int c;
  while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
    if (c != 'f')
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "ps: bad option");
    json = strcmp(optarg, "json") == 0;
  }
  const char *id = NULL;
  if (cli_need_id(argc, argv, "ps", &id, err) < 0)
    return -1;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (mascri_container_pids(&ctx->rt, id, &pids, &n, err) < 0)
    return -1;
  if (json) {
    printf("[");
    for (size_t i = 0; i < n; i++)
      printf("%s%d", i ? "," : "", (int)pids[i]);
    printf("]\n");
    return 0;
  }
  printf("PID\tCMD\n");
  for (size_t i = 0; i < n; i++) {
    char path[64], cmd[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pids[i]);
    FILE *f = fopen(path, "re");
    if (f) {
      if (fgets(cmd, sizeof(cmd), f))
        cmd[strcspn(cmd, "\n")] = '\0';
      fclose(f);
    }
    printf("%d\t%s\n", (int)pids[i], cmd);
  }
  return 0;
}

/* events --stats: one stats sample as runc's JSON event (no streaming yet). */
int cmd_events(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
                                       {"interval", required_argument, NULL, 'i'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
    if (c == '?')
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "events: bad option");
  const char *id = NULL;
  if (cli_need_id(argc, argv, "events", &id, err) < 0)
    return -1;
  mascri_container_stats_t s;
  if (mascri_container_stats(&ctx->rt, id, &s, err) < 0)
    return -1;
  printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":{\"cpu\":{\"usage\":{\"total\":%llu,"
         "\"kernel\":%llu,\"user\":%llu}},\"memory\":{\"usage\":{\"usage\":%llu,\"limit\":%llu}},"
         "\"pids\":{\"current\":%llu,\"limit\":%llu}}}\n",
         id, (unsigned long long)s.cpu_usage_ns, (unsigned long long)s.cpu_system_ns,
         (unsigned long long)s.cpu_user_ns, (unsigned long long)s.memory_usage,
         (unsigned long long)s.memory_limit, (unsigned long long)s.pids_current,
         (unsigned long long)s.pids_limit);
  return 0;
}
