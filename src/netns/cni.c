/* The CNI backend (spec 1.0): ADD/DEL/CHECK/VERSION over the lexically first config in the
 * conf dir, runtimeConfig capabilities, prevResult chaining, the ADD result cached in the
 * pod record for DEL and CHECK, per-plugin timeouts, plugin errors passed up verbatim. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "netns/cni-config.h"
#include "netns/cni-json.h"
#include "netns/exec.h"
#include "netns/network-internal.h"

#define CNI_IFNAME "eth0"

extern char **environ;

struct netns_cni_cache {
  char *path; /* config file the state below was loaded from */
  struct timespec mtime;
  struct netns_cni_netconf conf; /* loaded config (empty when not ready) */
  bool ready;
  char *reason;
};

void netns_cni_cache_free(struct netns_cni_cache *cache)
{
  if (cache == NULL)
    return;
  free(cache->path);
  netns_cni_netconf_clear(&cache->conf);
  free(cache->reason);
  free(cache);
}

/* "1.0.0" > "0.4.0": compares dotted versions numerically. */
static int version_cmp(const char *a, const char *b)
{
  for (int i = 0; i < 3; i++) {
    long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
    if (x != y)
      return x < y ? -1 : 1;
    if (*a == '.')
      a++;
    if (*b == '.')
      b++;
  }
  return 0;
}

static char *find_plugin(struct mascri_network *net, const char *type)
{
  for (char **d = net->cni_bin_dirs; d && *d; d++) {
    _cleanup_free_ char *p = mascri_path_join(*d, type);
    if (access(p, X_OK) == 0)
      return TAKE_PTR(p);
  }
  return NULL;
}

struct cni_call {
  const char *command; /* ADD, DEL, CHECK, VERSION */
  const char *container_id;
  const char *netns; /* may be NULL */
  const char *ifname;
  const char *args; /* CNI_ARGS, may be NULL */
};

static char **plugin_env(struct mascri_network *net, const struct cni_call *c)
{
  char **env = xmalloc0(sizeof(char *));
  for (char **e = environ; e && *e; e++)
    if (strncmp(*e, "CNI_", 4) != 0)
      mascri_strv_append(&env, *e);
  _cleanup_free_ char *path = mascri_strv_join(net->cni_bin_dirs, ":");
  mascri_strv_push(&env, xasprintf("CNI_COMMAND=%s", c->command));
  mascri_strv_push(&env, xasprintf("CNI_CONTAINERID=%s", c->container_id ? c->container_id : ""));
  mascri_strv_push(&env, xasprintf("CNI_NETNS=%s", c->netns ? c->netns : ""));
  mascri_strv_push(&env, xasprintf("CNI_IFNAME=%s", c->ifname ? c->ifname : CNI_IFNAME));
  mascri_strv_push(&env, xasprintf("CNI_ARGS=%s", c->args ? c->args : ""));
  mascri_strv_push(&env, xasprintf("CNI_PATH=%s", path));
  return env;
}

/* The plugin's error result {"code","msg","details"} as one message, verbatim. */
static int plugin_error(const char *type, const struct cni_call *c,
                        const struct mascri_exec_result *res, mascri_error_t *err)
{
  _cleanup_json_ yajl_val v = NULL;
  mascri_error_t e = NULL;
  const char *msg = NULL, *details = NULL;
  int64_t code = 0;
  if (mascri_json_parse(res->out, strlen(res->out), "plugin error", &v, &e) == 0) {
    msg = mascri_json_get_string(v, "msg");
    details = mascri_json_get_string(v, "details");
    mascri_json_get_int64(v, "code", &code);
  }
  mascri_error_release(&e);
  if (msg)
    return mascri_make_error(err, 0, "plugin type=\"%s\" failed (%s): %s%s%s", type, c->command,
                             msg, details && *details ? "; " : "", details ? details : "");
  const char *text = *res->out ? res->out : res->errout;
  return mascri_make_error(err, 0, "plugin type=\"%s\" failed (%s) with status %d: %s", type,
                           c->command, res->status, text);
}

/* Runs one plugin; *out gets its stdout (the result) on success. */
static int run_plugin(struct mascri_network *net, const char *type, const struct cni_call *c,
                      const char *input, char **out, mascri_error_t *err)
{
  _cleanup_free_ char *path = find_plugin(net, type);
  if (path == NULL) {
    _cleanup_free_ char *dirs = mascri_strv_join(net->cni_bin_dirs, ":");
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, ENOENT,
                                  "CNI plugin %s not found in %s (Debian package "
                                  "containernetworking-plugins installs the standard ones in "
                                  "/usr/lib/cni)",
                                  type, dirs);
  }
  _cleanup_strv_ char **env = plugin_env(net, c);
  char *argv[] = {(char *)type, NULL};
  struct mascri_exec_result res;
  log_debug("network: CNI %s %s for %s", c->command, type, c->container_id);
  if (mascri_exec_keeping(net->helpers_fd, path, argv, env, input, strlen(input),
                          net->plugin_timeout_ms, &res, err) < 0)
    return mascri_error_wrap(err, "CNI %s", c->command);
  int r = 0;
  if (res.status != 0)
    r = plugin_error(type, c, &res, err);
  else if (out)
    *out = TAKE_PTR(res.out);
  mascri_exec_result_clear(&res);
  return r;
}

/* VERSION: does the plugin support the config's version? */
static int check_version(struct mascri_network *net, const char *type, const char *version,
                         mascri_error_t *err)
{
  struct cni_call c = {.command = "VERSION", .container_id = "", .ifname = CNI_IFNAME};
  _cleanup_free_ char *input = xasprintf("{\"cniVersion\":\"%s\"}", version);
  _cleanup_free_ char *out = NULL;
  if (run_plugin(net, type, &c, input, &out, err) < 0)
    return -1;
  _cleanup_json_ yajl_val v = NULL;
  if (mascri_json_parse(out, strlen(out), "VERSION result", &v, err) < 0)
    return mascri_error_wrap(err, "CNI plugin %s", type);
  _cleanup_strv_ char **supported =
      mascri_json_string_array(mascri_json_get(v, "supportedVersions"), "supportedVersions", err);
  if (supported == NULL)
    return mascri_error_wrap(err, "CNI plugin %s", type);
  if (!mascri_strv_contains(supported, version))
    return mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0,
                                  "CNI plugin %s does not support cniVersion %s", type, version);
  return 0;
}

static void cache_not_ready(struct netns_cni_cache *cache, char *reason)
{
  netns_cni_netconf_clear(&cache->conf);
  cache->ready = false;
  free(cache->reason);
  cache->reason = reason;
}

/* Reloads the config when the first file in the conf dir or its mtime changed. */
static void cache_refresh_locked(struct mascri_network *net)
{
  struct netns_cni_cache *cache = net->cni;
  _cleanup_free_ char *path = netns_cni_first_config(net->cni_conf_dir);
  struct stat st = {0};
  if (path == NULL || stat(path, &st) < 0) {
    free(cache->path);
    cache->path = NULL;
    cache_not_ready(cache, xasprintf("no CNI network config found in %s", net->cni_conf_dir));
    return;
  }
  if (cache->path && strcmp(cache->path, path) == 0 && cache->mtime.tv_sec == st.st_mtim.tv_sec &&
      cache->mtime.tv_nsec == st.st_mtim.tv_nsec)
    return;
  free(cache->path);
  cache->path = TAKE_PTR(path);
  cache->mtime = st.st_mtim;
  mascri_error_t e = NULL;
  struct netns_cni_netconf conf;
  if (netns_cni_netconf_load(cache->path, &conf, &e) < 0) {
    cache_not_ready(cache, xstrdup(mascri_error_message(&e)));
    mascri_error_release(&e);
    return;
  }
  for (size_t i = 0; i < mascri_json_array_len(conf.plugins); i++) {
    const char *type = mascri_json_get_string(mascri_json_array_at(conf.plugins, i), "type");
    if (check_version(net, type, conf.version, &e) < 0) {
      cache_not_ready(cache, xasprintf("%s: %s", cache->path, mascri_error_message(&e)));
      mascri_error_release(&e);
      netns_cni_netconf_clear(&conf);
      return;
    }
  }
  netns_cni_netconf_clear(&cache->conf);
  cache->conf = conf;
  cache->ready = true;
  free(cache->reason);
  cache->reason = NULL;
  log_info("network: CNI network \"%s\" from %s", conf.name, cache->path);
}

void netns_cni_status(struct mascri_network *net, bool *ready, char **reason)
{
  pthread_mutex_lock(&net->lock);
  cache_refresh_locked(net);
  *ready = net->cni->ready;
  *reason = net->cni->reason ? xstrdup(net->cni->reason) : NULL;
  pthread_mutex_unlock(&net->lock);
}

static void gen_strv(yajl_gen g, const char *key, const char *const *v)
{
  mascri_json_gen_key(g, key);
  yajl_gen_array_open(g);
  for (; v && *v; v++)
    mascri_json_gen_string(g, *v);
  yajl_gen_array_close(g);
}

/* runtimeConfig for the whole list; each plugin sees the keys it has capabilities for. */
static char *runtime_json(const struct mascri_network_pod *pod)
{
  static const char *const protos[] = {"tcp", "udp", "sctp"};
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_key(g, "portMappings");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < pod->n_ports; i++) {
    const struct mascri_port_mapping *p = &pod->ports[i];
    if (p->host_port == 0)
      continue;
    yajl_gen_map_open(g);
    mascri_json_gen_kv_int(g, "hostPort", p->host_port);
    mascri_json_gen_kv_int(g, "containerPort", p->container_port);
    mascri_json_gen_kv_string(g, "protocol", protos[p->protocol % 3]);
    if (p->host_ip && *p->host_ip)
      mascri_json_gen_kv_string(g, "hostIP", p->host_ip);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
  if (pod->bandwidth) {
    mascri_json_gen_key(g, "bandwidth");
    yajl_gen_map_open(g);
    mascri_json_gen_kv_uint(g, "ingressRate", pod->bandwidth->ingress_rate);
    mascri_json_gen_kv_uint(g, "ingressBurst", pod->bandwidth->ingress_burst);
    mascri_json_gen_kv_uint(g, "egressRate", pod->bandwidth->egress_rate);
    mascri_json_gen_kv_uint(g, "egressBurst", pod->bandwidth->egress_burst);
    yajl_gen_map_close(g);
  }
  if (pod->request_ips)
    gen_strv(g, "ips", pod->request_ips);
  if (pod->dns_servers || pod->dns_searches || pod->dns_options) {
    mascri_json_gen_key(g, "dns");
    yajl_gen_map_open(g);
    gen_strv(g, "servers", pod->dns_servers);
    gen_strv(g, "searches", pod->dns_searches);
    gen_strv(g, "options", pod->dns_options);
    yajl_gen_map_close(g);
  }
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

static char *cni_args(const struct mascri_network_pod *pod)
{
  char *s = xasprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
                      "K8S_POD_INFRA_CONTAINER_ID=%s",
                      pod->namespace ? pod->namespace : "", pod->name ? pod->name : "", pod->id);
  if (pod->uid && *pod->uid) {
    char *t = xasprintf("%s;K8S_POD_UID=%s", s, pod->uid);
    free(s);
    s = t;
  }
  return s;
}

/* Address "10.1.2.3/24" into rec's v4 or v6 fields (the first of each family wins). */
static void take_address(struct netns_record *rec, const char *cidr, const char *gw)
{
  if (cidr == NULL)
    return;
  const char *slash = strchr(cidr, '/');
  _cleanup_free_ char *addr = slash ? xstrndup(cidr, (size_t)(slash - cidr)) : xstrdup(cidr);
  int prefix = slash ? atoi(slash + 1) : 0;
  bool v6 = strchr(addr, ':') != NULL;
  char **ip = v6 ? &rec->ipv6 : &rec->ipv4;
  if (*ip)
    return;
  *ip = TAKE_PTR(addr);
  *(v6 ? &rec->prefix6 : &rec->prefix4) = prefix;
  if (gw)
    *(v6 ? &rec->gateway6 : &rec->gateway4) = xstrdup(gw);
}

/* Only addresses on an interface inside the sandbox (or with no interface given). */
static bool in_sandbox(yajl_val result, yajl_val ip)
{
  int64_t idx = -1;
  if (mascri_json_get_int64(ip, "interface", &idx) != 1)
    return true;
  yajl_val iface = mascri_json_array_at(mascri_json_get(result, "interfaces"), (size_t)idx);
  const char *sandbox = mascri_json_get_string(iface, "sandbox");
  return iface == NULL || (sandbox && *sandbox);
}

static int parse_result(const char *text, struct netns_record *rec, mascri_error_t *err)
{
  _cleanup_json_ yajl_val v = NULL;
  if (mascri_json_parse(text, strlen(text), "CNI result", &v, err) < 0)
    return -1;
  yajl_val ips = mascri_json_get(v, "ips");
  for (size_t i = 0; i < mascri_json_array_len(ips); i++) {
    yajl_val ip = mascri_json_array_at(ips, i);
    if (in_sandbox(v, ip))
      take_address(rec, mascri_json_get_string(ip, "address"),
                   mascri_json_get_string(ip, "gateway"));
  }
  /* 0.1.0 / 0.2.0 results */
  const char *fam[] = {"ip4", "ip6"};
  for (size_t i = 0; i < 2; i++) {
    yajl_val o = mascri_json_get(v, fam[i]);
    take_address(rec, mascri_json_get_string(o, "ip"), mascri_json_get_string(o, "gateway"));
  }
  return 0;
}

void netns_cni_result_dns(const char *result_json, struct mascri_network_result *res)
{
  _cleanup_json_ yajl_val v = NULL;
  mascri_error_t e = NULL;
  if (mascri_json_parse(result_json, strlen(result_json), "CNI result", &v, &e) < 0) {
    mascri_error_release(&e);
    return;
  }
  yajl_val dns = mascri_json_get(v, "dns");
  if (dns == NULL)
    return;
  res->dns_servers = mascri_json_string_array(mascri_json_get(dns, "nameservers"), "dns", &e);
  res->dns_searches = mascri_json_string_array(mascri_json_get(dns, "search"), "dns", &e);
  res->dns_options = mascri_json_string_array(mascri_json_get(dns, "options"), "dns", &e);
  mascri_error_release(&e);
}

struct chain {
  struct netns_cni_netconf conf;
  yajl_val runtime;
  yajl_val cached; /* cached ADD result, for DEL/CHECK */
};

static void chain_clear(struct chain *c)
{
  netns_cni_netconf_clear(&c->conf);
  if (c->runtime)
    yajl_tree_free(c->runtime);
  if (c->cached)
    yajl_tree_free(c->cached);
}

static int chain_load(const struct netns_record *rec, struct chain *c, mascri_error_t *err)
{
  memset(c, 0, sizeof(*c));
  if (netns_cni_netconf_parse(rec->cni_config, strlen(rec->cni_config), "cached CNI config",
                              &c->conf, err) < 0)
    return -1;
  if (rec->cni_runtime && mascri_json_parse(rec->cni_runtime, strlen(rec->cni_runtime),
                                            "cached runtimeConfig", &c->runtime, err) < 0)
    return -1;
  if (rec->cni_result && mascri_json_parse(rec->cni_result, strlen(rec->cni_result),
                                           "cached CNI result", &c->cached, err) < 0)
    return -1;
  return 0;
}

/* ADD through the list, each plugin getting the previous one's result. */
static int chain_add(struct mascri_network *net, struct chain *c, const struct cni_call *call,
                     char **result, mascri_error_t *err)
{
  _cleanup_free_ char *prev_text = NULL;
  for (size_t i = 0; i < mascri_json_array_len(c->conf.plugins); i++) {
    yajl_val plugin = mascri_json_array_at(c->conf.plugins, i);
    const char *type = mascri_json_get_string(plugin, "type");
    _cleanup_json_ yajl_val prev = NULL;
    if (prev_text && mascri_json_parse(prev_text, strlen(prev_text), "CNI result", &prev, err) < 0)
      return mascri_error_wrap(err, "plugin type=\"%s\"", type);
    _cleanup_free_ char *input =
        netns_cni_plugin_stdin(plugin, c->conf.name, c->conf.version, c->runtime, prev);
    char *out = NULL;
    if (run_plugin(net, type, call, input, &out, err) < 0)
      return -1;
    free(prev_text);
    prev_text = out;
  }
  *result = TAKE_PTR(prev_text);
  return 0;
}

/* DEL (reverse order) or CHECK (in order) with the cached result as prevResult. */
static int chain_run_cached(struct mascri_network *net, struct chain *c,
                            const struct cni_call *call, bool reverse, mascri_error_t *err)
{
  size_t n = mascri_json_array_len(c->conf.plugins);
  bool with_prev = version_cmp(c->conf.version, "0.4.0") >= 0;
  for (size_t k = 0; k < n; k++) {
    yajl_val plugin = mascri_json_array_at(c->conf.plugins, reverse ? n - 1 - k : k);
    const char *type = mascri_json_get_string(plugin, "type");
    _cleanup_free_ char *input = netns_cni_plugin_stdin(plugin, c->conf.name, c->conf.version,
                                                        c->runtime, with_prev ? c->cached : NULL);
    if (run_plugin(net, type, call, input, NULL, err) < 0)
      return -1;
  }
  return 0;
}

int netns_cni_setup(struct mascri_network *net, const struct mascri_network_pod *pod,
                    struct netns_record *rec, mascri_error_t *err)
{
  const char *fields[] = {pod->name, pod->namespace, pod->uid};
  for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
    if (fields[i] && strpbrk(fields[i], ";="))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "network: pod name, namespace and uid must not contain ; or =");
  pthread_mutex_lock(&net->lock);
  cache_refresh_locked(net);
  if (!net->cni->ready) {
    int r = mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0, "network not ready: %s",
                                   net->cni->reason);
    pthread_mutex_unlock(&net->lock);
    return r;
  }
  rec->cni_config = xstrdup(net->cni->conf.text);
  pthread_mutex_unlock(&net->lock);
  rec->cni_runtime = runtime_json(pod);
  rec->cni_args = cni_args(pod);
  rec->cni_ifname = xstrdup(CNI_IFNAME);
  /* On disk before ADD: a crash during ADD still leaves what DEL needs. */
  if (netns_record_write(net->pods_dirfd, rec, err) < 0)
    return -1;
  _cleanup_(chain_clear) struct chain c;
  if (chain_load(rec, &c, err) < 0)
    return -1;
  struct cni_call call = {.command = "ADD",
                          .container_id = pod->id,
                          .netns = pod->netns_path,
                          .ifname = CNI_IFNAME,
                          .args = rec->cni_args};
  if (chain_add(net, &c, &call, &rec->cni_result, err) < 0)
    return mascri_error_wrap(err, "CNI network \"%s\"", c.conf.name);
  return parse_result(rec->cni_result, rec, err);
}

int netns_cni_teardown(struct mascri_network *net, const char *netns_path,
                       const struct netns_record *rec, mascri_error_t *err)
{
  _cleanup_(chain_clear) struct chain c;
  if (chain_load(rec, &c, err) < 0)
    return mascri_error_wrap(err, "network: pod %s", rec->id);
  /* A netns that is gone is passed as empty: plugins then only release what they hold. */
  if (netns_path && !mascri_path_exists(netns_path))
    netns_path = NULL;
  struct cni_call call = {.command = "DEL",
                          .container_id = rec->id,
                          .netns = netns_path,
                          .ifname = rec->cni_ifname,
                          .args = rec->cni_args};
  if (chain_run_cached(net, &c, &call, true, err) < 0)
    return mascri_error_wrap(err, "CNI network \"%s\"", c.conf.name);
  return 0;
}

int netns_cni_check(struct mascri_network *net, const struct mascri_network_pod *pod,
                    const struct netns_record *rec, mascri_error_t *err)
{
  _cleanup_(chain_clear) struct chain c;
  if (chain_load(rec, &c, err) < 0)
    return -1;
  if (c.conf.disable_check || version_cmp(c.conf.version, "0.4.0") < 0)
    return 0;
  struct cni_call call = {.command = "CHECK",
                          .container_id = rec->id,
                          .netns = pod->netns_path ? pod->netns_path : rec->netns,
                          .ifname = rec->cni_ifname,
                          .args = rec->cni_args};
  if (chain_run_cached(net, &c, &call, false, err) < 0)
    return mascri_error_wrap(err, "CNI network \"%s\"", c.conf.name);
  return 0;
}

/* Runs DEL for a recorded pod that is no longer live; its record goes unless DEL failed (a
 * later start retries). An unreadable record is simply dropped. */
static int release_dead_pod(void *arg, const char *id, struct netns_record *rec,
                            mascri_error_t *read_err, mascri_error_t *err)
{
  struct mascri_network *net = arg;
  mascri_error_t e = NULL;
  if (*read_err == NULL && rec->cni_config) {
    log_info("network: releasing the CNI network of pod %s (no longer exists)", id);
    if (netns_cni_teardown(net, rec->netns, rec, &e) < 0) {
      mascri_log_error_release(MASCRI_LOG_WARNING, &e, "network: reconcile");
      return 0;
    }
  }
  netns_record_remove(net->pods_dirfd, id, &e);
  mascri_error_release(&e);
  return 0;
}

int netns_cni_open(struct mascri_network *net, const char *const *live, mascri_error_t *err)
{
  net->cni = xmalloc0(sizeof(*net->cni));
  pthread_mutex_lock(&net->lock);
  cache_refresh_locked(net);
  if (!net->cni->ready)
    log_warning("network: not ready: %s", net->cni->reason);
  pthread_mutex_unlock(&net->lock);
  if (live == NULL)
    return 0;
  return netns_record_for_each_dead(net->pods_dirfd, live, release_dead_pod, net, err);
}
