/* The Exec, Attach and PortForward RPCs: validate the request against the container or
 * pod (as kubelet's streaming server does) and answer the URL of a single-use token of
 * the streaming server (stream-server.c). */
#include "cri/rpc.h"

#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "cri/daemon.h"
#include "cri/stream-server.h"
#include "sandbox/containers.h"
#include "sandbox/pods.h"
#include "sandbox/stream.h"

static int server_of(void *ctx, struct mascri_stream_server **out, mascri_error_t *err)
{
  struct mascri_daemon *d = ctx;
  if (d->streams == NULL || d->ctrs == NULL || d->pods == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0,
                                  "the streaming server is not running");
  *out = d->streams;
  return 0;
}

/* The running container behind id (full id or unique prefix): its full id. */
static char *running_container(void *ctx, const char *id, mascri_error_t *err)
{
  struct mascri_daemon *d = ctx;
  if (id == NULL || !*id) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "container id is empty");
    return NULL;
  }
  _cleanup_ctr_info_ struct mascri_ctr_info *in = NULL;
  if (mascri_containers_get(d->ctrs, id, &in, err) < 0)
    return NULL;
  if (in->state != MASCRI_CTR_RUNNING) {
    mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0, "container %s is not running",
                           in->id);
    return NULL;
  }
  return xstrdup(in->id);
}

static int check_streams(bool tty, bool in, bool out, bool errs, mascri_error_t *err)
{
  if (tty && errs)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "tty and stderr cannot both be true");
  if (!in && !out && !errs)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "one of stdin, stdout, or stderr must be set");
  return 0;
}

/* The request of an exec or attach stream on container id (taken). */
static struct mascri_stream_req *stdio_req(mascri_stream_kind_t kind, char *id, bool tty, bool in,
                                           bool out, bool errs)
{
  struct mascri_stream_req *sr = xmalloc0(sizeof(*sr));
  sr->kind = kind;
  sr->id = id;
  sr->tty = tty;
  sr->in = in;
  sr->out = out;
  sr->err = errs;
  return sr;
}

MASCRI_RPC(exec)
{
  (void)cancel;
  const Runtime__V1__ExecRequest *r = (const void *)req;
  struct mascri_stream_server *srv = NULL;
  if (server_of(ctx, &srv, err) < 0)
    return -1;
  if (r->n_cmd == 0 || r->cmd[0] == NULL || !*r->cmd[0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "cmd must not be empty");
  if (check_streams(r->tty, r->stdin, r->stdout, r->stderr, err) < 0)
    return -1;
  char *id = running_container(ctx, r->container_id, err);
  if (id == NULL)
    return -1;
  struct mascri_stream_req *sr =
      stdio_req(MASCRI_STREAM_EXEC, id, r->tty, r->stdin, r->stdout, r->stderr);
  sr->cmd = xcalloc(r->n_cmd + 1, sizeof(char *));
  for (size_t i = 0; i < r->n_cmd; i++)
    sr->cmd[i] = xstrdup(r->cmd[i]);
  char *url;
  if (mascri_stream_server_url(srv, sr, &url, err) < 0)
    return -1;
  Runtime__V1__ExecResponse *out = xmalloc(sizeof(*out));
  runtime__v1__exec_response__init(out);
  out->url = url;
  *resp = &out->base;
  return 0;
}

MASCRI_RPC(attach)
{
  (void)cancel;
  const Runtime__V1__AttachRequest *r = (const void *)req;
  struct mascri_stream_server *srv = NULL;
  if (server_of(ctx, &srv, err) < 0)
    return -1;
  if (check_streams(r->tty, r->stdin, r->stdout, r->stderr, err) < 0)
    return -1;
  char *id = running_container(ctx, r->container_id, err);
  if (id == NULL)
    return -1;
  /* a container of an older monitor fails here, not later on the stream */
  if (mascri_containers_attach_check(((struct mascri_daemon *)ctx)->ctrs, id, err) < 0) {
    free(id);
    return -1;
  }
  struct mascri_stream_req *sr =
      stdio_req(MASCRI_STREAM_ATTACH, id, r->tty, r->stdin, r->stdout, r->stderr);
  char *url;
  if (mascri_stream_server_url(srv, sr, &url, err) < 0)
    return -1;
  Runtime__V1__AttachResponse *out = xmalloc(sizeof(*out));
  runtime__v1__attach_response__init(out);
  out->url = url;
  *resp = &out->base;
  return 0;
}

MASCRI_RPC(port_forward)
{
  (void)cancel;
  const Runtime__V1__PortForwardRequest *r = (const void *)req;
  struct mascri_daemon *d = ctx;
  struct mascri_stream_server *srv = NULL;
  if (server_of(ctx, &srv, err) < 0)
    return -1;
  if (r->pod_sandbox_id == NULL || !*r->pod_sandbox_id)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "pod sandbox id is empty");
  for (size_t i = 0; i < r->n_port; i++)
    if (r->port[i] <= 0 || r->port[i] > 65535)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "invalid port %d",
                                    r->port[i]);
  struct mascri_pod_info *pod = NULL;
  if (mascri_pods_get(d->pods, r->pod_sandbox_id, &pod, err) < 0)
    return -1;
  if (!pod->ready) {
    mascri_make_error_kind(err, MASCRI_ERR_FAILED_PRECONDITION, 0, "pod sandbox %s is not ready",
                           pod->id);
    mascri_pod_info_free(pod);
    return -1;
  }
  struct mascri_stream_req *sr = xmalloc0(sizeof(*sr));
  sr->kind = MASCRI_STREAM_PORTFORWARD;
  sr->id = xstrdup(pod->id);
  mascri_pod_info_free(pod);
  sr->n_ports = r->n_port;
  sr->ports = xcalloc(r->n_port ? r->n_port : 1, sizeof(uint16_t));
  for (size_t i = 0; i < r->n_port; i++)
    sr->ports[i] = (uint16_t)r->port[i];
  char *url;
  if (mascri_stream_server_url(srv, sr, &url, err) < 0)
    return -1;
  Runtime__V1__PortForwardResponse *out = xmalloc(sizeof(*out));
  runtime__v1__port_forward_response__init(out);
  out->url = url;
  *resp = &out->base;
  return 0;
}
