#include "cri/rpc-pod-msg.h"

#include <string.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "cri/rpc-conv.h"

/* A map field of a message from the pod config's map of the same name (none without a
 * config). */
#define COPY_MAP(dst, field, desc, cfg)                                                            \
  do {                                                                                             \
    if (cfg)                                                                                       \
      (dst)->field = mascri_conv_kv_out(&desc, &(cfg)->field, &(dst)->n_##field);                  \
  } while (0)

static Runtime__V1__PodSandboxMetadata *metadata(const struct mascri_pod_info *in)
{
  Runtime__V1__PodSandboxMetadata *m = xmalloc(sizeof(*m));
  runtime__v1__pod_sandbox_metadata__init(m);
  m->name = xstrdup(in->name ? in->name : "");
  m->uid = xstrdup(in->uid ? in->uid : "");
  m->namespace_ = xstrdup(in->namespace_ ? in->namespace_ : "");
  m->attempt = in->attempt;
  return m;
}

static Runtime__V1__PodSandboxState state(const struct mascri_pod_info *in)
{
  return in->ready ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                   : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
}

static Runtime__V1__PodSandboxNetworkStatus *network(const struct mascri_pod_info *in)
{
  Runtime__V1__PodSandboxNetworkStatus *n = xmalloc(sizeof(*n));
  runtime__v1__pod_sandbox_network_status__init(n);
  n->ip = xstrdup(in->ipv4 ? in->ipv4 : in->ipv6 ? in->ipv6 : "");
  if (in->ipv4 && in->ipv6) {
    n->additional_ips = xcalloc(1, sizeof(*n->additional_ips));
    Runtime__V1__PodIP *ip = xmalloc(sizeof(*ip));
    runtime__v1__pod_ip__init(ip);
    ip->ip = xstrdup(in->ipv6);
    n->additional_ips[0] = ip;
    n->n_additional_ips = 1;
  }
  return n;
}

static Runtime__V1__LinuxPodSandboxStatus *linux_status(const struct mascri_pod_info *in)
{
  Runtime__V1__LinuxPodSandboxStatus *l = xmalloc(sizeof(*l));
  runtime__v1__linux_pod_sandbox_status__init(l);
  l->namespaces = xmalloc(sizeof(*l->namespaces));
  runtime__v1__namespace__init(l->namespaces);
  Runtime__V1__NamespaceOption *o = xmalloc(sizeof(*o));
  runtime__v1__namespace_option__init(o);
  o->network = mascri_pod_has(in, MASCRI_POD_NETNS) ? RUNTIME__V1__NAMESPACE_MODE__POD
                                                    : RUNTIME__V1__NAMESPACE_MODE__NODE;
  o->ipc = mascri_pod_has(in, MASCRI_POD_IPCNS) ? RUNTIME__V1__NAMESPACE_MODE__POD
                                                : RUNTIME__V1__NAMESPACE_MODE__NODE;
  o->pid = mascri_pod_has(in, MASCRI_POD_PIDNS)
               ? RUNTIME__V1__NAMESPACE_MODE__POD
               : (Runtime__V1__NamespaceMode)mascri_pod_info_pid_mode(in);
  l->namespaces->options = o;
  return l;
}

Runtime__V1__PodSandboxStatus *mascri_pod_status_msg(const struct mascri_pod_info *in)
{
  Runtime__V1__PodSandboxStatus *s = xmalloc(sizeof(*s));
  runtime__v1__pod_sandbox_status__init(s);
  s->id = xstrdup(in->id);
  s->metadata = metadata(in);
  s->state = state(in);
  s->created_at = in->created_at;
  s->network = network(in);
  s->linux = linux_status(in);
  COPY_MAP(s, labels, runtime__v1__pod_sandbox_status__labels_entry__descriptor, in->config);
  COPY_MAP(s, annotations, runtime__v1__pod_sandbox_status__annotations_entry__descriptor,
           in->config);
  s->runtime_handler = xstrdup(in->runtime_handler ? in->runtime_handler : "");
  return s;
}

void mascri_pod_list_item_add(struct mascri_packed_list *l, const struct mascri_pod_info *in)
{
  static const struct mascri_kv_list none;
  const struct mascri_kv_list *labels = in->config ? &in->config->labels : &none;
  const struct mascri_kv_list *annotations = in->config ? &in->config->annotations : &none;
  Runtime__V1__PodSandboxMetadata m;
  runtime__v1__pod_sandbox_metadata__init(&m);
  m.name = in->name;
  m.uid = in->uid;
  m.namespace_ = in->namespace_;
  m.attempt = in->attempt;
  Runtime__V1__PodSandbox s;
  runtime__v1__pod_sandbox__init(&s);
  s.id = in->id;
  s.metadata = &m;
  s.state = state(in);
  s.created_at = in->created_at;
  _cleanup_free_ void *lv = mascri_conv_kv_borrow(
      &runtime__v1__pod_sandbox__labels_entry__descriptor, labels, &s.n_labels);
  _cleanup_free_ void *av = mascri_conv_kv_borrow(
      &runtime__v1__pod_sandbox__annotations_entry__descriptor, annotations, &s.n_annotations);
  s.labels = lv;
  s.annotations = av;
  s.runtime_handler = in->runtime_handler;
  mascri_packed_list_add(l, &s.base);
}

Runtime__V1__PodSandboxAttributes *mascri_pod_attributes_msg(const struct mascri_pod_info *in)
{
  Runtime__V1__PodSandboxAttributes *a = xmalloc(sizeof(*a));
  runtime__v1__pod_sandbox_attributes__init(a);
  a->id = xstrdup(in->id);
  a->metadata = metadata(in);
  COPY_MAP(a, labels, runtime__v1__pod_sandbox_attributes__labels_entry__descriptor, in->config);
  COPY_MAP(a, annotations, runtime__v1__pod_sandbox_attributes__annotations_entry__descriptor,
           in->config);
  return a;
}

static Runtime__V1__UInt64Value *u64(uint64_t v)
{
  Runtime__V1__UInt64Value *u = xmalloc(sizeof(*u));
  runtime__v1__uint64_value__init(u);
  u->value = v;
  return u;
}

Runtime__V1__LinuxPodSandboxStats *mascri_pod_linux_stats_msg(const mascri_container_stats_t *st,
                                                              int64_t now)
{
  Runtime__V1__LinuxPodSandboxStats *l = xmalloc(sizeof(*l));
  runtime__v1__linux_pod_sandbox_stats__init(l);
  if (!st)
    return l;
  l->cpu = xmalloc(sizeof(*l->cpu));
  runtime__v1__cpu_usage__init(l->cpu);
  l->cpu->timestamp = now;
  l->cpu->usage_core_nano_seconds = u64(st->cpu_usage_ns);
  l->memory = xmalloc(sizeof(*l->memory));
  runtime__v1__memory_usage__init(l->memory);
  l->memory->timestamp = now;
  l->memory->working_set_bytes = u64(st->memory_working_set);
  l->memory->usage_bytes = u64(st->memory_usage);
  l->memory->rss_bytes = u64(st->memory_rss);
  if (st->memory_limit)
    l->memory->available_bytes = u64(
        st->memory_limit > st->memory_working_set ? st->memory_limit - st->memory_working_set : 0);
  l->process = xmalloc(sizeof(*l->process));
  runtime__v1__process_usage__init(l->process);
  l->process->timestamp = now;
  l->process->process_count = u64(st->pids_current);
  return l;
}

Runtime__V1__NetworkUsage *
mascri_pod_network_usage_msg(const char *ifname, const struct mascri_pod_net_stats *ns, int64_t now)
{
  Runtime__V1__NetworkUsage *n = xmalloc(sizeof(*n));
  runtime__v1__network_usage__init(n);
  n->timestamp = now;
  Runtime__V1__NetworkInterfaceUsage *i = xmalloc(sizeof(*i));
  runtime__v1__network_interface_usage__init(i);
  i->name = xstrdup(ifname);
  i->rx_bytes = u64(ns->rx_bytes);
  i->rx_errors = u64(ns->rx_errors);
  i->tx_bytes = u64(ns->tx_bytes);
  i->tx_errors = u64(ns->tx_errors);
  n->default_interface = i;
  return n;
}

static void gen_path(yajl_gen g, const char *key, const struct mascri_pod_info *in,
                     enum mascri_pod_path which)
{
  _cleanup_free_ char *path = mascri_pod_path(in, which);
  if (path)
    mascri_json_gen_kv_string(g, key, path);
}

char *mascri_pod_verbose_info(const struct mascri_pod_info *in)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_int(g, "pid", in->ready ? in->pause_pid : 0);
  mascri_json_gen_key(g, "namespaces");
  yajl_gen_map_open(g);
  gen_path(g, "network", in, MASCRI_POD_NETNS);
  gen_path(g, "ipc", in, MASCRI_POD_IPCNS);
  gen_path(g, "uts", in, MASCRI_POD_UTSNS);
  gen_path(g, "pid", in, MASCRI_POD_PIDNS);
  yajl_gen_map_close(g);
  if (in->cgroup_parent)
    mascri_json_gen_kv_string(g, "cgroupParent", in->cgroup_parent);
  if (in->pause_cgroup)
    mascri_json_gen_kv_string(g, "pauseCgroup", in->pause_cgroup);
  if (in->hostname)
    mascri_json_gen_kv_string(g, "hostname", in->hostname);
  gen_path(g, "resolvConf", in, MASCRI_POD_RESOLV_CONF);
  gen_path(g, "hostsFile", in, MASCRI_POD_HOSTS_FILE);
  gen_path(g, "shm", in, MASCRI_POD_SHM);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

bool mascri_pod_labels_match(const struct mascri_pod_info *in, void *const *selector, size_t n)
{
  if (!in->config)
    return n == 0;
  return mascri_conv_kv_match(&in->config->labels, selector, n);
}
