/* The container RPCs: CreateContainer, StartContainer, StopContainer, RemoveContainer,
 * ListContainers, ContainerStatus, UpdateContainerResources, ReopenContainerLog, ExecSync,
 * ContainerStats, ListContainerStats over sandbox/containers.h; and the container events
 * of GetContainerEvents. */
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/daemon.h"
#include "cri/rpc-conv.h"
#include "cri/rpc-ctr-conv.h"
#include "cri/rpc-ctr-msg.h"
#include "cri/rpc-packed.h"
#include "cri/rpc-pod-msg.h"
#include "cri/rpc.h"
#include "sandbox/containers.h"

static int ctrs_of(void *ctx, struct mascri_containers **out, mascri_error_t *err)
{
  struct mascri_daemon *d = ctx;
  if (!d->ctrs)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "containers are not available");
  *out = d->ctrs;
  return 0;
}

/* The repo digest of the container's image, as containerd reports image_ref (NULL: none). */
static char *image_ref_of(struct mascri_daemon *d, const struct mascri_ctr_info *in)
{
  struct mascri_image_info *img = NULL;
  _cleanup_error_ mascri_error_t e = NULL;
  if (!in->image_id || mascri_image_lookup(d->images, in->image_id, &img, &e) < 0)
    return NULL;
  char *ref = img->repo_digests[0] ? xstrdup(img->repo_digests[0]) : NULL;
  mascri_image_info_free(img);
  return ref;
}

#define EMPTY_RESPONSE(type, fn)                                                                   \
  do {                                                                                             \
    type *out_ = xmalloc(sizeof(*out_));                                                           \
    fn(out_);                                                                                      \
    *resp = &out_->base;                                                                           \
  } while (0)

MASCRI_RPC(create_container)
{
  const Runtime__V1__CreateContainerRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  _cleanup_free_ char *id = NULL;
  if (!r->pod_sandbox_id || !r->pod_sandbox_id[0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "pod_sandbox_id is required");
  _cleanup_ctr_config_ struct mascri_ctr_config *config = NULL;
  if (r->config) {
    config = mascri_ctr_config_new();
    mascri_conv_ctr_config_in(config, r->config);
  }
  if (ctrs_of(ctx, &ctrs, err) < 0 ||
      mascri_containers_create(ctrs, r->pod_sandbox_id, config, &id, cancel, err) < 0)
    return -1;
  Runtime__V1__CreateContainerResponse *out = xmalloc(sizeof(*out));
  runtime__v1__create_container_response__init(out);
  out->container_id = TAKE_PTR(id);
  *resp = &out->base;
  return 0;
}

MASCRI_RPC(start_container)
{
  (void)cancel;
  const Runtime__V1__StartContainerRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0 || mascri_containers_start(ctrs, r->container_id, err) < 0)
    return -1;
  EMPTY_RESPONSE(Runtime__V1__StartContainerResponse, runtime__v1__start_container_response__init);
  return 0;
}

MASCRI_RPC(stop_container)
{
  const Runtime__V1__StopContainerRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (r->timeout < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "timeout must not be negative");
  if (ctrs_of(ctx, &ctrs, err) < 0)
    return -1;
  _cleanup_error_ mascri_error_t e = NULL;
  if (mascri_containers_stop(ctrs, r->container_id, r->timeout, cancel, &e) < 0) {
    /* Stopping what is not there is not an error (CRI: StopContainer is idempotent). */
    if (mascri_error_kind(&e) != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &e);
      return -1;
    }
    log_debug("StopContainer: %s", mascri_error_message(&e));
  }
  EMPTY_RESPONSE(Runtime__V1__StopContainerResponse, runtime__v1__stop_container_response__init);
  return 0;
}

MASCRI_RPC(remove_container)
{
  (void)cancel;
  const Runtime__V1__RemoveContainerRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0)
    return -1;
  _cleanup_error_ mascri_error_t e = NULL;
  if (mascri_containers_remove(ctrs, r->container_id, &e) < 0) {
    /* Removing what is already gone is not an error (CRI). */
    if (mascri_error_kind(&e) != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &e);
      return -1;
    }
    log_debug("RemoveContainer: %s", mascri_error_message(&e));
  }
  EMPTY_RESPONSE(Runtime__V1__RemoveContainerResponse,
                 runtime__v1__remove_container_response__init);
  return 0;
}

static bool list_match(const struct mascri_ctr_info *in, const Runtime__V1__ContainerFilter *f)
{
  if (!f)
    return true;
  if (f->id && f->id[0] && strncmp(in->id, f->id, strlen(f->id)) != 0)
    return false;
  if (f->pod_sandbox_id && f->pod_sandbox_id[0] &&
      strncmp(in->pod_id, f->pod_sandbox_id, strlen(f->pod_sandbox_id)) != 0)
    return false;
  if (f->state && (int)f->state->state != (int)in->state)
    return false;
  return mascri_conv_kv_match(&in->config->labels, (void *const *)f->label_selector,
                              f->n_label_selector);
}

/* Image id → repo digest for one call: a node runs few distinct images, each looked up
 * once per call instead of once per container. */
struct ref_table {
  char **ids, **refs;
  size_t n, cap;
};

static const char *ref_of(const struct ref_table *rt, const char *image_id)
{
  for (size_t i = 0; i < rt->n; i++)
    if (strcmp(rt->ids[i], image_id) == 0)
      return rt->refs[i];
  return NULL;
}

static void ref_table_clear(struct ref_table *rt)
{
  for (size_t i = 0; i < rt->n; i++) {
    free(rt->ids[i]);
    free(rt->refs[i]);
  }
  free(rt->ids);
  free(rt->refs);
}

/* Pass one (under the store's lock): the distinct image ids of the matching containers,
 * and how many match. */
struct ids_visit {
  const Runtime__V1__ContainerFilter *filter;
  struct ref_table *rt;
  size_t n;
};

static void ids_visit(void *data, const struct mascri_ctr_info *in)
{
  struct ids_visit *iv = data;
  struct ref_table *rt = iv->rt;
  if (!list_match(in, iv->filter))
    return;
  iv->n++;
  if (!in->image_id || !in->image_id[0])
    return;
  for (size_t i = 0; i < rt->n; i++)
    if (strcmp(rt->ids[i], in->image_id) == 0)
      return;
  if (rt->n == rt->cap) {
    rt->cap = rt->cap ? 2 * rt->cap : 8;
    rt->ids = xrealloc(rt->ids, rt->cap * sizeof(*rt->ids));
    rt->refs = xrealloc(rt->refs, rt->cap * sizeof(*rt->refs));
  }
  rt->ids[rt->n] = xstrdup(in->image_id);
  rt->refs[rt->n++] = NULL;
}

/* Pass two (under the lock again): each item packed once straight into one buffer, sent as
 * a mascri.PackedBody (the wire bytes of a ListContainersResponse): no message tree of
 * about twenty allocations per container, nor a buffer per item packed again into the
 * frame. A container created between the passes shows its image id as image_ref, as one
 * whose image has no repo digest does. */
struct list_visit {
  const Runtime__V1__ContainerFilter *filter;
  const struct ref_table *rt;
  struct mascri_packed_list out;
};

static void list_visit(void *data, const struct mascri_ctr_info *in)
{
  struct list_visit *lv = data;
  if (!list_match(in, lv->filter))
    return;
  const char *ref = in->image_id && in->image_id[0] ? ref_of(lv->rt, in->image_id) : NULL;
  mascri_ctr_list_item_add(&lv->out, in, ref);
}

/* About what a ListContainers item of kubelet's packs to (ids, name, image, digests). */
#define LIST_ITEM_BYTES 512

MASCRI_RPC(list_containers)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__ListContainersRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0)
    return -1;
  struct ref_table rt = {0};
  struct ids_visit iv = {.filter = r->filter, .rt = &rt};
  mascri_containers_foreach(ctrs, ids_visit, &iv);
  /* The image store is asked with no container lock held. */
  for (size_t i = 0; i < rt.n; i++) {
    struct mascri_ctr_info in = {.image_id = rt.ids[i]};
    rt.refs[i] = image_ref_of(d, &in);
  }
  struct list_visit lv = {.filter = r->filter, .rt = &rt};
  mascri_packed_list_init(&lv.out, iv.n * LIST_ITEM_BYTES);
  mascri_containers_foreach(ctrs, list_visit, &lv);
  ref_table_clear(&rt);
  *resp = mascri_packed_list_finish(&lv.out);
  return 0;
}

MASCRI_RPC(container_status)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__ContainerStatusRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  _cleanup_ctr_info_ struct mascri_ctr_info *in = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0 || mascri_containers_get(ctrs, r->container_id, &in, err) < 0)
    return -1;
  Runtime__V1__ContainerStatusResponse *out = xmalloc(sizeof(*out));
  runtime__v1__container_status_response__init(out);
  _cleanup_free_ char *ref = image_ref_of(d, in);
  out->status = mascri_ctr_status_msg(in, ref);
  if (r->verbose) {
    Runtime__V1__ContainerStatusResponse__InfoEntry *e = xmalloc(sizeof(*e));
    runtime__v1__container_status_response__info_entry__init(e);
    _cleanup_free_ char *bundle = xasprintf("%s/containers/%s", d->cfg.root, in->id);
    e->key = xstrdup("info");
    e->value = mascri_ctr_verbose_info(in, bundle);
    out->info = xcalloc(1, sizeof(*out->info));
    out->info[0] = e;
    out->n_info = 1;
  }
  *resp = &out->base;
  return 0;
}

MASCRI_RPC(update_container_resources)
{
  (void)cancel;
  const Runtime__V1__UpdateContainerResourcesRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0)
    return -1;
  if (r->linux) {
    struct mascri_ctr_resources res;
    mascri_conv_ctr_resources_in(&res, r->linux);
    int ret = mascri_containers_update(ctrs, r->container_id, &res, err);
    mascri_ctr_resources_clear(&res);
    if (ret < 0)
      return -1;
  } else {
    _cleanup_ctr_info_ struct mascri_ctr_info *in = NULL;
    if (mascri_containers_get(ctrs, r->container_id, &in, err) < 0)
      return -1;
  }
  EMPTY_RESPONSE(Runtime__V1__UpdateContainerResourcesResponse,
                 runtime__v1__update_container_resources_response__init);
  return 0;
}

MASCRI_RPC(reopen_container_log)
{
  (void)cancel;
  const Runtime__V1__ReopenContainerLogRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0 || mascri_containers_reopen_log(ctrs, r->container_id, err) < 0)
    return -1;
  EMPTY_RESPONSE(Runtime__V1__ReopenContainerLogResponse,
                 runtime__v1__reopen_container_log_response__init);
  return 0;
}

MASCRI_RPC(exec_sync)
{
  const Runtime__V1__ExecSyncRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (r->timeout < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "timeout must not be negative");
  _cleanup_free_ const char **cmd = xcalloc(r->n_cmd + 1, sizeof(*cmd));
  for (size_t i = 0; i < r->n_cmd; i++)
    cmd[i] = r->cmd[i];
  struct mascri_exec_sync_result res;
  if (ctrs_of(ctx, &ctrs, err) < 0 ||
      mascri_containers_exec_sync(ctrs, r->container_id, cmd, r->timeout, cancel, &res, err) < 0)
    return -1;
  Runtime__V1__ExecSyncResponse *out = xmalloc(sizeof(*out));
  runtime__v1__exec_sync_response__init(out);
  out->stdout.data = (uint8_t *)TAKE_PTR(res.out);
  out->stdout.len = res.out_len;
  out->stderr.data = (uint8_t *)TAKE_PTR(res.err_out);
  out->stderr.len = res.err_len;
  out->exit_code = res.exit_code;
  *resp = &out->base;
  return 0;
}

static Runtime__V1__ContainerStats *stats_of(struct mascri_containers *ctrs,
                                             const struct mascri_ctr_info *in)
{
  struct mascri_ctr_usage u;
  _cleanup_error_ mascri_error_t e = NULL;
  mascri_containers_usage(ctrs, in, &u, &e);
  Runtime__V1__ContainerStats *s = mascri_ctr_stats_msg(in, &u, mascri_clock_realtime_ns());
  mascri_ctr_usage_clear(&u);
  return s;
}

MASCRI_RPC(container_stats)
{
  (void)cancel;
  const Runtime__V1__ContainerStatsRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  _cleanup_ctr_info_ struct mascri_ctr_info *in = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0 || mascri_containers_get(ctrs, r->container_id, &in, err) < 0)
    return -1;
  Runtime__V1__ContainerStatsResponse *out = xmalloc(sizeof(*out));
  runtime__v1__container_stats_response__init(out);
  out->stats = stats_of(ctrs, in);
  *resp = &out->base;
  return 0;
}

static bool stats_match(const struct mascri_ctr_info *in,
                        const Runtime__V1__ContainerStatsFilter *f)
{
  if (in->state != MASCRI_CTR_RUNNING && in->state != MASCRI_CTR_CREATED)
    return false;
  if (!f)
    return true;
  if (f->id && f->id[0] && strncmp(in->id, f->id, strlen(f->id)) != 0)
    return false;
  if (f->pod_sandbox_id && f->pod_sandbox_id[0] &&
      strncmp(in->pod_id, f->pod_sandbox_id, strlen(f->pod_sandbox_id)) != 0)
    return false;
  return mascri_conv_kv_match(&in->config->labels, (void *const *)f->label_selector,
                              f->n_label_selector);
}

/* What a stats call keeps of each container while the store's lock is held: the message
 * so far (attributes, writable layer) and a copy of what the cgroup read needs. */
struct stats_visit {
  const Runtime__V1__ContainerStatsFilter *filter;
  struct mascri_containers *ctrs;
  int64_t now;
  Runtime__V1__ContainerStats **v;
  struct mascri_ctr_info *cg; /* id, state, cgroup_path only */
  int64_t *limit;             /* mascri_ctr_memory_limit of each */
  size_t n, cap;
};

static void stats_visit(void *data, const struct mascri_ctr_info *in)
{
  struct stats_visit *sv = data;
  if (!stats_match(in, sv->filter))
    return;
  if (sv->n + 1 >= sv->cap) {
    sv->cap = sv->cap ? 2 * sv->cap : 64;
    sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
    sv->cg = xrealloc(sv->cg, sv->cap * sizeof(*sv->cg));
    sv->limit = xrealloc(sv->limit, sv->cap * sizeof(*sv->limit));
  }
  struct mascri_ctr_usage u;
  mascri_containers_usage_layer(sv->ctrs, in, &u);
  sv->v[sv->n] = mascri_ctr_stats_msg(in, &u, sv->now);
  mascri_ctr_usage_clear(&u);
  sv->cg[sv->n] = (struct mascri_ctr_info){
      .id = in->id,
      .state = in->state,
      .cgroup_path = in->cgroup_path ? xstrdup(in->cgroup_path) : NULL,
  };
  sv->limit[sv->n] = mascri_ctr_memory_limit(in);
  sv->v[++sv->n] = NULL;
}

MASCRI_RPC(list_container_stats)
{
  (void)cancel;
  const Runtime__V1__ListContainerStatsRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  if (ctrs_of(ctx, &ctrs, err) < 0)
    return -1;
  struct stats_visit sv = {.filter = r->filter, .ctrs = ctrs, .now = mascri_clock_realtime_ns()};
  mascri_containers_foreach(ctrs, stats_visit, &sv);
  /* The cgroup files are read with no lock held: a handful per container. */
  for (size_t i = 0; i < sv.n; i++) {
    struct mascri_ctr_usage u;
    mascri_containers_usage_cgroup(ctrs, &sv.cg[i], &u);
    u.cg.memory_limit = sv.limit[i] > 0 ? (uint64_t)sv.limit[i] : 0;
    mascri_ctr_stats_msg_set_cgroup(sv.v[i], &u, sv.now);
    mascri_ctr_usage_clear(&u);
    free(sv.cg[i].cgroup_path);
  }
  free(sv.cg);
  free(sv.limit);
  Runtime__V1__ListContainerStatsResponse *out = xmalloc(sizeof(*out));
  runtime__v1__list_container_stats_response__init(out);
  out->stats = sv.v ? sv.v : xcalloc(1, sizeof(*out->stats));
  out->n_stats = sv.n;
  *resp = &out->base;
  return 0;
}

/* ---- GetContainerEvents ------------------------------------------------------------ */

struct pod_visit {
  const char *pod_id;
  Runtime__V1__ContainerEventResponse *ev;
  size_t cap;
};

static void pod_visit(void *data, const struct mascri_ctr_info *in)
{
  struct pod_visit *pv = data;
  if (strcmp(in->pod_id, pv->pod_id) != 0)
    return;
  Runtime__V1__ContainerEventResponse *ev = pv->ev;
  if (ev->n_containers_statuses + 1 >= pv->cap) {
    pv->cap = pv->cap ? 2 * pv->cap : 4;
    ev->containers_statuses =
        xrealloc(ev->containers_statuses, pv->cap * sizeof(*ev->containers_statuses));
  }
  ev->containers_statuses[ev->n_containers_statuses++] = mascri_ctr_status_msg(in, NULL);
  ev->containers_statuses[ev->n_containers_statuses] = NULL;
}

/* Statuses of the pod's containers, as kubelet's evented PLEG reads them: from memory,
 * only the pod's (an event costs the same on a full node as on an empty one). */
static void pod_statuses(struct mascri_daemon *d, const char *pod_id,
                         Runtime__V1__ContainerEventResponse *ev)
{
  struct pod_visit pv = {.pod_id = pod_id, .ev = ev};
  mascri_containers_foreach(d->ctrs, pod_visit, &pv);
}

void mascri_rpc_container_event(void *data, const char *ctr_id, const char *pod_id,
                                mascri_ctr_event_t type)
{
  struct mascri_daemon *d = data;
  if (!d->ctrs)
    return; /* still opening: restores emit nothing */
  Runtime__V1__ContainerEventResponse *ev = xmalloc(sizeof(*ev));
  runtime__v1__container_event_response__init(ev);
  ev->container_id = xstrdup(ctr_id);
  ev->container_event_type = (Runtime__V1__ContainerEventType)type;
  ev->created_at = mascri_clock_realtime_ns();
  struct mascri_pod_info *pod = NULL;
  _cleanup_error_ mascri_error_t e = NULL;
  if (d->pods && mascri_pods_get(d->pods, pod_id, &pod, &e) == 0) {
    ev->pod_sandbox_status = mascri_pod_status_msg(pod);
    mascri_pod_info_free(pod);
  }
  pod_statuses(d, pod_id, ev);
  mascri_daemon_publish_event(d, ev);
  protobuf_c_message_free_unpacked(&ev->base, NULL);
}
