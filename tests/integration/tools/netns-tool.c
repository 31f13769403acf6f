/* netns-tool: drives the pod networking facade from the integration tests and the bench.
 *
 *   netns-tool [options] open                      open (reconcile with --live) and exit
 *   netns-tool [options] setup --id ID --netns P   print the result as JSON
 *   netns-tool [options] teardown --id ID [--netns P]
 *   netns-tool [options] check --id ID --netns P
 *   netns-tool [options] get --id ID
 *   netns-tool [options] status
 *   netns-tool [options] cycle N --id ID --netns P   N setup/teardown rounds in one process
 *   netns-tool [options] bench NETNS...            setup per netns, timed; prints per-pod
 *                                                  microseconds, then tears all down
 *   netns-tool [options] parallel-setup NETNS...   one thread per netns, all at once, pod
 *                                                  ids par-<i>; prints one result per line
 *   netns-tool [options] parallel-teardown NETNS...
 * options: --mode --bridge --cidr --cidr6 --state-dir --table --cni-conf-dir --cni-bin-dir
 *          --cni-cache-dir --live a,b,c --port proto:host:container[:hostIP] --name --namespace
 *          --update-cidr CIDR (applied after open) --mtu N --plugin-timeout-ms N
 *          --cidr-none (no IPv4) --no-masquerade --bandwidth IN:OUT --dns-server IP
 *          --dns-search DOMAIN --request-ip CIDR (CNI runtimeConfig) */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "netns/network.h"

struct opts {
  struct mascri_network_config cfg;
  const char *bins[8];
  size_t n_bins;
  char **live;
  bool live_given;
  struct mascri_network_pod pod;
  struct mascri_port_mapping ports[16];
  const char *update_cidr;
  struct mascri_network_bandwidth bw;
  char **dns_servers, **dns_searches, **request_ips;
};

static int parse_port(const char *s, struct mascri_port_mapping *p)
{
  char **f = mascri_strv_split(s, ':');
  size_t n = mascri_strv_length(f);
  /* proto:host:container[:hostIP]; an IPv6 hostIP keeps its colons. */
  if (n < 3) {
    mascri_strv_free(f);
    return -1;
  }
  p->protocol = strcmp(f[0], "udp") == 0    ? MASCRI_PROTO_UDP
                : strcmp(f[0], "sctp") == 0 ? MASCRI_PROTO_SCTP
                                            : MASCRI_PROTO_TCP;
  p->host_port = (uint16_t)atoi(f[1]);
  p->container_port = (uint16_t)atoi(f[2]);
  if (n > 3) {
    const char *rest = s;
    for (int i = 0; i < 3; i++)
      rest = strchr(rest, ':') + 1;
    p->host_ip = xstrdup(rest);
  }
  mascri_strv_free(f);
  return 0;
}

static const struct option longopts[] = {
    {"mode", 1, 0, 'm'},
    {"bridge", 1, 0, 'b'},
    {"cidr", 1, 0, 'c'},
    {"cidr6", 1, 0, '6'},
    {"state-dir", 1, 0, 's'},
    {"table", 1, 0, 't'},
    {"cni-conf-dir", 1, 0, 'C'},
    {"cni-bin-dir", 1, 0, 'B'},
    {"cni-cache-dir", 1, 0, 'K'},
    {"live", 1, 0, 'l'},
    {"id", 1, 0, 'i'},
    {"netns", 1, 0, 'n'},
    {"port", 1, 0, 'p'},
    {"name", 1, 0, 'N'},
    {"namespace", 1, 0, 'S'},
    {"update-cidr", 1, 0, 'u'},
    {"mtu", 1, 0, 'M'},
    {"plugin-timeout-ms", 1, 0, 'T'},
    {"cidr-none", 0, 0, '0'},
    {"no-masquerade", 0, 0, 'Q'},
    {"bandwidth", 1, 0, 'W'},
    {"dns-server", 1, 0, 'D'},
    {"dns-search", 1, 0, 'E'},
    {"request-ip", 1, 0, 'I'},
    {0, 0, 0, 0},
};

/* Applies one option; -1 for a bad one. */
static int apply_opt(struct opts *o, int c, char *arg)
{
  switch (c) {
  case 'm':
    o->cfg.mode = (mascri_network_mode_t)mascri_network_parse_mode(arg);
    break;
  case 'b':
    o->cfg.bridge = arg;
    break;
  case 'c':
    o->cfg.pod_cidr = arg;
    break;
  case '6':
    o->cfg.pod_cidr6 = arg;
    break;
  case 's':
    o->cfg.state_dir = arg;
    break;
  case 't':
    o->cfg.nft_table = arg;
    break;
  case 'C':
    o->cfg.cni_conf_dir = arg;
    break;
  case 'B':
    if (o->n_bins < 7)
      o->bins[o->n_bins++] = arg;
    break;
  case 'K':
    o->cfg.cni_cache_dir = arg;
    break;
  case 'l':
    o->live = mascri_strv_split(arg, ',');
    o->live_given = true;
    break;
  case 'i':
    o->pod.id = arg;
    break;
  case 'n':
    o->pod.netns_path = arg;
    break;
  case 'p':
    if (o->pod.n_ports >= 16 || parse_port(arg, &o->ports[o->pod.n_ports]) < 0)
      return -1;
    o->pod.n_ports++;
    break;
  case 'N':
    o->pod.name = arg;
    break;
  case 'S':
    o->pod.namespace = arg;
    break;
  case 'u':
    o->update_cidr = arg;
    break;
  case 'M':
    o->cfg.mtu = (unsigned)atoi(arg);
    break;
  case 'T':
    o->cfg.plugin_timeout_ms = (unsigned)atoi(arg);
    break;
  case 'W': /* ingress:egress in bits/s, burst = rate */
    o->bw.ingress_rate = o->bw.ingress_burst = strtoull(arg, NULL, 10);
    o->bw.egress_rate = o->bw.egress_burst =
        strchr(arg, ':') ? strtoull(strchr(arg, ':') + 1, NULL, 10) : 0;
    o->pod.bandwidth = &o->bw;
    break;
  case 'D':
    mascri_strv_append(&o->dns_servers, arg);
    break;
  case 'E':
    mascri_strv_append(&o->dns_searches, arg);
    break;
  case 'I':
    mascri_strv_append(&o->request_ips, arg);
    break;
  case 'Q':
    o->cfg.no_masquerade = true;
    break;
  case '0':
    o->cfg.pod_cidr = "";
    break;
  default:
    return -1;
  }
  return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
    if (apply_opt(o, c, optarg) < 0)
      return -1;
  o->cfg.cni_bin_dirs = o->n_bins ? o->bins : NULL;
  o->pod.ports = o->ports;
  o->pod.dns_servers = (const char *const *)o->dns_servers;
  o->pod.dns_searches = (const char *const *)o->dns_searches;
  o->pod.request_ips = (const char *const *)o->request_ips;
  return 0;
}

static void print_result(const struct mascri_network_result *r)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  if (r->ipv4)
    mascri_json_gen_kv_string(g, "ipv4", r->ipv4);
  if (r->ipv6)
    mascri_json_gen_kv_string(g, "ipv6", r->ipv6);
  if (r->gateway4)
    mascri_json_gen_kv_string(g, "gateway4", r->gateway4);
  if (r->gateway6)
    mascri_json_gen_kv_string(g, "gateway6", r->gateway6);
  mascri_json_gen_kv_int(g, "prefix4", r->prefix4);
  mascri_json_gen_kv_int(g, "prefix6", r->prefix6);
  if (r->interface)
    mascri_json_gen_kv_string(g, "interface", r->interface);
  if (r->dns_servers)
    mascri_json_gen_kv_strv(g, "dnsServers", r->dns_servers);
  yajl_gen_map_close(g);
  _cleanup_free_ char *s = mascri_json_gen_take(g, NULL);
  printf("%s\n", s);
}

static long long now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fail(mascri_error_t *err)
{
  fprintf(stderr, "netns-tool: %s (%s)\n", mascri_error_message(err),
          mascri_error_kind_name(mascri_error_kind(err)));
  mascri_error_release(err);
  return 1;
}

static int cmd_bench(struct mascri_network *net, struct opts *o, char **paths, mascri_error_t *err)
{
  size_t n = mascri_strv_length(paths);
  int r = 0;
  size_t done = 0;
  for (; done < n; done++) {
    struct mascri_network_pod pod = o->pod;
    _cleanup_free_ char *id = xasprintf("bench-%zu", done);
    pod.id = id;
    pod.netns_path = paths[done];
    struct mascri_network_result *res = NULL;
    long long t0 = now_us();
    r = mascri_network_setup(net, &pod, &res, err);
    long long t1 = now_us();
    if (r < 0)
      break;
    printf("%lld\n", t1 - t0);
    mascri_network_result_free(res);
  }
  for (size_t i = 0; i < done; i++) {
    _cleanup_free_ char *id = xasprintf("bench-%zu", i);
    struct mascri_network_pod pod = {.id = id, .netns_path = paths[i]};
    mascri_error_t e = NULL;
    if (mascri_network_teardown(net, &pod, &e) < 0)
      fail(&e);
  }
  return r;
}

static int cmd_cycle(struct mascri_network *net, struct opts *o, long n, mascri_error_t *err)
{
  for (long i = 0; i < n; i++) {
    struct mascri_network_result *res = NULL;
    if (mascri_network_setup(net, &o->pod, &res, err) < 0)
      return mascri_error_wrap(err, "round %ld", i);
    mascri_network_result_free(res);
    if (mascri_network_teardown(net, &o->pod, err) < 0)
      return mascri_error_wrap(err, "round %ld", i);
  }
  return 0;
}

struct par_job {
  struct mascri_network *net;
  bool setup;
  char id[32];
  const char *netns;
  struct mascri_network_result *res;
  mascri_error_t err;
  int r;
};

static void *par_main(void *arg)
{
  struct par_job *j = arg;
  struct mascri_network_pod pod = {.id = j->id, .netns_path = j->netns};
  if (j->setup)
    j->r = mascri_network_setup(j->net, &pod, &j->res, &j->err);
  else
    j->r = mascri_network_teardown(j->net, &pod, &j->err);
  return NULL;
}

/* Exercises the handle's thread safety: every pod at once from its own thread. */
static int cmd_parallel(struct mascri_network *net, bool setup, char **paths, mascri_error_t *err)
{
  size_t n = mascri_strv_length(paths);
  struct par_job *jobs = xcalloc(n, sizeof(*jobs));
  pthread_t *th = xcalloc(n, sizeof(*th));
  for (size_t i = 0; i < n; i++) {
    jobs[i] = (struct par_job){.net = net, .setup = setup, .netns = paths[i]};
    snprintf(jobs[i].id, sizeof(jobs[i].id), "par-%zu", i);
    pthread_create(&th[i], NULL, par_main, &jobs[i]);
  }
  int r = 0;
  for (size_t i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    if (jobs[i].r < 0) {
      if (r == 0)
        mascri_error_move(err, &jobs[i].err);
      mascri_error_release(&jobs[i].err);
      r = -1;
    } else if (jobs[i].res) {
      print_result(jobs[i].res);
      mascri_network_result_free(jobs[i].res);
    }
  }
  free(jobs);
  free(th);
  return r;
}

static int run(struct mascri_network *net, struct opts *o, char **args, mascri_error_t *err)
{
  const char *cmd = args[0];
  struct mascri_network_result *res = NULL;
  if (strcmp(cmd, "open") == 0)
    return 0;
  if (strcmp(cmd, "setup") == 0) {
    if (mascri_network_setup(net, &o->pod, &res, err) < 0)
      return -1;
    print_result(res);
    mascri_network_result_free(res);
    return 0;
  }
  if (strcmp(cmd, "get") == 0) {
    if (mascri_network_get_pod(net, o->pod.id, &res, err) < 0)
      return -1;
    print_result(res);
    mascri_network_result_free(res);
    return 0;
  }
  if (strcmp(cmd, "teardown") == 0)
    return mascri_network_teardown(net, &o->pod, err);
  if (strcmp(cmd, "check") == 0)
    return mascri_network_check(net, &o->pod, err);
  if (strcmp(cmd, "status") == 0) {
    bool ready = false;
    char *reason = NULL;
    mascri_network_status(net, &ready, &reason);
    printf("{\"ready\": %s, \"reason\": \"%s\", \"mode\": \"%s\"}\n", ready ? "true" : "false",
           reason ? reason : "", mascri_network_mode_name(mascri_network_mode(net)));
    free(reason);
    return 0;
  }
  if (strcmp(cmd, "cycle") == 0 && args[1])
    return cmd_cycle(net, o, atol(args[1]), err);
  if (strcmp(cmd, "bench") == 0)
    return cmd_bench(net, o, args + 1, err);
  if (strcmp(cmd, "parallel-setup") == 0)
    return cmd_parallel(net, true, args + 1, err);
  if (strcmp(cmd, "parallel-teardown") == 0)
    return cmd_parallel(net, false, args + 1, err);
  return mascri_make_error(err, 0, "unknown command %s", cmd);
}

int main(int argc, char **argv)
{
  struct opts o = {0};
  mascri_log_set_program("netns-tool");
  if (getenv("NETNS_TOOL_DEBUG"))
    mascri_log_set_level(MASCRI_LOG_DEBUG);
  if (parse_opts(argc, argv, &o) < 0 || optind >= argc) {
    fprintf(stderr, "usage: netns-tool [options] open|setup|teardown|check|get|status|cycle N|"
                    "bench NETNS...\n");
    return 2;
  }
  mascri_error_t err = NULL;
  struct mascri_network *net = NULL;
  if (mascri_network_open(&o.cfg, o.live_given ? (const char *const *)o.live : NULL, &net, &err) <
      0)
    return fail(&err);
  int r = 0;
  if (o.update_cidr)
    r = mascri_network_update_pod_cidr(net, o.update_cidr, &err);
  if (r == 0)
    r = run(net, &o, argv + optind, &err);
  mascri_network_close(net);
  mascri_strv_free(o.live);
  mascri_strv_free(o.dns_servers);
  mascri_strv_free(o.dns_searches);
  mascri_strv_free(o.request_ips);
  for (size_t i = 0; i < o.pod.n_ports; i++)
    free((char *)o.ports[i].host_ip);
  return r < 0 ? fail(&err) : 0;
}
