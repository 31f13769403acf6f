/* mascrid: the CRI daemon. Parses the optional configuration file and the flags into the
 * daemon configuration (embedded defaults otherwise), sets up logging and signals, and runs
 * the daemon. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/sd-listen.h"
#include "common/size.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "cri/config-file.h"
#include "cri/daemon.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/kernel-features.h"
#include "mascri-config.h"

enum {
  OPT_SOCKET = 0x100,
  OPT_ROOT,
  OPT_STATE,
  OPT_LOG_LEVEL,
  OPT_LOG_FORMAT,
  OPT_NETWORK,
  OPT_CNI_CONF_DIR,
  OPT_CNI_BIN_DIR,
  OPT_POD_CIDR,
  OPT_BRIDGE,
  OPT_NFT_TABLE,
  OPT_CGROUP_MANAGER,
  OPT_CGROUP_PARENT,
  OPT_REGISTRIES_CONFIG,
  OPT_PAUSE,
  OPT_MONITOR,
  OPT_DEFAULT_CAPS,
  OPT_MAX_CONNECTIONS,
  OPT_IDLE_TIMEOUT,
  OPT_MAX_LAYER_SIZE,
  OPT_MAX_LAYER_ENTRIES,
  OPT_STATS_PERIOD,
  OPT_STREAM_ADDRESS,
  OPT_STREAM_PORT,
  OPT_STREAM_IDLE_TIMEOUT,
  OPT_STREAM_TLS_CERT,
  OPT_STREAM_TLS_KEY,
  OPT_CONFIG,
  OPT_VERSION,
  OPT_HELP,
};

static const struct option options[] = {
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"root", required_argument, NULL, OPT_ROOT},
    {"state", required_argument, NULL, OPT_STATE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"cni-conf-dir", required_argument, NULL, OPT_CNI_CONF_DIR},
    {"cni-bin-dir", required_argument, NULL, OPT_CNI_BIN_DIR},
    {"pod-cidr", required_argument, NULL, OPT_POD_CIDR},
    {"bridge", required_argument, NULL, OPT_BRIDGE},
    {"nft-table", required_argument, NULL, OPT_NFT_TABLE},
    {"cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER},
    {"cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT},
    {"registries-config", required_argument, NULL, OPT_REGISTRIES_CONFIG},
    {"pause-binary", required_argument, NULL, OPT_PAUSE},
    {"monitor-binary", required_argument, NULL, OPT_MONITOR},
    {"default-capabilities", required_argument, NULL, OPT_DEFAULT_CAPS},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"max-layer-size", required_argument, NULL, OPT_MAX_LAYER_SIZE},
    {"max-layer-entries", required_argument, NULL, OPT_MAX_LAYER_ENTRIES},
    {"stats-period", required_argument, NULL, OPT_STATS_PERIOD},
    {"stream-address", required_argument, NULL, OPT_STREAM_ADDRESS},
    {"stream-port", required_argument, NULL, OPT_STREAM_PORT},
    {"stream-idle-timeout", required_argument, NULL, OPT_STREAM_IDLE_TIMEOUT},
    {"stream-tls-cert", required_argument, NULL, OPT_STREAM_TLS_CERT},
    {"stream-tls-key", required_argument, NULL, OPT_STREAM_TLS_KEY},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
  fputs("Usage: mascrid [OPTION]...\n"
        "The mascri CRI daemon: serves runtime.v1 (gRPC) to kubelet and crictl.\n\n"
        "  --socket PATH             CRI socket (default <state>/mascri.sock)\n"
        "  --root DIR                persistent state (default /var/lib/mascri)\n"
        "  --state DIR               volatile state (default /run/mascri)\n"
        "  --log-level LEVEL         error, warn, info (default) or debug\n"
        "  --log-format FORMAT       text (default) or json\n"
        "  --network MODE            auto (default), builtin, cni or none\n"
        "  --cni-conf-dir DIR        CNI configuration (default /etc/cni/net.d)\n"
        "  --cni-bin-dir DIR         CNI plugins (repeatable; default /opt/cni/bin, /usr/lib/cni)\n"
        "  --pod-cidr CIDR           built-in network's pod CIDR (default 10.89.0.0/16)\n"
        "  --bridge NAME             built-in network's bridge (default mascri0)\n"
        "  --nft-table NAME          built-in network's nftables table, family inet (default\n"
        "                            mascri); two daemons on one host need different ones\n"
        "  --cgroup-manager MANAGER  auto (default: systemd when systemd is PID 1, else\n"
        "                            cgroupfs), cgroupfs or systemd\n"
        "  --cgroup-parent NAME      parent of pod cgroups (default mascri / mascri.slice)\n"
        "  --registries-config FILE  registries file (mirrors, insecure hosts, CAs)\n"
        "  --pause-binary PATH       mascri-pause (default: next to mascrid)\n"
        "  --monitor-binary PATH     mascri-monitor (default: next to mascrid)\n"
        "  --default-capabilities LIST\n"
        "                            capabilities of containers that ask for nothing else,\n"
        "                            comma-separated (default: containerd's set)\n"
        "  --max-connections N       CRI connections at once; more wait (default 1024)\n"
        "  --idle-timeout SECONDS    close a CRI connection without calls after this long\n"
        "                            (default 300); one that sends no HTTP/2 in 10 s is closed\n"
        "  --max-layer-size BYTES    largest uncompressed image layer (K/M/G/T suffixes;\n"
        "                            default 32G): a bigger one fails the pull\n"
        "  --max-layer-entries N     most files and directories in one layer (default 4M)\n"
        "  --stats-period SECONDS    how often containers' writable layers are measured for\n"
        "                            the stats calls (default 10)\n"
        "  --stream-address ADDR     streaming server (exec, attach, port-forward) address\n"
        "                            (default 127.0.0.1)\n"
        "  --stream-port PORT        streaming server port (default 0: an ephemeral port)\n"
        "  --stream-idle-timeout DURATION\n"
        "                            close streams idle this long: 90s, 30m, 4h (default 4h)\n"
        "  --stream-tls-cert FILE, --stream-tls-key FILE\n"
        "                            TLS for the streaming server: not built (refused)\n"
        "  --config FILE             configuration file (default /etc/mascri/mascri.conf if it\n"
        "                            exists): a JSON object of these options' names and values,\n"
        "                            e.g. {\"log-level\": \"debug\"}; flags override it\n"
        "  --version                 print the version and exit\n"
        "  --help                    print this help and exit\n",
        out);
}

/* What parsing keeps alive for the daemon's configuration. The file's settings are parsed
 * first; a list option given on the command line replaces the file's list. */
struct parse_state {
  const char *source; /* NULL: the command line; else the configuration file */
  bool cmdline_bins, cmdline_caps;
  char **bin_dirs, **caps, **file_args;
};

static int bad_value(const struct parse_state *ps, const char *flag, const char *value)
{
  if (ps->source)
    fprintf(stderr, "mascrid: %s: invalid value for \"%s\": \"%s\" (see --help)\n", ps->source,
            flag, value);
  else
    fprintf(stderr, "mascrid: invalid value for --%s: \"%s\" (see --help)\n", flag, value);
  return -1;
}

static void add_list(struct parse_state *ps, char ***list, bool *cmdline_seen, const char *value,
                     bool split)
{
  if (!ps->source && !*cmdline_seen) {
    mascri_strv_free(*list);
    *list = NULL;
    *cmdline_seen = true;
  }
  if (!split) {
    mascri_strv_append(list, value);
    return;
  }
  _cleanup_strv_ char **parts = mascri_strv_split(value, ',');
  for (size_t i = 0; parts && parts[i]; i++)
    if (*parts[i])
      mascri_strv_append(list, parts[i]);
  if (!*list)
    *list = xcalloc(1, sizeof(char *)); /* an empty list: no capabilities at all */
}

static void parse_state_clear(struct parse_state *ps)
{
  mascri_strv_free(ps->bin_dirs);
  mascri_strv_free(ps->caps);
  mascri_strv_free(ps->file_args);
}

static int parse_port(const char *s, uint16_t *out)
{
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v > 65535 || *s == '-')
    return -1;
  *out = (uint16_t)v;
  return 0;
}

/* "90s", "30m", "4h", "1500ms" or plain seconds; > 0. */
static int parse_duration_ms(const char *s, uint64_t *out)
{
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *s == '-')
    return -1;
  uint64_t mult = strcmp(end, "ms") == 0                  ? 1
                  : strcmp(end, "s") == 0 || *end == '\0' ? 1000
                  : strcmp(end, "m") == 0                 ? 60000
                  : strcmp(end, "h") == 0                 ? 3600000
                                                          : 0;
  if (mult == 0 || v == 0 || v > UINT64_MAX / mult)
    return -1;
  *out = v * mult;
  return 0;
}

/* Returns 1 to run, 0 to exit successfully, -1 on a usage error. */
static int parse_pass(int argc, char **argv, struct mascri_daemon_config *cfg,
                      struct parse_state *ps)
{
  int opt, v;
  uint64_t u;
  optind = 0; /* a full re-initialisation of getopt for each pass */
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (opt) {
    case OPT_SOCKET:
      cfg->socket_path = optarg;
      break;
    case OPT_ROOT:
      cfg->root = optarg;
      break;
    case OPT_STATE:
      cfg->state = optarg;
      break;
    case OPT_LOG_LEVEL:
      if ((v = mascri_log_parse_level(optarg)) < 0)
        return bad_value(ps, "log-level", optarg);
      mascri_log_set_level((mascri_log_level_t)v);
      break;
    case OPT_LOG_FORMAT:
      if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0)
        return bad_value(ps, "log-format", optarg);
      mascri_log_to_fd(2, strcmp(optarg, "json") == 0 ? MASCRI_LOG_FORMAT_JSON
                                                      : MASCRI_LOG_FORMAT_TEXT);
      break;
    case OPT_NETWORK:
      if ((v = mascri_network_parse_mode(optarg)) < 0)
        return bad_value(ps, "network", optarg);
      cfg->net.mode = (mascri_network_mode_t)v;
      break;
    case OPT_CNI_CONF_DIR:
      cfg->net.cni_conf_dir = optarg;
      break;
    case OPT_CNI_BIN_DIR:
      add_list(ps, &ps->bin_dirs, &ps->cmdline_bins, optarg, false);
      cfg->net.cni_bin_dirs = (const char *const *)ps->bin_dirs;
      break;
    case OPT_POD_CIDR:
      cfg->net.pod_cidr = optarg;
      break;
    case OPT_BRIDGE:
      cfg->net.bridge = optarg;
      break;
    case OPT_NFT_TABLE:
      cfg->net.nft_table = optarg;
      break;
    case OPT_CGROUP_MANAGER:
      if (strcmp(optarg, "auto") == 0)
        cfg->cgroup_manager = mascri_cgroup_systemd_running() ? MASCRI_CGROUP_MANAGER_SYSTEMD
                                                              : MASCRI_CGROUP_MANAGER_CGROUPFS;
      else if (strcmp(optarg, "cgroupfs") == 0)
        cfg->cgroup_manager = MASCRI_CGROUP_MANAGER_CGROUPFS;
      else if (strcmp(optarg, "systemd") == 0)
        cfg->cgroup_manager = MASCRI_CGROUP_MANAGER_SYSTEMD;
      else
        return bad_value(ps, "cgroup-manager", optarg);
      break;
    case OPT_CGROUP_PARENT:
      cfg->cgroup_parent = optarg;
      break;
    case OPT_REGISTRIES_CONFIG:
      cfg->registry_config = optarg;
      break;
    case OPT_PAUSE:
      cfg->pause_path = optarg;
      break;
    case OPT_MONITOR:
      cfg->monitor_path = optarg;
      break;
    case OPT_DEFAULT_CAPS:
      add_list(ps, &ps->caps, &ps->cmdline_caps, optarg, true);
      cfg->default_capabilities = ps->caps;
      break;
    case OPT_MAX_CONNECTIONS:
    case OPT_IDLE_TIMEOUT:
      if (!mascri_parse_size(optarg, false, &u) || u > 1000000)
        return bad_value(ps, opt == OPT_MAX_CONNECTIONS ? "max-connections" : "idle-timeout",
                         optarg);
      if (opt == OPT_MAX_CONNECTIONS)
        cfg->max_connections = (unsigned)u;
      else
        cfg->idle_timeout_s = (unsigned)u;
      break;
    case OPT_MAX_LAYER_SIZE:
      if (!mascri_parse_size(optarg, false, &cfg->max_layer_bytes))
        return bad_value(ps, "max-layer-size", optarg);
      break;
    case OPT_MAX_LAYER_ENTRIES:
      if (!mascri_parse_size(optarg, false, &cfg->max_layer_entries))
        return bad_value(ps, "max-layer-entries", optarg);
      break;
    case OPT_STATS_PERIOD: {
      char *end = NULL;
      double secs = strtod(optarg, &end);
      if (!end || end == optarg || *end || !(secs >= 0.05 && secs <= 3600))
        return bad_value(ps, "stats-period", optarg);
      cfg->stats_period_ms = (unsigned)(secs * 1000);
      break;
    }
    case OPT_STREAM_ADDRESS:
      cfg->stream.address = optarg;
      break;
    case OPT_STREAM_PORT:
      if (parse_port(optarg, &cfg->stream.port) < 0)
        return bad_value(ps, "stream-port", optarg);
      break;
    case OPT_STREAM_IDLE_TIMEOUT:
      if (parse_duration_ms(optarg, &cfg->stream.idle_timeout_ms) < 0)
        return bad_value(ps, "stream-idle-timeout", optarg);
      break;
    case OPT_STREAM_TLS_CERT:
      cfg->stream.tls_cert = optarg;
      break;
    case OPT_STREAM_TLS_KEY:
      cfg->stream.tls_key = optarg;
      break;
    case OPT_CONFIG:
      break; /* read before the passes */
    case OPT_VERSION:
      printf("mascrid version %s\n", MASCRI_VERSION);
      return 0;
    case OPT_HELP:
      usage(stdout);
      return 0;
    default:
      if (ps->source)
        fprintf(stderr, "mascrid: %s: unknown or misused setting (see --help)\n", ps->source);
      else
        usage(stderr);
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "mascrid: unexpected argument \"%s\" (see --help)\n", argv[optind]);
    return -1;
  }
  return 1;
}

/* The --config value, looked up before parsing anything (NULL when not given). */
static const char *config_flag(int argc, char **argv)
{
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      break;
    if (strncmp(argv[i], "--config=", 9) == 0)
      path = argv[i] + 9;
    else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
      path = argv[++i];
  }
  return path;
}

static int parse_args(int argc, char **argv, struct mascri_daemon_config *cfg,
                      struct parse_state *ps)
{
  const char *path = config_flag(argc, argv);
  _cleanup_error_ mascri_error_t err = NULL;
  const char *file = path ? path : mascri_config_file_default_path();
  if (mascri_config_file_args(file, path != NULL, &ps->file_args, &err) < 0) {
    fprintf(stderr, "mascrid: %s\n", mascri_error_message(&err));
    return -1;
  }
  if (ps->file_args) {
    size_t n = mascri_strv_length(ps->file_args);
    _cleanup_free_ char **fargv = xcalloc(n + 2, sizeof(char *));
    fargv[0] = argv[0];
    memcpy(fargv + 1, ps->file_args, n * sizeof(char *));
    ps->source = file;
    int r = parse_pass((int)n + 1, fargv, cfg, ps);
    if (r <= 0)
      return r;
    ps->source = NULL;
  }
  int r = parse_pass(argc, argv, cfg, ps);
  uint64_t mask;
  _cleanup_error_ mascri_error_t cerr = NULL;
  if (r > 0 && ps->caps && mascri_caps_from_names(ps->caps, &mask, &cerr) < 0) {
    fprintf(stderr, "mascrid: default capabilities: %s\n", mascri_error_message(&cerr));
    return -1;
  }
  return r;
}

/* SIGTERM/SIGINT arrive through the server's signalfd: blocked here, before any thread
 * starts, so every thread inherits the mask. SIGPIPE is ignored (sockets and pipes to
 * clients or plugins that went away). Children must restore both before exec. */
static void setup_signals(void)
{
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
  struct mascri_daemon_config cfg = {0};
  /* --cgroup-manager auto: what kubelet on this host most likely uses (its cgroupDriver is
   * checked against RuntimeConfig) */
  cfg.cgroup_manager = mascri_cgroup_systemd_running() ? MASCRI_CGROUP_MANAGER_SYSTEMD
                                                       : MASCRI_CGROUP_MANAGER_CGROUPFS;
  struct parse_state ps = {0};
  mascri_log_set_program("mascrid");
  mascri_log_set_level(MASCRI_LOG_INFO);
  int r = parse_args(argc, argv, &cfg, &ps);
  if (r <= 0) {
    parse_state_clear(&ps);
    return r < 0 ? 2 : 0;
  }
  setup_signals();
  /* One malloc arena for every thread: the records of pods and containers are made by
   * whichever worker ran the call, and with an arena per worker each kept its own partly
   * used heap (1,000 pods: three arenas of 1.1-1.4 MiB). CRI calls are not malloc-bound. */
  mallopt(M_ARENA_MAX, 1);
  /* Buffers of 128 KiB and more (a List* response over hundreds of pods) mmap'ed and
   * unmapped when freed, always: glibc would otherwise raise this threshold after the first
   * such free and keep the next ones in the heap, where only malloc_trim gives them back. */
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  /* Before any thread starts: it unsets LISTEN_* (setenv is not thread-safe). */
  int n_fds = mascri_sd_listen_fds();
  if (n_fds < 0) {
    log_error("socket activation: malformed LISTEN_FDS/LISTEN_PID or closed fds");
    parse_state_clear(&ps);
    return 1;
  }
  if (n_fds > 1)
    log_warning("socket activation: %d sockets passed, serving the first", n_fds);
  cfg.inherited_fd = n_fds > 0 ? MASCRI_SD_LISTEN_FDS_START : 0;

  _cleanup_error_ mascri_error_t err = NULL;
  struct mascri_daemon *d = NULL;
  if (mascri_daemon_open(&cfg, &d, &err) < 0) {
    mascri_log_error_release(MASCRI_LOG_ERROR, &err, "cannot start");
    parse_state_clear(&ps);
    return 1;
  }
  log_info("mascrid %s starting (root %s, state %s)", MASCRI_VERSION, d->cfg.root, d->cfg.state);
  mascri_kernel_features_report();
  r = mascri_daemon_run(d, &err);
  if (r < 0)
    mascri_log_error_release(MASCRI_LOG_ERROR, &err, "server");
  mascri_daemon_close(d);
  parse_state_clear(&ps);
  log_info("mascrid stopped");
  return r < 0 ? 1 : 0;
}
