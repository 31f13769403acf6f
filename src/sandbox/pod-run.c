/* RunPodSandbox, StopPodSandbox and RemovePodSandbox on the pod store. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "sandbox/pod-files.h"
#include "sandbox/pod-spawn.h"
#include "sandbox/pod-util.h"
#include "sandbox/pods-internal.h"

#define PAUSE_STOP_TIMEOUT_MS 5000
#define POD_CGROUPS_FILE "cgroups"

/* What RunPodSandbox derives from the config before touching anything. */
struct pod_plan {
  bool host_net, host_ipc, new_pid;
  char **sysctl_paths, **sysctl_values;
  size_t n_sysctls;
  char *hostname; /* of a pod with its own UTS namespace, checked */
  bool net_done;
};

static void plan_clear(struct pod_plan *pl)
{
  mascri_strv_free(pl->sysctl_paths);
  mascri_strv_free(pl->sysctl_values);
  free(pl->hostname);
}

static int plan_make(const struct mascri_pod_config *c, struct pod_plan *pl, mascri_error_t *err)
{
  const struct mascri_ns_options *ns = &c->security.namespace_options;
  pl->host_net = ns->network == MASCRI_NS_MODE_NODE;
  pl->host_ipc = ns->ipc == MASCRI_NS_MODE_NODE;
  pl->new_pid = ns->pid == MASCRI_NS_MODE_POD;
  /* kubelet sends NODE unless the pod sets hostUsers: false */
  if (ns->userns != MASCRI_NS_MODE_NODE)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "namespace_options.userns_options: user namespaces for pods "
                                  "(hostUsers: false) are not supported by mascri yet");
  /* the hostname goes into /etc/hostname and /etc/hosts: whether given or derived from
   * metadata.name, it must be a hostname and nothing more */
  if (pl->host_net) {
    /* ignored (the node's is used), but never accepted with a newline */
    if (c->hostname && (strlen(c->hostname) > 64 || strpbrk(c->hostname, "/\n ")))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "invalid hostname \"%s\"",
                                    c->hostname);
  } else if (c->hostname && c->hostname[0]) {
    if (!mascri_pod_hostname_valid(c->hostname))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "invalid hostname \"%s\": not an RFC 1123 name of at most "
                                    "64 characters",
                                    c->hostname);
    pl->hostname = xstrdup(c->hostname);
  } else if (!(pl->hostname = mascri_pod_hostname_from_name(c->metadata.name, err))) {
    return -1;
  }
  /* joined below the cgroup mount: "/../../tmp/x" would make directories outside it */
  if (c->cgroup_parent && c->cgroup_parent[0] &&
      (!mascri_path_is_normal(c->cgroup_parent) || strlen(c->cgroup_parent) > 4096))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.cgroup_parent \"%s\": not a normal cgroup path (no "
                                  "\"..\", \".\", empty components or control characters)",
                                  c->cgroup_parent);
  /* container logs are created below it as root: it must be a plain absolute path */
  if (c->log_directory && c->log_directory[0] &&
      (c->log_directory[0] != '/' || !mascri_path_is_normal(c->log_directory)))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "log_directory \"%s\": not a normal absolute path",
                                  c->log_directory);
  pl->sysctl_paths = xcalloc(1, sizeof(char *));
  pl->sysctl_values = xcalloc(1, sizeof(char *));
  for (size_t i = 0; i < c->sysctls.n; i++) {
    const struct mascri_kv *kv = &c->sysctls.v[i];
    char *path = mascri_pod_sysctl_path(kv->key, pl->host_net, pl->host_ipc, err);
    if (!path)
      return -1;
    mascri_strv_push(&pl->sysctl_paths, path);
    mascri_strv_append(&pl->sysctl_values, kv->value);
    pl->n_sysctls++;
  }
  return 0;
}

static void fill_info(struct mascri_pods *pods, struct pod *p, const struct mascri_pod_config *c,
                      const char *handler, const struct pod_plan *pl)
{
  struct mascri_pod_info *in = &p->info;
  in->created_at = mascri_clock_realtime_ns();
  in->name = xstrdup(c->metadata.name);
  in->namespace_ = xstrdup(c->metadata.namespace_);
  in->uid = xstrdup(c->metadata.uid);
  in->attempt = c->metadata.attempt;
  in->runtime_handler = xstrdup(handler ? handler : "");
  in->log_directory = c->log_directory && c->log_directory[0] ? xstrdup(c->log_directory) : NULL;
  char host[256] = "";
  if (pl->host_net && gethostname(host, sizeof(host) - 1) < 0)
    host[0] = '\0';
  in->hostname = pl->host_net ? xstrdup(host) : xstrdup(pl->hostname);
  in->ns_dir = pods->ns_dir;
  in->files_dir = pods->files_dir;
  if (!pl->host_net)
    in->paths |= 1u << MASCRI_POD_NETNS | 1u << MASCRI_POD_UTSNS;
  if (!pl->host_ipc)
    in->paths |= 1u << MASCRI_POD_IPCNS;
  if (pl->new_pid)
    in->paths |= 1u << MASCRI_POD_PIDNS;
  const char *parent = c->cgroup_parent ? c->cgroup_parent : "";
  p->own_cgroup_parent = parent[0] == '\0';
  in->cgroup_parent = pods->cgroup_ops->pod_parent(parent, pods->cgroup_parent, in->id);
  in->config = NULL;
}

/* What RunPodSandbox was asked, for a retry's comparison. */
struct run_request {
  const struct mascri_pod_config *config;
  const char *handler;
};

/* Whether holder is what this same request would have made (kubelet retrying after its own
 * timeout): a ready pod from an identical config and handler. */
static bool same_request(const struct mascri_obj *holder, const void *request)
{
  const struct pod *q = mascri_pod_of(holder);
  const struct run_request *rq = request;
  if (!q->info.ready || !q->info.config ||
      strcmp(q->info.runtime_handler ? q->info.runtime_handler : "",
             rq->handler ? rq->handler : "") != 0)
    return false;
  return mascri_pod_config_equal(q->info.config, rq->config);
}

static int cgroup_for(struct mascri_pods *pods, const char *path, mascri_cgroup_t *cg,
                      mascri_error_t *err)
{
  *cg = (mascri_cgroup_t){.manager = pods->cgroup_manager};
  if (mascri_cgroup_layout_probe(&cg->layout, err) < 0)
    return -1;
  cg->path = xstrdup(path);
  return 0;
}

/* The pod's cgroup, made before pause exists when the manager can, so that pause can be
 * born in it on the v2 hierarchy (*made); else it is made with pause in it (place_pause). */
static int make_pod_cgroup(struct mascri_pods *pods, struct mascri_pod_info *in,
                           mascri_cgroup_t *cg, bool *made, mascri_error_t *err)
{
  *cg = (mascri_cgroup_t){0};
  _cleanup_free_ char *path = NULL;
  if (pods->cgroup_ops->pod_path(in->cgroup_parent, in->id, &path, err) < 0 ||
      cgroup_for(pods, path, cg, err) < 0)
    return -1;
  int r = pods->cgroup_ops->create(cg, NULL, false, err);
  if (r < 0)
    return mascri_error_wrap(err, "pod cgroup %s", path);
  *made = r > 0;
  in->pause_cgroup = TAKE_PTR(path);
  return 0;
}

/* Puts pause in the pod cgroup (in_v2: it was born there on the v2 hierarchy). */
static int place_pause(struct mascri_pods *pods, mascri_cgroup_t *cg, struct mascri_pod_info *in,
                       bool in_v2, mascri_error_t *err)
{
  if (!in->pause_cgroup)
    return 0;
  if (pods->cgroup_ops->enter(cg, NULL, false, in->pause_pid, in_v2, err) < 0)
    return mascri_error_wrap(err, "pod cgroup %s", in->pause_cgroup);
  return 0;
}

/* Removes a cgroup (and with the systemd manager its unit); errors are logged. */
static void destroy_cgroup(struct mascri_pods *pods, const char *path)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_cgroup_t cg;
  if (!path || cgroup_for(pods, path, &cg, &err) < 0)
    return;
  if (pods->cgroup_ops->destroy(&cg, &err) < 0)
    log_warning("%s", mascri_error_message(&err));
  mascri_cgroup_clear(&cg);
}

void mascri_pods_remove_noted_cgroups(struct mascri_pods *pods, const char *pod_dir)
{
  _cleanup_free_ char *file = mascri_path_join(pod_dir, POD_CGROUPS_FILE);
  _cleanup_free_ char *text = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_read_file(file, &text, NULL, &err) < 0)
    return; /* killed before it made any */
  _cleanup_strv_ char **paths = mascri_strv_split(text, '\n');
  for (char **path = paths; *path; path++)
    if (**path == '/')
      destroy_cgroup(pods, *path);
}

/* np borrows from in, and from *netns, which the caller frees. */
static void net_pod(const struct mascri_pod_info *in, struct mascri_network_pod *np, char **netns)
{
  *netns = mascri_pod_path(in, MASCRI_POD_NETNS);
  *np = (struct mascri_network_pod){
      .id = in->id,
      .name = in->name,
      .namespace = in->namespace_,
      .uid = in->uid,
      .netns_path = *netns,
  };
}

static int setup_network(struct mascri_pods *pods, const struct mascri_pod_config *c,
                         struct mascri_pod_info *in, mascri_error_t *err)
{
  struct mascri_network_pod np;
  _cleanup_free_ char *netns = NULL;
  net_pod(in, &np, &netns);
  size_t n = c->n_port_mappings;
  _cleanup_free_ struct mascri_port_mapping *ports = xcalloc(n + 1, sizeof(*ports));
  for (size_t i = 0; i < n; i++) {
    const struct mascri_pod_port_mapping *pm = &c->port_mappings[i];
    ports[i].protocol = pm->protocol;
    if (pm->container_port <= 0 || pm->container_port > 65535 || pm->host_port < 0 ||
        pm->host_port > 65535)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "port_mappings[%zu]: port out of range", i);
    ports[i].container_port = (uint16_t)pm->container_port;
    ports[i].host_port = (uint16_t)pm->host_port;
    ports[i].host_ip = pm->host_ip;
  }
  np.ports = ports;
  np.n_ports = n;
  np.dns_servers = (const char *const *)c->dns.servers;
  np.dns_searches = (const char *const *)c->dns.searches;
  np.dns_options = (const char *const *)c->dns.options;
  _cleanup_network_result_ struct mascri_network_result *res = NULL;
  if (mascri_network_setup(pods->net, &np, &res, err) < 0)
    return mascri_error_wrap(err, "pod network");
  in->ipv4 = res->ipv4 ? xstrdup(res->ipv4) : NULL;
  in->ipv6 = res->ipv6 ? xstrdup(res->ipv6) : NULL;
  return 0;
}

static int pin(struct pod *p, const struct pod_plan *pl, const char *ns_dir, mascri_error_t *err)
{
  const char *names[5];
  size_t k = 0;
  if (!pl->host_net) {
    names[k++] = "net";
    names[k++] = "uts";
  }
  if (!pl->host_ipc)
    names[k++] = "ipc";
  if (pl->new_pid)
    names[k++] = "pid";
  names[k] = NULL;
  return mascri_ns_pin(p->info.pause_pid, ns_dir, names, err);
}

/* The cgroups make_pod_cgroup makes (innermost first), noted in the pod directory before any
 * of them exists: a crash before the pod record leaves what the restart needs to remove
 * them (mascri_pods_remove_noted_cgroups). No fsync: they do not outlive the kernel. */
static int note_cgroups(struct mascri_pods *pods, const struct pod *p, const char *dir,
                        mascri_error_t *err)
{
  if (pods->cgroup_ops->removes_empty_cgroups)
    return 0;
  const struct mascri_pod_info *in = &p->info;
  _cleanup_free_ char *file = mascri_path_join(dir, POD_CGROUPS_FILE);
  _cleanup_free_ char *text =
      xasprintf("%s/mascri-%s\n%s%s", in->cgroup_parent, in->id,
                p->own_cgroup_parent ? in->cgroup_parent : "", p->own_cgroup_parent ? "\n" : "");
  _cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return mascri_make_error(err, errno, "create %s", file);
  return mascri_write_all(fd, text, strlen(text), err);
}

static int build(struct mascri_pods *pods, struct pod *p, const struct mascri_pod_config *c,
                 struct pod_plan *pl, mascri_error_t *err)
{
  struct mascri_pod_info *in = &p->info;
  _cleanup_free_ char *dir = mascri_pod_dir(pods, in->id);
  _cleanup_free_ char *ns_dir = mascri_pod_ns_dir(pods, in->id);
  if (mascri_mkdir_p(dir, 0700, err) < 0 ||
      mascri_pod_files_create(dir, c, !pl->host_ipc, in, err) < 0 ||
      note_cgroups(pods, p, dir, err) < 0)
    return -1;
  _cleanup_(mascri_cgroup_clear) mascri_cgroup_t cg = {0};
  bool made = false;
  if (make_pod_cgroup(pods, in, &cg, &made, err) < 0)
    return -1;
  _cleanup_free_ char *cgroup_v2_dir = made ? mascri_cgroup_dir(&cg, NULL) : NULL;
  struct mascri_pause_spec spec = {
      .pause_path = pods->pause_path,
      .pod_id = in->id,
      .new_net = !pl->host_net,
      .new_ipc = !pl->host_ipc,
      .new_uts = !pl->host_net,
      .new_pid = pl->new_pid,
      .hostname = in->hostname,
      .sysctl_paths = pl->sysctl_paths,
      .sysctl_values = pl->sysctl_values,
      .n_sysctls = pl->n_sysctls,
      .cgroup_v2_dir = cgroup_v2_dir,
  };
  bool in_v2 = false;
  if (mascri_pause_spawn(&spec, &in->pause_pid, &in->pause_start_time, &in_v2, err) < 0)
    return -1;
  if (place_pause(pods, &cg, in, in_v2, err) < 0 || pin(p, pl, ns_dir, err) < 0)
    return -1;
  if (!pl->host_net) {
    if (setup_network(pods, c, in, err) < 0)
      return -1;
    pl->net_done = true;
  }
  if (mascri_pod_files_hosts(dir, in, err) < 0)
    return -1;
  in->config = mascri_pod_config_copy(c);
  in->ready = true;
  return mascri_pod_record_write(pods, p, err);
}

/* Undoes whatever build() got done; errors are logged. */
static void release(struct mascri_pods *pods, struct pod *p, bool net, bool keep_record)
{
  struct mascri_pod_info *in = &p->info;
  _cleanup_error_ mascri_error_t err = NULL;
  if (net && mascri_pod_has(in, MASCRI_POD_NETNS)) {
    struct mascri_network_pod np;
    _cleanup_free_ char *netns = NULL;
    net_pod(in, &np, &netns);
    if (mascri_network_teardown(pods->net, &np, &err) < 0)
      log_warning("pod %s: %s", in->id, mascri_error_message(&err));
  }
  if (mascri_pause_kill(in->pause_pid, in->pause_start_time, PAUSE_STOP_TIMEOUT_MS, &err) < 0)
    log_warning("pod %s: %s", in->id, mascri_error_message(&err));
  destroy_cgroup(pods, in->pause_cgroup);
  _cleanup_free_ char *shm = mascri_pod_path(in, MASCRI_POD_SHM);
  if (mascri_pod_files_unmount_shm(shm, &err) < 0)
    log_warning("pod %s: %s", in->id, mascri_error_message(&err));
  if (keep_record)
    return;
  _cleanup_free_ char *ns_dir = mascri_pod_ns_dir(pods, in->id);
  _cleanup_free_ char *dir = mascri_pod_dir(pods, in->id);
  if (mascri_ns_unpin_all(ns_dir, &err) < 0 || mascri_rm_rf(dir, &err) < 0)
    log_warning("pod %s: %s", in->id, mascri_error_message(&err));
  if (p->own_cgroup_parent) {
    _cleanup_free_ char *parent = pods->cgroup_ops->parent_path(in->cgroup_parent);
    destroy_cgroup(pods, parent);
  }
}

int mascri_pods_run(struct mascri_pods *pods, const struct mascri_pod_config *config,
                    const char *runtime_handler, char **id, mascri_error_t *err)
{
  if (!config)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "config is required");
  char *full = mascri_pod_full_name(&config->metadata, err);
  if (!full)
    return -1;
  struct pod *p = mascri_pod_alloc();
  p->full_name = full;
  p->info.id = mascri_pod_new_id();
  p->obj.id = p->info.id;
  p->obj.name = p->full_name;
  /* ALREADY_EXISTS naming the holder; a RunPodSandbox of the name in flight is waited for
   * (so a request kubelet retried after its own timeout never finds the name stuck). */
  const struct run_request rq = {config, runtime_handler};
  char *existing = NULL;
  int res = mascri_objtable_reserve(&pods->table, &p->obj, same_request, &rq, &existing, err);
  if (res != 0) {
    if (res > 0)
      log_info("RunPodSandbox of %s again: answering with the pod it made, %s", full, existing);
    mascri_pod_free(p);
    if (res < 0)
      return -1;
    *id = existing;
    return 0;
  }
  log_debug("pod %s: creating %s", p->info.id, p->full_name);
  struct pod_plan pl = {0};
  int ret = plan_make(config, &pl, err);
  if (ret == 0) {
    fill_info(pods, p, config, runtime_handler, &pl);
    ret = build(pods, p, config, &pl, err);
  }
  if (ret < 0) {
    release(pods, p, pl.net_done, false);
  } else {
    log_info("pod %s (%s) is ready, pause pid %d", p->info.id, p->full_name,
             (int)p->info.pause_pid);
    *id = xstrdup(p->info.id);
  }
  mascri_objtable_settle(&pods->table, &p->obj, ret == 0);
  plan_clear(&pl);
  return ret;
}

/* With p->obj.op held (acquire): p stays valid and is not removed meanwhile. */
static int stop_locked(struct mascri_pods *pods, struct pod *p, mascri_error_t *err)
{
  struct pod tmp = {.own_cgroup_parent = p->own_cgroup_parent};
  mascri_objtable_lock(&pods->table);
  mascri_pod_info_copy(&tmp.info, &p->info);
  mascri_objtable_unlock(&pods->table);
  release(pods, &tmp, true, true);
  mascri_pod_info_clear(&tmp.info);
  mascri_objtable_lock(&pods->table);
  bool changed = p->info.ready || p->info.ipv4 || p->info.ipv6;
  p->info.ready = false;
  free(p->info.ipv4);
  free(p->info.ipv6);
  p->info.ipv4 = p->info.ipv6 = NULL;
  int ret = changed ? mascri_pod_record_write(pods, p, err) : 0;
  mascri_objtable_unlock(&pods->table);
  return ret;
}

/* Finds the pod, takes a reference and its op mutex. */
static struct pod *acquire(struct mascri_pods *pods, const char *id, mascri_error_t *err)
{
  struct mascri_obj *o = mascri_objtable_acquire(&pods->table, id, err);
  return o ? mascri_pod_of(o) : NULL;
}

int mascri_pods_stop(struct mascri_pods *pods, const char *id_or_prefix, mascri_error_t *err)
{
  struct pod *p = acquire(pods, id_or_prefix, err);
  if (!p)
    return -1;
  int ret = stop_locked(pods, p, err);
  mascri_objtable_put(&pods->table, &p->obj);
  return ret;
}

int mascri_pods_remove(struct mascri_pods *pods, const char *id_or_prefix, mascri_error_t *err)
{
  struct pod *p = acquire(pods, id_or_prefix, err);
  if (!p)
    return -1;
  int ret = stop_locked(pods, p, err);
  if (ret == 0) {
    release(pods, p, false, false);
    log_info("pod %s removed", p->info.id);
    mascri_objtable_remove(&pods->table, &p->obj);
  }
  mascri_objtable_put(&pods->table, &p->obj);
  return ret;
}
