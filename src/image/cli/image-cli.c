/* `mascri image pull|ls|inspect|rm|tag|import|save|prune`: options shared by all of them,
 * then one function per subcommand. */
#include "image/cli/image-cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/size.h"
#include "common/xalloc.h"
#include "image/cli/image-cli-internal.h"
#include "image/pull-status.h"
#include "image/registry-config.h"

static const char usage[] =
    "usage: mascri image [OPTIONS] COMMAND [ARGS]\n"
    "commands:\n"
    "  pull REF                  pull an image from its registry\n"
    "  ls                        list images (-q: ids only)\n"
    "  inspect NAME              show an image as JSON\n"
    "  rm NAME...                remove images or tags (-f: even if used)\n"
    "  tag NAME NEWREF           add a tag\n"
    "  import FILE|-             load a docker-archive or OCI archive\n"
    "  save -o FILE NAME...      write a docker-archive (docker load format)\n"
    "  prune                     remove untagged images and unused layers\n"
    "  fsinfo                    layer store path, bytes and inodes used\n"
    "options:\n"
    "  --root DIR                store directory (default " MASCRI_IMAGE_DEFAULT_ROOT ")\n"
    "  --registries-config FILE  mirrors, CAs, credentials per registry (JSON)\n"
    "  --insecure-registry HOST  plain HTTP / no TLS verification for HOST\n"
    "  --mirror HOST=MIRROR      try MIRROR before HOST (repeatable, in order)\n"
    "  --ca-file HOST=FILE       trust FILE's CAs for HOST\n"
    "  --creds USER:PASSWORD     credentials for the registry\n"
    "  --registry-token TOKEN    a Bearer token for the registry\n"
    "  --identity-token TOKEN    an OAuth2 refresh token for the registry's token service\n"
    "  --docker-config FILE      Docker config.json for credentials\n"
    "  --platform OS/ARCH[/VAR]  platform to pick from an index\n"
    "  --auth-stdin              pull: credentials as JSON on stdin ({\"username\", \"password\",\n"
    "                            \"auth\", \"identity_token\", \"registry_token\"})\n"
    "  --sync-fd N               pull: one REF, \"ok ID\" / \"error KIND MSG\" on fd N\n"
    "  --max-layer-size BYTES    pull, import: largest uncompressed layer (K/M/G/T suffixes;\n"
    "                            default 32G); a bigger one fails, nothing of it is kept\n"
    "  --max-layer-entries N     pull, import: most entries in one layer (default 4M)\n"
    "  -o, --output FILE         output file (save)\n"
    "  -q, --quiet  -f, --force  --json  --debug\n";

int image_cli_fail(mascri_error_t *err)
{
  fprintf(stderr, "mascri image: %s\n", mascri_error_message(err));
  mascri_error_release(err);
  return 1;
}

int image_cli_fail_sync(struct image_cli *c, mascri_error_t *err)
{
  if (c->sync_fd >= 0) {
    _cleanup_free_ char *line = mascri_pull_status_error(err);
    _cleanup_error_ mascri_error_t werr = NULL;
    if (mascri_write_all(c->sync_fd, line, strlen(line), &werr) < 0)
      fprintf(stderr, "mascri image: status: %s\n", mascri_error_message(&werr));
  }
  return image_cli_fail(err);
}

static struct mascri_registry_host *host_entry(struct image_cli *c, const char *host)
{
  for (size_t i = 0; i < c->config.n_hosts; i++)
    if (strcmp(c->hosts[i].host, host) == 0)
      return &c->hosts[i];
  c->hosts = xrealloc(c->hosts, (c->config.n_hosts + 1) * sizeof(*c->hosts));
  memset(&c->hosts[c->config.n_hosts], 0, sizeof(*c->hosts));
  c->hosts[c->config.n_hosts].host = host;
  c->config.hosts = c->hosts;
  return &c->hosts[c->config.n_hosts++];
}

/* "HOST=VALUE": returns VALUE and cuts arg at '='. */
static char *split_eq(char *arg)
{
  char *eq = strchr(arg, '=');
  if (!eq) {
    fprintf(stderr, "mascri image: expected HOST=VALUE, got \"%s\"\n", arg);
    return NULL;
  }
  *eq = '\0';
  return eq + 1;
}

static int add_mirror(struct image_cli *c, char *arg)
{
  char *m = split_eq(arg);
  if (!m)
    return -1;
  struct mascri_registry_host *h = host_entry(c, arg);
  size_t n = 0;
  while (h->mirrors && h->mirrors[n])
    n++;
  const char **v = xrealloc((void *)h->mirrors, (n + 2) * sizeof(char *));
  v[n] = m;
  v[n + 1] = NULL;
  h->mirrors = v;
  return 0;
}

static int parse_creds(struct image_cli *c, char *arg)
{
  char *colon = strchr(arg, ':');
  if (!colon) {
    fprintf(stderr, "mascri image: --creds wants USER:PASSWORD\n");
    return -1;
  }
  *colon = '\0';
  c->auth.username = arg;
  c->auth.password = colon + 1;
  return 0;
}

enum {
  OPT_REGCFG = 255,
  OPT_ROOT = 256,
  OPT_INSECURE,
  OPT_MIRROR,
  OPT_CA,
  OPT_CREDS,
  OPT_TOKEN,
  OPT_IDTOKEN,
  OPT_DCFG,
  OPT_PLATFORM,
  OPT_JSON,
  OPT_DEBUG,
  OPT_SYNC_FD,
  OPT_AUTH_STDIN,
  OPT_MAX_LAYER_SIZE,
  OPT_MAX_LAYER_ENTRIES,
};

static const struct option options[] = {
    {"root", required_argument, NULL, OPT_ROOT},
    {"registries-config", required_argument, NULL, OPT_REGCFG},
    {"insecure-registry", required_argument, NULL, OPT_INSECURE},
    {"mirror", required_argument, NULL, OPT_MIRROR},
    {"ca-file", required_argument, NULL, OPT_CA},
    {"creds", required_argument, NULL, OPT_CREDS},
    {"registry-token", required_argument, NULL, OPT_TOKEN},
    {"identity-token", required_argument, NULL, OPT_IDTOKEN},
    {"docker-config", required_argument, NULL, OPT_DCFG},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"json", no_argument, NULL, OPT_JSON},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"sync-fd", required_argument, NULL, OPT_SYNC_FD},
    {"auth-stdin", no_argument, NULL, OPT_AUTH_STDIN},
    {"max-layer-size", required_argument, NULL, OPT_MAX_LAYER_SIZE},
    {"max-layer-entries", required_argument, NULL, OPT_MAX_LAYER_ENTRIES},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"force", no_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_option(struct image_cli *c, int opt)
{
  char *v;
  switch (opt) {
  case OPT_ROOT:
    c->root = optarg;
    return 0;
  case OPT_REGCFG:
    c->registries_config = optarg;
    return 0;
  case OPT_INSECURE:
    host_entry(c, optarg)->insecure = true;
    return 0;
  case OPT_MIRROR:
    return add_mirror(c, optarg);
  case OPT_CA:
    if (!(v = split_eq(optarg)))
      return -1;
    host_entry(c, optarg)->ca_file = v;
    return 0;
  case OPT_CREDS:
    return parse_creds(c, optarg);
  case OPT_TOKEN:
    c->auth.registry_token = optarg;
    return 0;
  case OPT_IDTOKEN:
    c->auth.identity_token = optarg;
    return 0;
  case OPT_DCFG:
    c->config.docker_config = optarg;
    return 0;
  case OPT_PLATFORM:
    c->platform = optarg;
    return 0;
  case OPT_JSON:
    c->json = true;
    return 0;
  case OPT_DEBUG:
    mascri_log_set_level(MASCRI_LOG_DEBUG);
    return 0;
  case OPT_SYNC_FD: {
    char *end = NULL;
    long fd = strtol(optarg, &end, 10);
    if (*optarg == '\0' || *end || fd < 3 || fd > 1024)
      return -1;
    c->sync_fd = (int)fd;
    return 0;
  }
  case OPT_AUTH_STDIN:
    c->auth_stdin = true;
    return 0;
  case OPT_MAX_LAYER_SIZE:
    return mascri_parse_size(optarg, false, &c->max_layer_bytes) ? 0 : -1;
  case OPT_MAX_LAYER_ENTRIES:
    return mascri_parse_size(optarg, false, &c->max_layer_entries) ? 0 : -1;
  case 'o':
    c->output = optarg;
    return 0;
  case 'q':
    c->quiet = true;
    return 0;
  case 'f':
    c->force = true;
    return 0;
  default:
    return -1;
  }
}

static const struct {
  const char *name;
  int (*fn)(struct image_cli *, int, char **);
} commands[] = {
    {"pull", image_cmd_pull},       {"ls", image_cmd_list},       {"list", image_cmd_list},
    {"inspect", image_cmd_inspect}, {"rm", image_cmd_rm},         {"rmi", image_cmd_rm},
    {"tag", image_cmd_tag},         {"prune", image_cmd_prune},   {"import", image_cmd_import},
    {"load", image_cmd_import},     {"save", image_cmd_save},     {"export", image_cmd_save},
    {"rootfs", image_cmd_rootfs},   {"fsinfo", image_cmd_fsinfo},
};

/* Command-line settings first (find_host takes the first match), then the file's. */
static int merge_file_config(struct image_cli *c, mascri_error_t *err)
{
  bool optional = !c->registries_config;
  if (mascri_registry_config_load(c->registries_config, optional, &c->file_config, err) < 0)
    return -1;
  const struct mascri_registry_config *f = c->file_config;
  for (size_t i = 0; i < f->n_hosts; i++) {
    c->hosts = xrealloc(c->hosts, (c->config.n_hosts + 1) * sizeof(*c->hosts));
    c->hosts[c->config.n_hosts++] = f->hosts[i];
  }
  c->config.hosts = c->hosts;
  if (!c->config.docker_config)
    c->config.docker_config = f->docker_config;
  if (!c->config.max_parallel)
    c->config.max_parallel = f->max_parallel;
  c->n_cli_hosts_owned = c->config.n_hosts - f->n_hosts;
  return 0;
}

static int run(struct image_cli *c, const char *name, int argc, char **argv)
{
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(commands[i].name, name) != 0)
      continue;
    mascri_error_t err = NULL;
    if (merge_file_config(c, &err) < 0 || mascri_image_store_open(c->root, &c->store, &err) < 0)
      return image_cli_fail_sync(c, &err);
    mascri_image_store_set_layer_limits(c->store, c->max_layer_bytes, c->max_layer_entries);
    int r = commands[i].fn(c, argc, argv);
    mascri_image_store_close(c->store);
    return r;
  }
  fprintf(stderr, "mascri image: unknown command \"%s\"\n%s", name, usage);
  return 2;
}

int mascri_image_cli_main(int argc, char **argv)
{
  struct image_cli c = {.root = MASCRI_IMAGE_DEFAULT_ROOT, .sync_fd = -1};
  int opt, r;
  mascri_log_set_program("mascri");
  optind = 1;
  /* options may come before and after the command */
  while ((opt = getopt_long(argc, argv, "+o:qfh", options, NULL)) != -1) {
    if (opt == 'h') {
      fputs(usage, stdout);
      return 0;
    }
    if (parse_option(&c, opt) < 0) {
      fputs(usage, stderr);
      return 2;
    }
  }
  if (optind >= argc) {
    fputs(usage, stderr);
    return 2;
  }
  const char *cmd = argv[optind];
  int sub_argc = argc - optind;
  char **sub_argv = argv + optind;
  optind = 1;
  while ((opt = getopt_long(sub_argc, sub_argv, "o:qfh", options, NULL)) != -1) {
    if (parse_option(&c, opt) < 0) {
      fputs(usage, stderr);
      return 2;
    }
  }
  r = run(&c, cmd, sub_argc - optind, sub_argv + optind);
  size_t owned = c.file_config ? c.n_cli_hosts_owned : c.config.n_hosts;
  for (size_t i = 0; i < owned; i++)
    free((void *)c.hosts[i].mirrors);
  free(c.hosts);
  mascri_registry_config_free(c.file_config);
  if (c.auth_doc)
    yajl_tree_free(c.auth_doc);
  return r;
}
