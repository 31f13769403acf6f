/* The built-in backend: bridge + veth per pod over netlink, IPAM on disk, nftables for
 * masquerade and hostPorts. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "netns/addr.h"
#include "netns/bridge.h"
#include "netns/link.h"
#include "netns/network-internal.h"
#include "netns/nft.h"
#include "netns/route.h"
#include "netns/veth.h"

#define POD_IFNAME "eth0"

static int enable_sysctl(const char *path, const char *what, const char *why, mascri_error_t *err)
{
  _cleanup_free_ char *cur = NULL;
  if (mascri_read_file(path, &cur, NULL, NULL) == 0 && cur[0] == '1')
    return 0;
  if (mascri_write_file_at(AT_FDCWD, path, "1", 1, err) < 0)
    return mascri_error_wrap(err, "enable %s", what);
  log_info("network: enabled %s (%s = 1) %s", what, path, why);
  return 0;
}

/* Creates the bridge if needed and gives it the gateway address of every range. Caller
 * holds net->lock. */
static int bridge_prepare_locked(struct mascri_network *net, struct mascri_nl *nl, int *index,
                                 mascri_error_t *err)
{
  if (mascri_bridge_ensure(nl, net->bridge, net->mtu, index, err) < 0)
    return -1;
  if (net->has4 &&
      mascri_addr_add(nl, *index, &net->range4.gateway, net->range4.cidr.prefix, err) < 0)
    return mascri_error_wrap(err, "bridge %s", net->bridge);
  if (net->has6 &&
      mascri_addr_add(nl, *index, &net->range6.gateway, net->range6.cidr.prefix, err) < 0)
    return mascri_error_wrap(err, "bridge %s", net->bridge);
  /* 127.0.0.1:hostPort from the node itself is DNATed to a pod behind the bridge: the kernel
   * drops 127/8-sourced packets routed off loopback unless route_localnet is set there (the
   * postrouting chain then masquerades them, as CNI's portmap plugin does). IPv6 has no such
   * switch: ::1 never leaves lo, so [::1]:hostPort is not served (nor is it by portmap). */
  _cleanup_free_ char *localnet =
      xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", net->bridge);
  if (net->has4 && enable_sysctl(localnet, "route_localnet on the bridge",
                                 "so that 127.0.0.1:hostPort reaches pods", err) < 0)
    return -1;
  return 0;
}

static int bridge_index(struct mascri_network *net, struct mascri_nl *nl, int *index,
                        mascri_error_t *err)
{
  mascri_error_t e = NULL;
  if (mascri_link_index(nl, net->bridge, index, &e) == 0)
    return 0;
  if (mascri_error_kind(&e) != MASCRI_ERR_NOT_FOUND) {
    mascri_error_move(err, &e);
    return mascri_error_retcode(err);
  }
  mascri_error_release(&e);
  log_warning("network: bridge %s disappeared, recreating it", net->bridge);
  pthread_mutex_lock(&net->lock);
  int r = bridge_prepare_locked(net, nl, index, err);
  pthread_mutex_unlock(&net->lock);
  return r;
}

static int nft_rebuild(struct mascri_network *net, const char *const *live, mascri_error_t *err)
{
  pthread_mutex_lock(&net->lock);
  char *base = mascri_nft_table_script(net->nft_table, net->cidrs, net->n_cidrs, net->masquerade);
  pthread_mutex_unlock(&net->lock);
  _cleanup_free_ char *script = base;
  for (const char *const *id = live; id && *id; id++) {
    _cleanup_record_ struct netns_record rec = {0};
    mascri_error_t e = NULL;
    if (netns_record_read(net->pods_dirfd, *id, &rec, &e) < 0 || rec.n_ports == 0) {
      mascri_error_release(&e);
      continue;
    }
    struct mascri_ip ip4, ip6;
    bool has4 = rec.ipv4 && mascri_ip_parse(rec.ipv4, &ip4) == 0;
    bool has6 = rec.ipv6 && mascri_ip_parse(rec.ipv6, &ip6) == 0;
    _cleanup_free_ char *ports = mascri_nft_ports_script(
        net->nft_table, true, has4 ? &ip4 : NULL, has6 ? &ip6 : NULL, rec.ports, rec.n_ports, &e);
    if (ports == NULL) {
      mascri_log_error_release(MASCRI_LOG_WARNING, &e, "network: restore port mappings");
      continue;
    }
    char *joined = xasprintf("%s%s", script, ports);
    free(script);
    script = joined;
  }
  return mascri_nft_run(net->nft, net->helpers_fd, script, err);
}

struct leak_ctx {
  int bridge;
  char **live_veths;
  char **leaked;
};

static void find_leaked_veth(const struct mascri_link_info *l, void *data)
{
  struct leak_ctx *ctx = data;
  if (l->master == ctx->bridge && strncmp(l->name, "mv", 2) == 0 &&
      !mascri_strv_contains(ctx->live_veths, l->name))
    mascri_strv_append(&ctx->leaked, l->name);
}

static int remove_leaked_veths(struct mascri_network *net, struct mascri_nl *nl, int bridge,
                               const char *const *live, mascri_error_t *err)
{
  struct leak_ctx ctx = {.bridge = bridge, .live_veths = xmalloc0(sizeof(char *))};
  for (const char *const *id = live; id && *id; id++) {
    char name[16];
    netns_veth_name(net, *id, name);
    mascri_strv_append(&ctx.live_veths, name);
  }
  int r = mascri_link_list(nl, find_leaked_veth, &ctx, err);
  for (char **n = ctx.leaked; r == 0 && n && *n; n++) {
    log_info("network: removing leaked veth %s", *n);
    r = mascri_link_delete(nl, *n, NULL, err);
  }
  mascri_strv_free(ctx.live_veths);
  mascri_strv_free(ctx.leaked);
  return r;
}

/* Tears down a recorded pod that is no longer live, even from an unreadable record. */
static int remove_dead_record(void *arg, const char *id, struct netns_record *rec,
                              mascri_error_t *read_err, mascri_error_t *err)
{
  struct mascri_network *net = arg;
  if (*read_err) {
    mascri_log_error_release(MASCRI_LOG_WARNING, read_err, "network: reconcile");
    free(rec->id);
    rec->id = xstrdup(id);
  }
  log_info("network: releasing the network of pod %s (no longer exists)", id);
  /* The table is rebuilt afterwards: its port mappings need no deletion. */
  rec->n_ports = 0;
  if (netns_builtin_teardown(net, rec, err) < 0 ||
      netns_record_remove(net->pods_dirfd, id, err) < 0)
    return -1;
  return 0;
}

int netns_builtin_open(struct mascri_network *net, const char *const *live, mascri_error_t *err)
{
  net->nft = mascri_nft_find();
  if (net->nft == NULL)
    return mascri_make_error_kind(
        err, MASCRI_ERR_FAILED_PRECONDITION, 0,
        "network: the nft program is not installed (Debian package nftables: "
        "apt-get install nftables); the built-in network needs it "
        "(--network none or cni does not)");
  _cleanup_nl_ struct mascri_nl *nl = NULL;
  if (mascri_nl_open(&nl, err) < 0)
    return -1;
  int bridge = 0;
  pthread_mutex_lock(&net->lock);
  int r = bridge_prepare_locked(net, nl, &bridge, err);
  pthread_mutex_unlock(&net->lock);
  if (r < 0)
    return -1;
  static const char reach[] = "so that pods can reach other networks";
  if (net->has4 &&
      enable_sysctl("/proc/sys/net/ipv4/ip_forward", "IPv4 forwarding", reach, err) < 0)
    return -1;
  if (net->has6 &&
      enable_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "IPv6 forwarding", reach, err) < 0)
    return -1;
  _cleanup_strv_ char **all = NULL;
  if (live == NULL) {
    /* No reconciliation: every recorded pod counts as live. */
    if (netns_record_scan(net->pods_dirfd, &all, err) < 0)
      return -1;
    return nft_rebuild(net, (const char *const *)all, err);
  }
  size_t released = 0;
  if (netns_record_for_each_dead(net->pods_dirfd, live, remove_dead_record, net, err) < 0 ||
      mascri_ipam_reconcile(net->ipam, live, &released, err) < 0 ||
      remove_leaked_veths(net, nl, bridge, live, err) < 0)
    return mascri_error_wrap(err, "network: reconcile");
  if (released)
    log_info("network: released %zu addresses of pods that no longer exist", released);
  return nft_rebuild(net, live, err);
}

/* Inside the pod: lo up; eth0 addresses, up; default routes. */
static int configure_pod(int nsfd, const struct netns_record *rec, mascri_error_t *err)
{
  _cleanup_nl_ struct mascri_nl *nl = NULL;
  if (mascri_nl_open_in_netns(nsfd, &nl, err) < 0)
    return -1;
  int lo = 0, eth = 0;
  if (mascri_link_index(nl, "lo", &lo, err) < 0 ||
      mascri_link_change(nl, lo, &(struct mascri_link_change){.up = true}, err) < 0 ||
      mascri_link_index(nl, POD_IFNAME, &eth, err) < 0)
    return -1;
  struct mascri_ip ip, gw;
  if (rec->ipv4 && mascri_ip_parse(rec->ipv4, &ip) == 0 &&
      mascri_addr_add(nl, eth, &ip, rec->prefix4, err) < 0)
    return -1;
  if (rec->ipv6 && mascri_ip_parse(rec->ipv6, &ip) == 0 &&
      mascri_addr_add(nl, eth, &ip, rec->prefix6, err) < 0)
    return -1;
  /* A pod without an IPv6 address has no use for a link-local one either (as Docker does on
   * IPv4-only networks); without it eth0 sends nothing the bridge floods to every pod. */
  if (rec->ipv6 == NULL && mascri_link_no_ipv6_linklocal(nl, eth, err) < 0)
    return -1;
  if (mascri_link_change(nl, eth, &(struct mascri_link_change){.up = true}, err) < 0)
    return -1;
  if (rec->gateway4 && mascri_ip_parse(rec->gateway4, &gw) == 0 &&
      mascri_route_add_default(nl, &gw, eth, err) < 0)
    return -1;
  if (rec->gateway6 && mascri_ip_parse(rec->gateway6, &gw) == 0 &&
      mascri_route_add_default(nl, &gw, eth, err) < 0)
    return -1;
  return 0;
}

/* Takes the pod's addresses and fills them into rec. */
static int allocate(struct mascri_network *net, struct netns_record *rec, mascri_error_t *err)
{
  char buf[MASCRI_IP_STRLEN];
  struct mascri_ip ip;
  pthread_mutex_lock(&net->lock);
  int r = 0;
  if (net->has4 && (r = mascri_ipam_allocate(net->ipam, &net->range4, rec->id, &ip, err)) == 0) {
    rec->ipv4 = xstrdup(mascri_ip_format(&ip, buf));
    rec->gateway4 = xstrdup(mascri_ip_format(&net->range4.gateway, buf));
    rec->prefix4 = net->range4.cidr.prefix;
  }
  if (r == 0 && net->has6 &&
      (r = mascri_ipam_allocate(net->ipam, &net->range6, rec->id, &ip, err)) == 0) {
    rec->ipv6 = xstrdup(mascri_ip_format(&ip, buf));
    rec->gateway6 = xstrdup(mascri_ip_format(&net->range6.gateway, buf));
    rec->prefix6 = net->range6.cidr.prefix;
  }
  pthread_mutex_unlock(&net->lock);
  return r;
}

static int ports_script_run(struct mascri_network *net, const struct netns_record *rec, bool add,
                            mascri_error_t *err)
{
  struct mascri_ip ip4, ip6;
  bool has4 = rec->ipv4 && mascri_ip_parse(rec->ipv4, &ip4) == 0;
  bool has6 = rec->ipv6 && mascri_ip_parse(rec->ipv6, &ip6) == 0;
  _cleanup_free_ char *script = mascri_nft_ports_script(
      net->nft_table, add, has4 ? &ip4 : NULL, has6 ? &ip6 : NULL, rec->ports, rec->n_ports, err);
  if (script == NULL)
    return -1;
  if (*script == '\0')
    return 0;
  return mascri_nft_run(net->nft, net->helpers_fd, script, err);
}

int netns_builtin_setup(struct mascri_network *net, const struct mascri_network_pod *pod,
                        struct netns_record *rec, mascri_error_t *err)
{
  char veth[16];
  netns_veth_name(net, pod->id, veth);
  rec->host_veth = xstrdup(veth);
  netns_record_set_ports(rec, pod->ports, pod->n_ports);
  if (pod->bandwidth)
    return mascri_make_error_kind(err, MASCRI_ERR_UNIMPLEMENTED, 0,
                                  "network: bandwidth limits need CNI mode");
  /* The record is on disk before anything exists, so any failure or crash from here on
   * leaves something teardown/reconcile can undo. */
  if (allocate(net, rec, err) < 0 || netns_record_write(net->pods_dirfd, rec, err) < 0)
    return -1;
  _cleanup_close_ int nsfd = open(pod->netns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return mascri_make_error(err, errno, "network: open netns %s", pod->netns_path);
  _cleanup_nl_ struct mascri_nl *nl = NULL;
  int bridge = 0;
  if (mascri_nl_open(&nl, err) < 0 || bridge_index(net, nl, &bridge, err) < 0 ||
      mascri_veth_create(nl, veth, POD_IFNAME, nsfd, net->mtu, bridge, err) < 0)
    return -1;
  int port = 0;
  /* The host end is a bridge port: it needs no IPv6 address of its own (the gateway's is on
   * the bridge). */
  if (mascri_link_index(nl, veth, &port, err) < 0 ||
      mascri_bridge_port_hairpin(nl, port, err) < 0 ||
      mascri_link_no_ipv6_linklocal(nl, port, err) < 0 ||
      mascri_link_change(nl, port, &(struct mascri_link_change){.up = true}, err) < 0)
    return -1;
  if (configure_pod(nsfd, rec, err) < 0)
    return mascri_error_wrap(err, "network: configure pod %s", pod->id);
  if (rec->n_ports && ports_script_run(net, rec, true, err) < 0)
    return mascri_error_wrap(err, "network: port mappings of pod %s", pod->id);
  return 0;
}

static int delete_ports(struct mascri_network *net, const struct netns_record *rec,
                        mascri_error_t *err)
{
  mascri_error_t e = NULL;
  if (ports_script_run(net, rec, false, &e) == 0)
    return 0;
  /* Some element is already gone (a table rebuilt meanwhile): delete them one by one. */
  mascri_error_release(&e);
  for (size_t i = 0; i < rec->n_ports; i++) {
    struct netns_record one = *rec;
    one.ports = &rec->ports[i];
    one.n_ports = 1;
    ports_script_run(net, &one, false, &e);
    mascri_error_release(&e);
  }
  return 0;
}

int netns_builtin_teardown(struct mascri_network *net, const struct netns_record *rec,
                           mascri_error_t *err)
{
  if (rec->n_ports)
    delete_ports(net, rec, err);
  _cleanup_nl_ struct mascri_nl *nl = NULL;
  if (mascri_nl_open(&nl, err) < 0)
    return -1;
  char veth[16];
  netns_veth_name(net, rec->id, veth);
  if (mascri_link_delete(nl, rec->host_veth ? rec->host_veth : veth, NULL, err) < 0)
    return -1;
  struct mascri_ip ip;
  if (rec->ipv4 && mascri_ip_parse(rec->ipv4, &ip) == 0 &&
      mascri_ipam_release(net->ipam, &ip, rec->id, err) < 0)
    return -1;
  if (rec->ipv6 && mascri_ip_parse(rec->ipv6, &ip) == 0 &&
      mascri_ipam_release(net->ipam, &ip, rec->id, err) < 0)
    return -1;
  if (rec->ipv4 == NULL && rec->ipv6 == NULL)
    return mascri_ipam_release_owner(net->ipam, rec->id, NULL, err);
  return 0;
}

int netns_builtin_check(struct mascri_network *net, const struct netns_record *rec,
                        mascri_error_t *err)
{
  _cleanup_nl_ struct mascri_nl *nl = NULL;
  int index = 0;
  if (mascri_nl_open(&nl, err) < 0 || mascri_link_index(nl, rec->host_veth, &index, err) < 0)
    return mascri_error_wrap(err, "network: check pod %s", rec->id);
  return 0;
}

int netns_builtin_add_cidr(struct mascri_network *net, const struct mascri_cidr *c,
                           mascri_error_t *err)
{
  _cleanup_nl_ struct mascri_nl *nl = NULL;
  int bridge = 0;
  if (mascri_nl_open(&nl, err) < 0)
    return -1;
  pthread_mutex_lock(&net->lock);
  int r = bridge_prepare_locked(net, nl, &bridge, err);
  pthread_mutex_unlock(&net->lock);
  if (r < 0)
    return -1;
  char buf[MASCRI_IP_STRLEN + 4];
  _cleanup_free_ char *script =
      xasprintf("add element inet %s %s { %s }\n", net->nft_table,
                c->net.family == AF_INET ? "cidr4" : "cidr6", mascri_cidr_format(c, buf));
  return mascri_nft_run(net->nft, net->helpers_fd, script, err);
}
