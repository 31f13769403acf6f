/* The container RPCs: CreateContainer, StartContainer, StopContainer, RemoveContainer,
 * ListContainers, ContainerStatus, UpdateContainerResources, ReopenContainerLog, ExecSync,
 * ContainerStats, ListContainerStats over sandbox/containers.h; and the container events
 * of GetContainerEvents. */
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "cri/daemon.h"
#include "cri/rpc-ctr-msg.h"
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

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
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
  if (ctrs_of(ctx, &ctrs, err) < 0 ||
      mascri_containers_create(ctrs, r->pod_sandbox_id, r->config, &id, cancel, err) < 0)
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
  return mascri_rpc_labels_match((void *const *)in->config->labels, in->config->n_labels,
                                 (void *const *)f->label_selector, f->n_label_selector);
}

MASCRI_RPC(list_containers)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__ListContainersRequest *r = (const void *)req;
  struct mascri_containers *ctrs = NULL;
  struct mascri_ctr_info **v = NULL;
  size_t n = 0;
  if (ctrs_of(ctx, &ctrs, err) < 0 || mascri_containers_list(ctrs, &v, &n, err) < 0)
    return -1;
  Runtime__V1__ListContainersResponse *out = xmalloc(sizeof(*out));
  runtime__v1__list_containers_response__init(out);
  out->containers = xcalloc(n + 1, sizeof(*out->containers));
  for (size_t i = 0; i < n; i++)
    if (list_match(v[i], r->filter)) {
      _cleanup_free_ char *ref = image_ref_of(d, v[i]);
      out->containers[out->n_containers++] = mascri_ctr_list_item_msg(v[i], ref);
    }
  mascri_ctr_info_list_free(v, n);
  *resp = &out->base;
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
  if (r->linux && mascri_containers_update(ctrs, r->container_id, r->linux, err) < 0)
    return -1;
  if (!r->linux) {
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
  Runtime__V1__ContainerStats *s = mascri_ctr_stats_msg(in, &u, now_ns());
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

MASCRI_RPC(list_container_stats)
{
  (void)cancel;
  const Runtime__V1__ListContainerStatsRequest *r = (const void *)req;
  const Runtime__V1__ContainerStatsFilter *f = r->filter;
  struct mascri_containers *ctrs = NULL;
  struct mascri_ctr_info **v = NULL;
  size_t n = 0;
  if (ctrs_of(ctx, &ctrs, err) < 0 || mascri_containers_list(ctrs, &v, &n, err) < 0)
    return -1;
  Runtime__V1__ListContainerStatsResponse *out = xmalloc(sizeof(*out));
  runtime__v1__list_container_stats_response__init(out);
  out->stats = xcalloc(n + 1, sizeof(*out->stats));
  for (size_t i = 0; i < n; i++) {
    const struct mascri_ctr_info *in = v[i];
    if (in->state != MASCRI_CTR_RUNNING && in->state != MASCRI_CTR_CREATED)
      continue;
    if (f && f->id && f->id[0] && strncmp(in->id, f->id, strlen(f->id)) != 0)
      continue;
    if (f && f->pod_sandbox_id && f->pod_sandbox_id[0] &&
        strncmp(in->pod_id, f->pod_sandbox_id, strlen(f->pod_sandbox_id)) != 0)
      continue;
    if (f && !mascri_rpc_labels_match((void *const *)in->config->labels, in->config->n_labels,
                                      (void *const *)f->label_selector, f->n_label_selector))
      continue;
    out->stats[out->n_stats++] = stats_of(ctrs, in);
  }
  mascri_ctr_info_list_free(v, n);
  *resp = &out->base;
  return 0;
}

/* ---- GetContainerEvents ------------------------------------------------------------ */

/* Statuses of the pod's containers, as kubelet's evented PLEG reads them. */
static void pod_statuses(struct mascri_daemon *d, const char *pod_id,
                         Runtime__V1__ContainerEventResponse *ev)
{
  struct mascri_ctr_info **v = NULL;
  size_t n = 0;
  _cleanup_error_ mascri_error_t e = NULL;
  if (mascri_containers_list(d->ctrs, &v, &n, &e) < 0)
    return;
  ev->containers_statuses = xcalloc(n + 1, sizeof(*ev->containers_statuses));
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i]->pod_id, pod_id) == 0)
      ev->containers_statuses[ev->n_containers_statuses++] = mascri_ctr_status_msg(v[i], NULL);
  mascri_ctr_info_list_free(v, n);
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
  ev->created_at = now_ns();
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
