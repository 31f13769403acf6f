/* The pod networking facade: configuration, the handle, and per-pod bookkeeping shared by
 * both backends (records, in-flight guard, results).
 *
 * nftables through the nft command rather than libnftnl: the rules are written once per
 * open as one readable, atomic nft script, and per pod only map elements change, so nft
 * runs only for pods with hostPorts (a pod without them costs no exec at all). libnftnl
 * would mean hand-assembling expression bytecode for fib/concatenation/map lookups, a lot
 * of fragile code for no gain on the hot path. */
#include "netns/network.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "netns/link.h"
#include "netns/network-internal.h"
#include "netns/nl.h"

#define HELPERS_LOCK "helpers.lock"

static const char *const mode_names[] = {
    [MASCRI_NETWORK_AUTO] = "auto",
    [MASCRI_NETWORK_BUILTIN] = "builtin",
    [MASCRI_NETWORK_CNI] = "cni",
    [MASCRI_NETWORK_NONE] = "none",
};

int mascri_network_parse_mode(const char *name)
{
  if (name == NULL)
    return -1;
  if (strcmp(name, "bridge") == 0)
    return MASCRI_NETWORK_BUILTIN;
  for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
    if (strcmp(name, mode_names[i]) == 0)
      return (int)i;
  return -1;
}

const char *mascri_network_mode_name(mascri_network_mode_t mode)
{
  return (unsigned)mode < ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

mascri_network_mode_t mascri_network_mode(const struct mascri_network *net)
{
  return net->mode;
}

void netns_veth_name(const struct mascri_network *net, const char *pod_id, char name[16])
{
  /* FNV-1a over "bridge/pod": stable across restarts, distinct per network. */
  uint64_t h = UINT64_C(14695981039346656037);
  for (const char *s = net->bridge; *s; s++)
    h = (h ^ (uint8_t)*s) * UINT64_C(1099511628211);
  h = (h ^ '/') * UINT64_C(1099511628211);
  for (const char *s = pod_id; *s; s++)
    h = (h ^ (uint8_t)*s) * UINT64_C(1099511628211);
  snprintf(name, 16, "mv%012llx", (unsigned long long)(h & UINT64_C(0xffffffffffff)));
}

void mascri_network_result_free(struct mascri_network_result *res)
{
  if (res == NULL)
    return;
  free(res->ipv4);
  free(res->ipv6);
  free(res->gateway4);
  free(res->gateway6);
  free(res->interface);
  mascri_strv_free(res->dns_servers);
  mascri_strv_free(res->dns_searches);
  mascri_strv_free(res->dns_options);
  free(res);
}

static bool valid_pod_id(const char *id)
{
  if (id == NULL || *id == '\0' || *id == '.' || strlen(id) > 200)
    return false;
  for (const char *p = id; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
      return false;
  return true;
}

static char *dup_or(const char *s, const char *def)
{
  return xstrdup(s && *s ? s : def);
}

/* Sets an IPv4 or IPv6 range from cidr (by its family); caller holds net->lock or owns net. */
static int set_range(struct mascri_network *net, const char *cidr, struct mascri_cidr *parsed,
                     mascri_error_t *err)
{
  if (mascri_cidr_parse(cidr, parsed, err) < 0)
    return -1;
  struct mascri_ipam_range r;
  if (mascri_ipam_range_init(&r, parsed, err) < 0)
    return -1;
  if (parsed->net.family == AF_INET) {
    net->range4 = r;
    net->has4 = true;
  } else {
    net->range6 = r;
    net->has6 = true;
  }
  net->cidrs = xrealloc(net->cidrs, (net->n_cidrs + 1) * sizeof(*net->cidrs));
  net->cidrs[net->n_cidrs++] = *parsed;
  return 0;
}

/* The name is pasted into nft scripts: keep it to what nft reads as a plain identifier. */
static bool valid_nft_name(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 64 || !isalpha((unsigned char)s[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_')
      return false;
  return true;
}

static int copy_config(struct mascri_network *net, const struct mascri_network_config *c,
                       mascri_error_t *err)
{
  static const char *const default_bins[] = {"/opt/cni/bin", "/usr/lib/cni", NULL};
  net->bridge = dup_or(c->bridge, "mascri0");
  if (strlen(net->bridge) > 15)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "network: bridge name \"%s\" is longer than 15 characters",
                                  net->bridge);
  net->state_dir = dup_or(c->state_dir, "/var/lib/mascri/ipam");
  net->nft_table = dup_or(c->nft_table, "mascri");
  if (!valid_nft_name(net->nft_table))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "network: nftables table name \"%s\" is not a letter followed "
                                  "by up to 63 letters, digits or '_'",
                                  net->nft_table);
  net->cni_conf_dir = dup_or(c->cni_conf_dir, "/etc/cni/net.d");
  net->cni_cache_dir = dup_or(c->cni_cache_dir, "/var/lib/mascri/cni");
  net->cni_bin_dirs = mascri_strv_dup(
      (char *const *)(c->cni_bin_dirs && c->cni_bin_dirs[0] ? c->cni_bin_dirs : default_bins));
  net->mtu = c->mtu ? c->mtu : 1500;
  net->plugin_timeout_ms = c->plugin_timeout_ms ? c->plugin_timeout_ms : 60000;
  net->masquerade = !c->no_masquerade;
  struct mascri_cidr parsed;
  const char *cidr4 = c->pod_cidr ? c->pod_cidr : "10.89.0.0/16";
  if (*cidr4 && set_range(net, cidr4, &parsed, err) < 0)
    return mascri_error_wrap(err, "network: pod CIDR");
  if (c->pod_cidr6 && *c->pod_cidr6 && set_range(net, c->pod_cidr6, &parsed, err) < 0)
    return mascri_error_wrap(err, "network: IPv6 pod CIDR");
  return 0;
}

static mascri_network_mode_t resolve_mode(const struct mascri_network *net,
                                          mascri_network_mode_t mode);

static const char *state_dir(const struct mascri_network *net)
{
  return net->mode == MASCRI_NETWORK_CNI ? net->cni_cache_dir : net->state_dir;
}

/* Built-in: <state_dir>/{pods,ips}. CNI: pod records (the cached ADD results) in
 * <cni_cache_dir>/pods; plugins do their own IPAM. */
static int open_state(struct mascri_network *net, mascri_error_t *err)
{
  const char *dir = state_dir(net);
  _cleanup_free_ char *pods = mascri_path_join(dir, "pods");
  _cleanup_free_ char *ips = mascri_path_join(net->state_dir, "ips");
  if (mascri_mkdir_p(pods, 0700, err) < 0)
    return mascri_error_wrap(err, "network state");
  net->pods_dirfd = open(pods, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (net->pods_dirfd < 0)
    return mascri_make_error(err, errno, "network: open %s", pods);
  if (net->mode != MASCRI_NETWORK_BUILTIN)
    return 0;
  return mascri_ipam_open(ips, &net->ipam, err);
}

/* <state>/helpers.lock: every helper (nft, CNI plugins) runs holding the handle's open file
 * of it (mascri_exec_keeping), and so does what a helper starts (an IPAM plugin). Helpers
 * are not killed with a daemon that is: a plugin killed mid-ADD goes on, and a reconciling
 * DEL that ran before it is done would leave what it makes afterwards to nobody. So a
 * handle that reconciles takes the lock exclusively first (waiting at most the plugin
 * timeout, then going ahead with a warning) and shares it once reconciled; a handle that
 * does not reconcile only shares it. */
static int lock_out_earlier_helpers(struct mascri_network *net, const char *dir, bool exclusive,
                                    mascri_error_t *err)
{
  _cleanup_free_ char *path = mascri_path_join(dir, HELPERS_LOCK);
  net->helpers_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (net->helpers_fd < 0)
    return mascri_make_error(err, errno, "network: open %s", path);
  int op = exclusive ? LOCK_EX : LOCK_SH;
  if (flock(net->helpers_fd, op | LOCK_NB) == 0)
    return 0;
  if (errno != EWOULDBLOCK)
    return mascri_make_error(err, errno, "network: lock %s", path);
  log_info("network: waiting for the helpers of an earlier process to finish (%s)", path);
  const struct timespec tick = {0, 10 * 1000 * 1000};
  for (unsigned waited = 0; waited < net->plugin_timeout_ms; waited += 10) {
    nanosleep(&tick, NULL);
    if (flock(net->helpers_fd, op | LOCK_NB) == 0)
      return 0;
  }
  log_warning("network: helpers of an earlier process still run after %u ms, going ahead",
              net->plugin_timeout_ms);
  return 0;
}

int mascri_network_open(const struct mascri_network_config *config, const char *const *live_pod_ids,
                        struct mascri_network **out, mascri_error_t *err)
{
  struct mascri_network *net = xmalloc0(sizeof(*net));
  net->pods_dirfd = -1;
  net->helpers_fd = -1;
  pthread_mutex_init(&net->lock, NULL);
  net->in_flight = xmalloc0(sizeof(char *));
  int r = copy_config(net, config, err);
  if (r == 0) {
    net->mode = resolve_mode(net, config->mode);
    r = open_state(net, err);
  }
  if (r == 0) {
    if (net->mode == MASCRI_NETWORK_BUILTIN && !net->has4 && !net->has6)
      r = mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                 "network: no pod CIDR configured");
  }
  if (r == 0 && net->mode != MASCRI_NETWORK_NONE)
    r = lock_out_earlier_helpers(net, state_dir(net), live_pod_ids != NULL, err);
  if (r == 0 && net->mode == MASCRI_NETWORK_BUILTIN)
    r = netns_builtin_open(net, live_pod_ids, err);
  else if (r == 0 && net->mode == MASCRI_NETWORK_CNI)
    r = netns_cni_open(net, live_pod_ids, err);
  if (r == 0 && net->helpers_fd >= 0 && live_pod_ids)
    flock(net->helpers_fd, LOCK_SH); /* reconciled: our own helpers share it from now on */
  if (r < 0) {
    mascri_network_close(net);
    return r;
  }
  log_info("network: %s mode", mascri_network_mode_name(net->mode));
  *out = net;
  return 0;
}

void mascri_network_close(struct mascri_network *net)
{
  if (net == NULL)
    return;
  free(net->bridge);
  free(net->state_dir);
  free(net->nft_table);
  free(net->cni_conf_dir);
  free(net->cni_cache_dir);
  mascri_strv_free(net->cni_bin_dirs);
  if (net->pods_dirfd >= 0)
    close(net->pods_dirfd);
  if (net->helpers_fd >= 0)
    close(net->helpers_fd);
  mascri_ipam_close(net->ipam);
  free(net->nft);
  free(net->cidrs);
  mascri_strv_free(net->in_flight);
  netns_cni_cache_free(net->cni);
  pthread_mutex_destroy(&net->lock);
  free(net);
}

static mascri_network_mode_t resolve_mode(const struct mascri_network *net,
                                          mascri_network_mode_t mode)
{
  if (mode != MASCRI_NETWORK_AUTO)
    return mode;
  _cleanup_free_ char *conf = netns_cni_first_config(net->cni_conf_dir);
  return conf ? MASCRI_NETWORK_CNI : MASCRI_NETWORK_BUILTIN;
}

/* One setup or teardown per pod at a time: the daemon serializes per pod, this guards
 * against misuse (and a retried request racing the first). */
static int begin(struct mascri_network *net, const char *id, mascri_error_t *err)
{
  if (!valid_pod_id(id))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "network: invalid pod id \"%s\"", id ? id : "");
  pthread_mutex_lock(&net->lock);
  bool busy = mascri_strv_contains(net->in_flight, id);
  if (!busy)
    mascri_strv_append(&net->in_flight, id);
  pthread_mutex_unlock(&net->lock);
  if (busy)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, EBUSY,
                                  "network: pod %s is being set up or torn down", id);
  return 0;
}

static void end(struct mascri_network *net, const char *id)
{
  pthread_mutex_lock(&net->lock);
  size_t n = mascri_strv_length(net->in_flight);
  for (size_t i = 0; i < n; i++)
    if (strcmp(net->in_flight[i], id) == 0) {
      free(net->in_flight[i]);
      net->in_flight[i] = net->in_flight[n - 1];
      net->in_flight[n - 1] = NULL;
      break;
    }
  pthread_mutex_unlock(&net->lock);
}

static char *dup_opt(const char *s)
{
  return s ? xstrdup(s) : NULL;
}

static struct mascri_network_result *result_from_record(const struct netns_record *rec)
{
  struct mascri_network_result *res = xmalloc0(sizeof(*res));
  res->ipv4 = dup_opt(rec->ipv4);
  res->ipv6 = dup_opt(rec->ipv6);
  res->gateway4 = dup_opt(rec->gateway4);
  res->gateway6 = dup_opt(rec->gateway6);
  res->prefix4 = rec->prefix4;
  res->prefix6 = rec->prefix6;
  res->interface = xstrdup(rec->cni_ifname ? rec->cni_ifname : "eth0");
  if (rec->cni_result)
    netns_cni_result_dns(rec->cni_result, res);
  return res;
}

static int teardown_record(struct mascri_network *net, const char *netns_path,
                           const struct netns_record *rec, mascri_error_t *err)
{
  int r = 0;
  if (rec->cni_config)
    r = netns_cni_teardown(net, netns_path, rec, err);
  else if (net->mode == MASCRI_NETWORK_BUILTIN)
    r = netns_builtin_teardown(net, rec, err);
  if (r == 0)
    r = netns_record_remove(net->pods_dirfd, rec->id, err);
  return r;
}

static int bring_up_lo(const char *netns_path, mascri_error_t *err);

static int setup_locked(struct mascri_network *net, const struct mascri_network_pod *pod,
                        struct mascri_network_result **result, mascri_error_t *err)
{
  _cleanup_record_ struct netns_record rec = {0};
  mascri_error_t e = NULL;
  if (netns_record_read(net->pods_dirfd, pod->id, &rec, &e) == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_ALREADY_EXISTS, EEXIST,
                                  "network: pod %s is already set up", pod->id);
  if (mascri_error_kind(&e) != MASCRI_ERR_NOT_FOUND) {
    mascri_error_move(err, &e);
    return mascri_error_retcode(err);
  }
  mascri_error_release(&e);
  netns_record_clear(&rec);
  rec.id = xstrdup(pod->id);
  rec.netns = xstrdup(pod->netns_path);
  int r = net->mode == MASCRI_NETWORK_CNI ? netns_cni_setup(net, pod, &rec, err)
                                          : netns_builtin_setup(net, pod, &rec, err);
  if (r < 0) {
    /* Undo whatever was done; the original error is what the caller sees. */
    if (teardown_record(net, pod->netns_path, &rec, &e) < 0)
      mascri_log_error_release(MASCRI_LOG_WARNING, &e, "network: undo failed setup");
    return r;
  }
  if (rec.cni_config && netns_record_write(net->pods_dirfd, &rec, err) < 0)
    return -1;
  *result = result_from_record(&rec);
  return 0;
}

int mascri_network_setup(struct mascri_network *net, const struct mascri_network_pod *pod,
                         struct mascri_network_result **result, mascri_error_t *err)
{
  *result = NULL;
  if (pod->netns_path == NULL || *pod->netns_path == '\0')
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "network: pod %s has no network namespace path",
                                  pod->id ? pod->id : "");
  if (net->mode == MASCRI_NETWORK_NONE) {
    if (bring_up_lo(pod->netns_path, err) < 0)
      return -1;
    *result = xmalloc0(sizeof(**result));
    return 0;
  }
  if (begin(net, pod->id, err) < 0)
    return -1;
  int r = setup_locked(net, pod, result, err);
  end(net, pod->id);
  return r;
}

int mascri_network_teardown(struct mascri_network *net, const struct mascri_network_pod *pod,
                            mascri_error_t *err)
{
  if (net->mode == MASCRI_NETWORK_NONE)
    return 0;
  if (begin(net, pod->id, err) < 0)
    return -1;
  _cleanup_record_ struct netns_record rec = {0};
  mascri_error_t e = NULL;
  int r = 0;
  if (netns_record_read(net->pods_dirfd, pod->id, &rec, &e) < 0) {
    if (mascri_error_kind(&e) != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &e);
      r = mascri_error_retcode(err);
    } else if (net->mode == MASCRI_NETWORK_BUILTIN) {
      /* No record: a crash between allocation and the record write, or nothing at all.
       * Remove what the pod's name could still hold. */
      mascri_error_release(&e);
      netns_record_clear(&rec);
      rec.id = xstrdup(pod->id);
      r = netns_builtin_teardown(net, &rec, err);
    }
    mascri_error_release(&e);
  } else {
    r = teardown_record(net, pod->netns_path ? pod->netns_path : rec.netns, &rec, err);
  }
  end(net, pod->id);
  return r;
}

int mascri_network_check(struct mascri_network *net, const struct mascri_network_pod *pod,
                         mascri_error_t *err)
{
  if (net->mode == MASCRI_NETWORK_NONE)
    return 0;
  _cleanup_record_ struct netns_record rec = {0};
  if (!valid_pod_id(pod->id))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "network: invalid pod id");
  if (netns_record_read(net->pods_dirfd, pod->id, &rec, err) < 0)
    return mascri_error_wrap(err, "network: check pod %s", pod->id);
  if (rec.cni_config)
    return netns_cni_check(net, pod, &rec, err);
  return netns_builtin_check(net, &rec, err);
}

int mascri_network_get_pod(struct mascri_network *net, const char *pod_id,
                           struct mascri_network_result **result, mascri_error_t *err)
{
  _cleanup_record_ struct netns_record rec = {0};
  if (!valid_pod_id(pod_id))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "network: invalid pod id");
  if (netns_record_read(net->pods_dirfd, pod_id, &rec, err) < 0)
    return -1;
  *result = result_from_record(&rec);
  return 0;
}

void mascri_network_status(struct mascri_network *net, bool *ready, char **reason)
{
  *ready = true;
  *reason = NULL;
  if (net->mode == MASCRI_NETWORK_CNI)
    netns_cni_status(net, ready, reason);
}

int mascri_network_update_pod_cidr(struct mascri_network *net, const char *cidr,
                                   mascri_error_t *err)
{
  if (net->mode != MASCRI_NETWORK_BUILTIN)
    return 0;
  _cleanup_strv_ char **parts = mascri_strv_split(cidr ? cidr : "", ',');
  for (char **p = parts; *p; p++) {
    if (**p == '\0')
      continue;
    struct mascri_cidr c;
    pthread_mutex_lock(&net->lock);
    int r = set_range(net, *p, &c, err);
    pthread_mutex_unlock(&net->lock);
    if (r < 0 || netns_builtin_add_cidr(net, &c, err) < 0)
      return mascri_error_wrap(err, "network: update pod CIDR");
    log_info("network: pod CIDR is now %s", *p);
  }
  return 0;
}

static int bring_up_lo(const char *netns_path, mascri_error_t *err)
{
  _cleanup_close_ int nsfd = open(netns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return mascri_make_error(err, errno, "network: open netns %s", netns_path);
  _cleanup_nl_ struct mascri_nl *nl = NULL;
  int lo = 0;
  if (mascri_nl_open_in_netns(nsfd, &nl, err) < 0 || mascri_link_index(nl, "lo", &lo, err) < 0 ||
      mascri_link_change(nl, lo, &(struct mascri_link_change){.up = true}, err) < 0)
    return mascri_error_wrap(err, "network: loopback of %s", netns_path);
  return 0;
}
