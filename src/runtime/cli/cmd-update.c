/* update (resources from flags or -r file), pause, resume. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/cli/cli-internal.h"

static int64_t parse_i64(const char *s)
{
  return strtoll(s, NULL, 10);
}

/* A byte count as runc takes it: "-1", "1048576", "64m", "64M", "1g", "512k", "64MiB". */
static int64_t parse_bytes(const char *s)
{
  char *end = NULL;
  int64_t v = strtoll(s, &end, 10);
  switch (end && *end ? *end : 0) {
  case 'k':
  case 'K':
    return v << 10;
  case 'm':
  case 'M':
    return v << 20;
  case 'g':
  case 'G':
    return v << 30;
  case 't':
  case 'T':
    return v << 40;
  default:
    return v;
  }
}

static int update_flag(mascri_spec_resources_t *r, int c, const char *arg)
{
  switch (c) {
  case 'm':
    r->memory.has_limit = true;
    r->memory.limit = parse_bytes(arg);
    break;
  case 'M':
    r->memory.has_swap = true;
    r->memory.swap = parse_bytes(arg);
    break;
  case 'R':
    r->memory.has_reservation = true;
    r->memory.reservation = parse_bytes(arg);
    break;
  case 's':
    r->cpu.has_shares = true;
    r->cpu.shares = (uint64_t)parse_i64(arg);
    break;
  case 'q':
    r->cpu.has_quota = true;
    r->cpu.quota = parse_i64(arg);
    break;
  case 'p':
    r->cpu.has_period = true;
    r->cpu.period = (uint64_t)parse_i64(arg);
    break;
  case 'c':
    free(r->cpu.cpus);
    r->cpu.cpus = xstrdup(arg);
    break;
  case 'e':
    free(r->cpu.mems);
    r->cpu.mems = xstrdup(arg);
    break;
  case 'P':
    r->pids.has_limit = true;
    r->pids.limit = parse_i64(arg);
    break;
  case 'b':
    r->blkio.has_weight = true;
    r->blkio.weight = (uint16_t)parse_i64(arg);
    break;
  case 'k':
    break;
  default:
    return -1;
  }
  return 0;
}

int cmd_update(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  static const struct option opts[] = {
      {"resources", required_argument, NULL, 'r'},
      {"memory", required_argument, NULL, 'm'},
      {"memory-swap", required_argument, NULL, 'M'},
      {"memory-reservation", required_argument, NULL, 'R'},
      {"cpu-shares", required_argument, NULL, 's'},
      {"cpu-quota", required_argument, NULL, 'q'},
      {"cpu-period", required_argument, NULL, 'p'},
      {"cpuset-cpus", required_argument, NULL, 'c'},
      {"cpuset-mems", required_argument, NULL, 'e'},
      {"pids-limit", required_argument, NULL, 'P'},
      {"blkio-weight", required_argument, NULL, 'b'},
      {"kernel-memory", required_argument, NULL, 'k'},
      {NULL, 0, NULL, 0},
  };
  _cleanup_spec_resources_ mascri_spec_resources_t *r = xmalloc0(sizeof(*r));
  const char *file = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
    if (c == 'r')
      file = optarg;
    else if (update_flag(r, c, optarg) < 0)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "update: bad option");
  }
  const char *id = NULL;
  if (cli_need_id(argc, argv, "update", &id, err) < 0)
    return -1;
  if (file) {
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    mascri_spec_resources_free(r);
    r = NULL;
    int rr = strcmp(file, "-") == 0 ? mascri_read_all(0, &buf, &len, err)
                                    : mascri_read_file(file, &buf, &len, err);
    if (rr < 0 || mascri_spec_resources_parse(buf, len, &r, err) < 0)
      return -1;
  }
  return mascri_container_update(&ctx->rt, id, r, err);
}

int cmd_pause(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  const char *id = NULL;
  if (cli_need_id(argc, argv, "pause", &id, err) < 0)
    return -1;
  return mascri_container_pause(&ctx->rt, id, err);
}

int cmd_resume(cli_ctx_t *ctx, int argc, char **argv, mascri_error_t *err)
{
  const char *id = NULL;
  if (cli_need_id(argc, argv, "resume", &id, err) < 0)
    return -1;
  return mascri_container_resume(&ctx->rt, id, err);
}
