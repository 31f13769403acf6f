/* The WebSocket transport of the streaming server through libwslay: the handshake
 * (RFC 6455 accept key, subprotocol negotiation), then binary messages whose first byte
 * is the channel (the Kubernetes channel protocols: channel.k8s.io, v4.channel.k8s.io with
 * JSON status, v5.channel.k8s.io adding the close signal: a message [255, channel] from the
 * client half-closes that channel, e.g. stdin). wslay's output goes into the connection's
 * output buffer, which the loop writes to the socket with backpressure. */
#include "common/clock.h"
#include "cri/stream-internal.h"

#include <errno.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"

#define WS_MAX_MSG (1024 * 1024)
#define CLOSE_SIGNAL 255

static const char *const exec_protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
                                             "channel.k8s.io", NULL};
static const char *const portforward_protocols[] = {"v4.channel.k8s.io", "portforward.k8s.io",
                                                    NULL};

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
  struct ss_conn *c = user;
  if (mascri_buf_size(&c->ws_in) > 0) {
    size_t n = len < mascri_buf_size(&c->ws_in) ? len : mascri_buf_size(&c->ws_in);
    memcpy(buf, mascri_buf_head(&c->ws_in), n);
    mascri_buf_consume(&c->ws_in, n);
    return (ssize_t)n;
  }
  ssize_t n;
  do
    n = recv(c->fd, buf, len, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (n <= 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  c->last_active_ms = mascri_clock_monotonic_ms();
  return n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
  struct ss_conn *c = user;
  mascri_buf_append(&c->out, data, len);
  return (ssize_t)len;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
  struct ss_conn *c = user;
  if (arg->opcode != WSLAY_BINARY_FRAME || arg->msg_length == 0 || c->proto == NULL)
    return; /* text (base64 protocols are not offered), control frames: wslay's */
  int ch = arg->msg[0];
  if (ch == CLOSE_SIGNAL) {
    if (c->ws_version_n >= 5 && arg->msg_length >= 2 && c->proto->fin)
      c->proto->fin(c, arg->msg[1], false);
    return;
  }
  if (arg->msg_length > 1)
    c->proto->data(c, ch, arg->msg + 1, arg->msg_length - 1);
}

static const struct wslay_event_callbacks ws_cb = {
    .recv_callback = ws_recv,
    .send_callback = ws_send_cb,
    .on_msg_recv_callback = ws_on_msg,
};

/* Sec-WebSocket-Accept (RFC 6455 4.2.2). nettle, not OpenSSL: mascrid already links nettle,
 * and libcrypto alone would add ~3 MB of resident pages to the daemon. */
static char *accept_key(const char *key)
{
  _cleanup_free_ char *in = xasprintf("%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  uint8_t sha[SHA1_DIGEST_SIZE];
  struct sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, strlen(in), (const uint8_t *)in);
  sha1_digest(&ctx, sizeof(sha), sha);
  char *out = xmalloc(BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1);
  base64_encode_raw(out, sizeof(sha), sha);
  out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
  return out;
}

static const char *negotiate(char *const *offered, const char *const *ours)
{
  for (size_t i = 0; ours[i]; i++)
    for (size_t k = 0; offered && offered[k]; k++)
      if (strcmp(offered[k], ours[i]) == 0)
        return ours[i];
  return NULL;
}

/* The ports of a WebSocket port forward: the URL's port=N parameters, else the RPC's. */
static int query_ports(struct ss_conn *c, uint16_t **ports, size_t *n)
{
  *ports = NULL;
  *n = 0;
  _cleanup_strv_ char **params = c->query ? mascri_strv_split(c->query, '&') : NULL;
  for (size_t i = 0; params && params[i]; i++) {
    if (strncmp(params[i], "port=", 5) != 0)
      continue;
    char *end = NULL;
    long v = strtol(params[i] + 5, &end, 10);
    if (*end || v <= 0 || v > 65535) {
      free(*ports);
      return -1;
    }
    *ports = xrealloc(*ports, (*n + 1) * sizeof(uint16_t));
    (*ports)[(*n)++] = (uint16_t)v;
  }
  if (*n == 0 && c->req->n_ports > 0) {
    *n = c->req->n_ports;
    *ports = xmalloc(*n * sizeof(uint16_t));
    memcpy(*ports, c->req->ports, *n * sizeof(uint16_t));
  }
  return 0;
}

int ss_ws_upgrade(struct ss_conn *c)
{
  bool pf = c->req->kind == MASCRI_STREAM_PORTFORWARD;
  if (c->ws_key == NULL || c->ws_version == NULL || strcmp(c->ws_version, "13") != 0) {
    ss_respond(c, 400, "Bad Request",
               "a WebSocket upgrade needs Sec-WebSocket-Key and version 13\n");
    return -1;
  }
  const char *proto = negotiate(c->ws_protocols, pf ? portforward_protocols : exec_protocols);
  if (proto == NULL && c->ws_protocols) {
    ss_respond(c, 400, "Bad Request", "unable to upgrade: unable to negotiate protocol\n");
    return -1;
  }
  _cleanup_free_ uint16_t *ports = NULL;
  size_t n_ports = 0;
  if (pf && (query_ports(c, &ports, &n_ports) < 0 || n_ports == 0)) {
    ss_respond(c, 400, "Bad Request", "query parameter \"port\" is required (1-65535)\n");
    return -1;
  }
  _cleanup_free_ char *accept = accept_key(c->ws_key);
  _cleanup_free_ char *proto_line =
      proto ? xasprintf("Sec-WebSocket-Protocol: %s\r\n", proto) : xstrdup("");
  _cleanup_free_ char *r = xasprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                                     accept, proto_line);
  mascri_buf_append(&c->out, r, strlen(r));
  if (wslay_event_context_server_init(&c->ws, &ws_cb, c) != 0) {
    c->ws = NULL;
    ss_conn_close(c);
    return -1;
  }
  wslay_event_config_set_max_recv_msg_length(c->ws, WS_MAX_MSG);
  c->protocol = proto ? proto : "";
  c->stage = SS_WS;
  if (pf) {
    ss_portforward_ws_begin(c, ports, n_ports);
    return 0;
  }
  c->ws_version_n = !proto                                    ? 1
                    : strcmp(proto, "v5.channel.k8s.io") == 0 ? 5
                    : strcmp(proto, "v4.channel.k8s.io") == 0 ? 4
                                                              : 1;
  ss_exec_begin(c, c->ws_version_n);
  ss_ws_flush_queue(c);
  return 0;
}

/* Moves wslay's queued frames into the connection's output buffer. */
void ss_ws_flush_queue(struct ss_conn *c)
{
  if (c->ws && wslay_event_want_write(c->ws))
    wslay_event_send(c->ws);
}

void ss_ws_read(struct ss_conn *c)
{
  if (wslay_event_recv(c->ws) != 0 || !wslay_event_want_read(c->ws)) {
    /* The client closed (or broke) the WebSocket: it is gone. */
    ss_ws_flush_queue(c);
    ss_conn_close(c);
    return;
  }
  ss_ws_flush_queue(c);
}

ssize_t ss_ws_send(struct ss_conn *c, int ch, const uint8_t *p, size_t n)
{
  if (!wslay_event_get_write_enabled(c->ws))
    return -1;
  uint8_t *msg = xmalloc(n + 1);
  msg[0] = (uint8_t)ch;
  if (n)
    memcpy(msg + 1, p, n);
  struct wslay_event_msg m = {.opcode = WSLAY_BINARY_FRAME, .msg = msg, .msg_length = n + 1};
  int r = wslay_event_queue_msg(c->ws, &m);
  free(msg);
  if (r != 0)
    return -1;
  ss_ws_flush_queue(c);
  return (ssize_t)n;
}

void ss_ws_close_chan(struct ss_conn *c, int ch)
{
  /* Nothing on the wire: the channel protocols end a channel with the connection. */
}

void ss_ws_finish(struct ss_conn *c)
{
  if (wslay_event_get_write_enabled(c->ws))
    wslay_event_queue_close(c->ws, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
  ss_ws_flush_queue(c);
}

void ss_ws_free(struct ss_conn *c)
{
  wslay_event_context_free(c->ws);
  c->ws = NULL;
}
