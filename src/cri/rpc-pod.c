/* The pod RPCs: RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
 * ListPodSandbox, PodSandboxStats, ListPodSandboxStats over sandbox/pods.h. */
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/daemon.h"
#include "cri/rpc-pod-conv.h"
#include "cri/rpc-packed.h"
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
  _cleanup_pod_config_ struct mascri_pod_config *config = NULL;
  if (pods_of(ctx, &pods, err) < 0)
    return -1;
  /* none: mascri_pods_run says it is required */
  if (r->config) {
    config = xmalloc0(sizeof(*config));
    if (mascri_pod_config_from_pb(r->config, config, err) < 0)
      return -1;
  }
  if (mascri_pods_run(pods, config, r->runtime_handler, &id, err) < 0)
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

/* The items packed one by one under the table's lock into one buffer, sent as a
 * mascri.PackedBody (the wire bytes of a ListPodSandboxResponse): no message tree of a
 * dozen allocations per pod, which also left the heap fragmented after each call. */
struct pod_list_visit {
  const Runtime__V1__PodSandboxFilter *filter;
  struct mascri_packed_list out;
};

static void pod_list_visit(void *data, const struct mascri_pod_info *in)
{
  struct pod_list_visit *lv = data;
  if (list_match(in, lv->filter))
    mascri_pod_list_item_add(&lv->out, in);
}

/* A first pass counts the matches, so that the buffer is sized once: grown by doubling it
 * was copied a few times and crossed into a fresh mapping on the way. */
struct pod_count_visit {
  const Runtime__V1__PodSandboxFilter *filter;
  size_t n;
};

static void pod_count_visit(void *data, const struct mascri_pod_info *in)
{
  struct pod_count_visit *cv = data;
  if (list_match(in, cv->filter))
    cv->n++;
}

/* About what a ListPodSandbox item of kubelet's packs to (id, metadata, a few labels). */
#define POD_ITEM_BYTES 192

MASCRI_RPC(list_pod_sandbox)
{
  (void)cancel;
  const Runtime__V1__ListPodSandboxRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  if (pods_of(ctx, &pods, err) < 0)
    return -1;
  struct pod_count_visit cv = {.filter = r->filter};
  mascri_pods_foreach(pods, pod_count_visit, &cv);
  struct pod_list_visit lv = {.filter = r->filter};
  mascri_packed_list_init(&lv.out, cv.n * POD_ITEM_BYTES);
  mascri_pods_foreach(pods, pod_list_visit, &lv);
  *resp = mascri_packed_list_finish(&lv.out);
  return 0;
}

/* The attributes part of a pod's stats: from memory, fine under the table's lock. */
static Runtime__V1__PodSandboxStats *stats_msg(const struct mascri_pod_info *in)
{
  Runtime__V1__PodSandboxStats *s = xmalloc(sizeof(*s));
  runtime__v1__pod_sandbox_stats__init(s);
  s->attributes = mascri_pod_attributes_msg(in);
  return s;
}

/* The measured part: the pod cgroup's files and the pod's eth0 counters (in is read for
 * id, ready, pause_pid, pause_start_time, paths, cgroup_parent, pause_cgroup only). */
static void stats_measure(struct mascri_pods *pods, const struct mascri_pod_info *in,
                          Runtime__V1__PodSandboxStats *s)
{
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
}

static Runtime__V1__PodSandboxStats *stats_of(struct mascri_pods *pods,
                                              const struct mascri_pod_info *in)
{
  Runtime__V1__PodSandboxStats *s = stats_msg(in);
  stats_measure(pods, in, s);
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

static bool stats_match(const struct mascri_pod_info *in,
                        const Runtime__V1__PodSandboxStatsFilter *f)
{
  if (!f)
    return true;
  if (f->id && f->id[0] && strncmp(in->id, f->id, strlen(f->id)) != 0)
    return false;
  return mascri_pod_labels_match(in, (void *const *)f->label_selector, f->n_label_selector);
}

/* What a stats call keeps of each pod while the table's lock is held: the message so far
 * (attributes) and a copy of the few fields the measuring reads, which is done after. */
struct pod_stats_visit {
  const Runtime__V1__PodSandboxStatsFilter *filter;
  Runtime__V1__PodSandboxStats **v;
  struct mascri_pod_info *m;
  size_t n, cap;
};

static void pod_stats_visit(void *data, const struct mascri_pod_info *in)
{
  struct pod_stats_visit *sv = data;
  if (!stats_match(in, sv->filter))
    return;
  if (sv->n + 1 >= sv->cap) {
    sv->cap = sv->cap ? 2 * sv->cap : 64;
    sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
    sv->m = xrealloc(sv->m, sv->cap * sizeof(*sv->m));
  }
  sv->v[sv->n] = stats_msg(in);
  /* id points into the message's attributes, which outlive the measuring */
  sv->m[sv->n] = (struct mascri_pod_info){
      .id = sv->v[sv->n]->attributes->id,
      .ready = in->ready,
      .pause_pid = in->pause_pid,
      .pause_start_time = in->pause_start_time,
      .ns_dir = in->ns_dir,
      .files_dir = in->files_dir,
      .paths = in->paths,
      .cgroup_parent = in->cgroup_parent ? xstrdup(in->cgroup_parent) : NULL,
      .pause_cgroup = in->pause_cgroup ? xstrdup(in->pause_cgroup) : NULL,
  };
  sv->v[++sv->n] = NULL;
}

MASCRI_RPC(list_pod_sandbox_stats)
{
  (void)cancel;
  const Runtime__V1__ListPodSandboxStatsRequest *r = (const void *)req;
  struct mascri_pods *pods = NULL;
  if (pods_of(ctx, &pods, err) < 0)
    return -1;
  /* No copy of every pod's record: attributes under the lock, the files read after. */
  struct pod_stats_visit sv = {.filter = r->filter};
  mascri_pods_foreach(pods, pod_stats_visit, &sv);
  for (size_t i = 0; i < sv.n; i++) {
    stats_measure(pods, &sv.m[i], sv.v[i]);
    free(sv.m[i].cgroup_parent);
    free(sv.m[i].pause_cgroup);
  }
  free(sv.m);
  Runtime__V1__ListPodSandboxStatsResponse *out = xmalloc(sizeof(*out));
  runtime__v1__list_pod_sandbox_stats_response__init(out);
  out->stats = sv.v ? sv.v : xcalloc(1, sizeof(*out->stats));
  out->n_stats = sv.n;
  *resp = &out->base;
  return 0;
}
