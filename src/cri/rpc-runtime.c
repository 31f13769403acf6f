/* RuntimeService calls about the runtime itself: Version, Status, RuntimeConfig,
 * UpdateRuntimeConfig. Responses are built entirely on the heap (rpc.h). */
#include <string.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "cri/daemon.h"
#include "cri/rpc.h"
#include "mascri-config.h"

#define CRI_API_VERSION "v1"
#define CRI_VERSION "0.1.0"

MASCRI_RPC(version)
{
  (void)ctx, (void)req, (void)cancel, (void)err;
  Runtime__V1__VersionResponse *r = xmalloc(sizeof(*r));
  runtime__v1__version_response__init(r);
  r->version = xstrdup(CRI_VERSION);
  r->runtime_name = xstrdup("mascri");
  r->runtime_version = xstrdup(MASCRI_VERSION);
  r->runtime_api_version = xstrdup(CRI_API_VERSION);
  *resp = &r->base;
  return 0;
}

static Runtime__V1__RuntimeCondition *condition(const char *type, bool status, const char *reason,
                                                const char *message)
{
  Runtime__V1__RuntimeCondition *c = xmalloc(sizeof(*c));
  runtime__v1__runtime_condition__init(c);
  c->type = xstrdup(type);
  c->status = status;
  c->reason = xstrdup(reason ? reason : "");
  c->message = xstrdup(message ? message : "");
  return c;
}

/* Status's verbose "config": the daemon's effective configuration as JSON. */
static char *config_json(const struct mascri_daemon *d)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  const struct mascri_daemon_config *c = &d->cfg;
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "version", MASCRI_VERSION);
  mascri_json_gen_kv_string(g, "root", c->root);
  mascri_json_gen_kv_string(g, "state", c->state);
  mascri_json_gen_kv_string(g, "socket", c->socket_path);
  mascri_json_gen_kv_string(g, "pauseBinary", c->pause_path);
  mascri_json_gen_kv_string(g, "monitorBinary", c->monitor_path);
  mascri_json_gen_kv_string(g, "cgroupManager", mascri_cgroup_ops_of(c->cgroup_manager)->name);
  mascri_json_gen_kv_string(g, "cgroupParent", c->cgroup_parent);
  mascri_json_gen_kv_string(g, "network", mascri_network_mode_name(mascri_network_mode(d->net)));
  mascri_json_gen_kv_string(g, "bridge", c->net.bridge ? c->net.bridge : "mascri0");
  mascri_json_gen_kv_string(g, "podCIDR", c->net.pod_cidr ? c->net.pod_cidr : "10.89.0.0/16");
  mascri_json_gen_kv_string(g, "cniConfDir",
                            c->net.cni_conf_dir ? c->net.cni_conf_dir : "/etc/cni/net.d");
  mascri_json_gen_kv_bool(g, "podsAvailable", d->pods != NULL);
  mascri_json_gen_kv_bool(g, "containersAvailable", d->ctrs != NULL);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

static void add_info(Runtime__V1__StatusResponse *r, const char *key, char *value)
{
  Runtime__V1__StatusResponse__InfoEntry *e = xmalloc(sizeof(*e));
  runtime__v1__status_response__info_entry__init(e);
  e->key = xstrdup(key);
  e->value = value;
  r->info = xrealloc(r->info, (r->n_info + 1) * sizeof(*r->info));
  r->info[r->n_info++] = e;
}

MASCRI_RPC(status)
{
  (void)cancel, (void)err;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__StatusRequest *in = (const Runtime__V1__StatusRequest *)req;
  bool net_ready = false;
  _cleanup_free_ char *reason = NULL;
  mascri_network_status(d->net, &net_ready, &reason);

  Runtime__V1__StatusResponse *r = xmalloc(sizeof(*r));
  runtime__v1__status_response__init(r);
  r->status = xmalloc(sizeof(*r->status));
  runtime__v1__runtime_status__init(r->status);
  r->status->n_conditions = 2;
  r->status->conditions = xcalloc(2, sizeof(*r->status->conditions));
  r->status->conditions[0] = condition("RuntimeReady", true, NULL, NULL);
  r->status->conditions[1] =
      condition("NetworkReady", net_ready, net_ready ? NULL : "NetworkPluginNotReady", reason);
  if (in->verbose)
    add_info(r, "config", config_json(d));
  *resp = &r->base;
  return 0;
}

MASCRI_RPC(runtime_config)
{
  (void)req, (void)cancel, (void)err;
  struct mascri_daemon *d = ctx;
  Runtime__V1__RuntimeConfigResponse *r = xmalloc(sizeof(*r));
  runtime__v1__runtime_config_response__init(r);
  r->linux = xmalloc(sizeof(*r->linux));
  runtime__v1__linux_runtime_configuration__init(r->linux);
  r->linux->cgroup_driver = d->cfg.cgroup_manager == MASCRI_CGROUP_MANAGER_SYSTEMD
                                ? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
                                : RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
  *resp = &r->base;
  return 0;
}

MASCRI_RPC(update_runtime_config)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__UpdateRuntimeConfigRequest *in =
      (const Runtime__V1__UpdateRuntimeConfigRequest *)req;
  const char *cidr = NULL;
  if (in->runtime_config && in->runtime_config->network_config)
    cidr = in->runtime_config->network_config->pod_cidr;
  if (cidr && cidr[0] && mascri_network_update_pod_cidr(d->net, cidr, err) < 0)
    return mascri_error_wrap(err, "update pod CIDR to %s", cidr);
  Runtime__V1__UpdateRuntimeConfigResponse *r = xmalloc(sizeof(*r));
  runtime__v1__update_runtime_config_response__init(r);
  *resp = &r->base;
  return 0;
}
