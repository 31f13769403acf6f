/* The pod RPCs: RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
 * ListPodSandbox, PodSandboxStats, ListPodSandboxStats over sandbox/pods.h. */
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/daemon.h"
#include "cri/rpc-pod-msg.h"
#include "cri/rpc.h"
#include "sandbox/containers.h"
#include "sandbox/pods.h"

static int pods_of(void *ctx, struct mascri_pods **out, mascri_error_t *err)
{
  struct mascri_daemon *d = ctx;
  if (!d->pods)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "pods are not available");
  *out = d->pods;
  return 0;
}

MASCRI_RPC(run_pod_sandbox)
{
  (void)cancel;
  const Runtime__V1__RunPodSandboxRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  _cleanup_free_ char *id = NULL;
  if (pods_of(ctx, &pods, err) < 0 ||
      mascri_pods_run(pods, r->config, r->runtime_handler, &id, err) < 0)
    return -1;
  Runtime__V1__RunPodSandboxResponse *out = xmalloc(sizeof(*out));
  runtime__v1__run_pod_sandbox_response__init(out);
  out->pod_sandbox_id = TAKE_PTR(id);
  *resp = &out->base;
  return 0;
}

/* Resolves a prefix to the full id; *id stays NULL for an unknown pod. */
static int resolve(struct mascri_pods *pods, const char *id_or_prefix, char **id,
                   mascri_error_t *err)
{
  struct mascri_pod_info *in = NULL;
  _cleanup_error_ mascri_error_t e = NULL;
  *id = NULL;
  if (mascri_pods_get(pods, id_or_prefix, &in, &e) < 0) {
    if (mascri_error_kind(&e) == MASCRI_ERR_NOT_FOUND)
      return 0;
    mascri_error_move(err, &e);
    return -1;
  }
  *id = xstrdup(in->id);
  mascri_pod_info_free(in);
  return 0;
}

MASCRI_RPC(stop_pod_sandbox)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__StopPodSandboxRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  _cleanup_free_ char *id = NULL;
  if (pods_of(ctx, &pods, err) < 0 || resolve(pods, r->pod_sandbox_id, &id, err) < 0)
    return -1;
  if (id) {
    if (d->ctrs && mascri_containers_stop_pod(d->ctrs, id, 0, err) < 0)
      return mascri_error_wrap(err, "stop the containers of pod %s", id);
    /* A RemovePodSandbox may have won the race since: stopped enough. */
    _cleanup_error_ mascri_error_t e = NULL;
    if (mascri_pods_stop(pods, id, &e) < 0 && mascri_error_kind(&e) != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &e);
      return -1;
    }
  } else {
    log_debug("StopPodSandbox: pod %s is unknown, nothing to stop", r->pod_sandbox_id);
  }
  Runtime__V1__StopPodSandboxResponse *out = xmalloc(sizeof(*out));
  runtime__v1__stop_pod_sandbox_response__init(out);
  *resp = &out->base;
  return 0;
}

MASCRI_RPC(remove_pod_sandbox)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__RemovePodSandboxRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  _cleanup_free_ char *id = NULL;
  if (pods_of(ctx, &pods, err) < 0 || resolve(pods, r->pod_sandbox_id, &id, err) < 0)
    return -1;
  if (id) {
    if (d->ctrs && mascri_containers_remove_pod(d->ctrs, id, err) < 0)
      return mascri_error_wrap(err, "remove the containers of pod %s", id);
    _cleanup_error_ mascri_error_t e = NULL;
    if (mascri_pods_remove(pods, id, &e) < 0 && mascri_error_kind(&e) != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &e);
      return -1;
    }
  }
  Runtime__V1__RemovePodSandboxResponse *out = xmalloc(sizeof(*out));
  runtime__v1__remove_pod_sandbox_response__init(out);
  *resp = &out->base;
  return 0;
}

MASCRI_RPC(pod_sandbox_status)
{
  (void)cancel;
  const Runtime__V1__PodSandboxStatusRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  struct mascri_pod_info *in = NULL;
  if (pods_of(ctx, &pods, err) < 0 || mascri_pods_get(pods, r->pod_sandbox_id, &in, err) < 0)
    return -1;
  Runtime__V1__PodSandboxStatusResponse *out = xmalloc(sizeof(*out));
  runtime__v1__pod_sandbox_status_response__init(out);
  out->status = mascri_pod_status_msg(in);
  out->timestamp = mascri_clock_realtime_ns();
  if (r->verbose) {
    Runtime__V1__PodSandboxStatusResponse__InfoEntry *e = xmalloc(sizeof(*e));
    runtime__v1__pod_sandbox_status_response__info_entry__init(e);
    e->key = xstrdup("info");
    e->value = mascri_pod_verbose_info(in);
    out->info = xcalloc(1, sizeof(*out->info));
    out->info[0] = e;
    out->n_info = 1;
  }
  mascri_pod_info_free(in);
  *resp = &out->base;
  return 0;
}

static bool list_match(const struct mascri_pod_info *in, const Runtime__V1__PodSandboxFilter *f)
{
  if (!f)
    return true;
  if (f->id && f->id[0] && strncmp(in->id, f->id, strlen(f->id)) != 0)
    return false;
  if (f->state && (f->state->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) != in->ready)
    return false;
  return mascri_pod_labels_match(in, (void *const *)f->label_selector, f->n_label_selector);
}

struct pod_list_visit {
  const Runtime__V1__PodSandboxFilter *filter;
  Runtime__V1__PodSandbox **v;
  size_t n, cap;
};

static void pod_list_visit(void *data, const struct mascri_pod_info *in)
{
  struct pod_list_visit *lv = data;
  if (!list_match(in, lv->filter))
    return;
  if (lv->n + 1 >= lv->cap) {
    lv->cap = lv->cap ? 2 * lv->cap : 64;
    lv->v = xrealloc(lv->v, lv->cap * sizeof(*lv->v));
  }
  lv->v[lv->n++] = mascri_pod_list_item_msg(in);
  lv->v[lv->n] = NULL;
}

MASCRI_RPC(list_pod_sandbox)
{
  (void)cancel;
  const Runtime__V1__ListPodSandboxRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  if (pods_of(ctx, &pods, err) < 0)
    return -1;
  /* Messages built from memory under the table's lock (no config copies). */
  struct pod_list_visit lv = {.filter = r->filter};
  mascri_pods_foreach(pods, pod_list_visit, &lv);
  Runtime__V1__ListPodSandboxResponse *out = xmalloc(sizeof(*out));
  runtime__v1__list_pod_sandbox_response__init(out);
  out->items = lv.v ? lv.v : xcalloc(1, sizeof(*out->items));
  out->n_items = lv.n;
  *resp = &out->base;
  return 0;
}

static Runtime__V1__PodSandboxStats *stats_of(struct mascri_pods *pods,
                                              const struct mascri_pod_info *in)
{
  Runtime__V1__PodSandboxStats *s = xmalloc(sizeof(*s));
  runtime__v1__pod_sandbox_stats__init(s);
  s->attributes = mascri_pod_attributes_msg(in);
  mascri_container_stats_t st;
  _cleanup_error_ mascri_error_t e = NULL;
  bool have = in->ready && mascri_pods_cgroup_stats(pods, in, &st, &e) == 0;
  if (in->ready && !have)
    log_debug("pod %s stats: %s", in->id, mascri_error_message(&e));
  int64_t now = mascri_clock_realtime_ns();
  s->linux = mascri_pod_linux_stats_msg(have ? &st : NULL, now);
  struct mascri_pod_net_stats ns;
  if (mascri_pods_net_stats(in, "eth0", &ns, &e) == 0)
    s->linux->network = mascri_pod_network_usage_msg("eth0", &ns, now);
  return s;
}

MASCRI_RPC(pod_sandbox_stats)
{
  (void)cancel;
  const Runtime__V1__PodSandboxStatsRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  struct mascri_pod_info *in = NULL;
  if (pods_of(ctx, &pods, err) < 0 || mascri_pods_get(pods, r->pod_sandbox_id, &in, err) < 0)
    return -1;
  Runtime__V1__PodSandboxStatsResponse *out = xmalloc(sizeof(*out));
  runtime__v1__pod_sandbox_stats_response__init(out);
  out->stats = stats_of(pods, in);
  mascri_pod_info_free(in);
  *resp = &out->base;
  return 0;
}

MASCRI_RPC(list_pod_sandbox_stats)
{
  (void)cancel;
  const Runtime__V1__ListPodSandboxStatsRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  struct mascri_pod_info **v = NULL;
  size_t n = 0;
  if (pods_of(ctx, &pods, err) < 0 || mascri_pods_list(pods, &v, &n, err) < 0)
    return -1;
  Runtime__V1__ListPodSandboxStatsResponse *out = xmalloc(sizeof(*out));
  runtime__v1__list_pod_sandbox_stats_response__init(out);
  out->stats = xcalloc(n + 1, sizeof(*out->stats));
  const Runtime__V1__PodSandboxStatsFilter *f = r->filter;
  for (size_t i = 0; i < n; i++) {
    if (f && f->id && f->id[0] && strncmp(v[i]->id, f->id, strlen(f->id)) != 0)
      continue;
    if (f && !mascri_pod_labels_match(v[i], (void *const *)f->label_selector, f->n_label_selector))
      continue;
    out->stats[out->n_stats++] = stats_of(pods, v[i]);
  }
  mascri_pod_info_list_free(v, n);
  *resp = &out->base;
  return 0;
}
