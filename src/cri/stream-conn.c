/* One client connection of the streaming server: the HTTP/1.1 upgrade request (parsed by
 * libhttp-parser), the token lookup, then SPDY/3.1 (stream-spdy.c) or WebSocket
 * (stream-ws.c) carrying the protocol of the request (stream-exec.c,
 * stream-portforward.c); output queueing, backpressure and the timeouts. */
#include "common/clock.h"
#include "cri/stream-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"

#define MAX_HEADER_BYTES (16 * 1024)
#define HTTP_TIMEOUT_MS 30000
/* After the exchange: how long the client gets to close its side. */
#define LINGER_MS 5000
/* Output queued beyond this stops the producers until it drains. */
#define OUT_HIGH (256 * 1024)
#define READ_CHUNK (64 * 1024)

static const char *const exec_protocols[] = {"v4.channel.k8s.io", "v3.channel.k8s.io",
                                             "v2.channel.k8s.io", "channel.k8s.io", NULL};
static const char *const portforward_protocols[] = {"portforward.k8s.io", NULL};

static void on_conn_event(struct ss_watch *w, uint32_t events);

static struct ss_conn *conn_of(struct ss_watch *w)
{
  return (struct ss_conn *)w;
}

void ss_conn_accept(struct mascri_stream_server *srv, int fd)
{
  struct ss_conn *c = xmalloc0(sizeof(*c));
  c->w.fn = on_conn_event;
  c->srv = srv;
  c->fd = fd;
  c->stage = SS_HTTP;
  c->last_active_ms = mascri_clock_monotonic_ms();
  c->stage_deadline_ms = c->last_active_ms + HTTP_TIMEOUT_MS;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  srv->n_conns++;
  ss_watch_fd(srv, fd, &c->w, EPOLLIN);
}

void ss_conn_close(struct ss_conn *c)
{
  if (c->dead)
    return;
  c->dead = true;
  struct mascri_stream_server *srv = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->n_conns--;
  ss_unwatch_fd(srv, c->fd);
  c->next = srv->graveyard;
  srv->graveyard = c;
}

void ss_conn_free(struct ss_conn *c)
{
  if (c->proto && c->proto->free)
    c->proto->free(c);
  mascri_stream_req_free(c->req);
  if (c->spdy)
    mascri_spdy_free(c->spdy);
  if (c->ws)
    ss_ws_free(c);
  if (c->fd >= 0)
    close(c->fd);
  mascri_buf_free(&c->out);
  mascri_buf_free(&c->hv);
  free(c->url);
  free(c->query);
  mascri_buf_free(&c->ws_in);
  free(c->hname);
  free(c->upgrade);
  free(c->connection);
  free(c->ws_key);
  free(c->ws_version);
  mascri_strv_free(c->stream_protocols);
  mascri_strv_free(c->ws_protocols);
  free(c->chans);
  free(c);
}

/* ---- output ---- */

static struct mascri_buf *spdy_out(struct ss_conn *c)
{
  return c->spdy ? mascri_spdy_out(c->spdy) : NULL;
}

static size_t queued(struct ss_conn *c)
{
  struct mascri_buf *s = spdy_out(c);
  return mascri_buf_size(&c->out) + (s ? mascri_buf_size(s) : 0);
}

bool ss_room(struct ss_conn *c)
{
  return queued(c) < OUT_HIGH;
}

static void update_interest(struct ss_conn *c)
{
  uint32_t ev = 0;
  if (!c->read_paused)
    ev |= EPOLLIN;
  if (queued(c) > 0)
    ev |= EPOLLOUT;
  ss_watch_fd(c->srv, c->fd, &c->w, ev);
}

void ss_pause_read(struct ss_conn *c, bool pause)
{
  if (c->read_paused == pause || c->dead)
    return;
  c->read_paused = pause;
  update_interest(c);
}

/* Writes from one buffer; -1 when the socket failed. */
static int write_buf(struct ss_conn *c, struct mascri_buf *b)
{
  while (mascri_buf_size(b) > 0) {
    ssize_t n = send(c->fd, mascri_buf_head(b), mascri_buf_size(b), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return 0;
    if (n < 0)
      return -1;
    mascri_buf_consume(b, (size_t)n);
    c->last_active_ms = mascri_clock_monotonic_ms();
  }
  return 0;
}

void ss_flush(struct ss_conn *c)
{
  /* Writing may make room, the producers then queue more: a few rounds while the socket
   * takes it (bounded so one connection cannot hold the loop). */
  for (int round = 0; round < 16 && !c->dead; round++) {
    bool was_full = !ss_room(c);
    struct mascri_buf *s = spdy_out(c);
    if (write_buf(c, &c->out) < 0 || (s && mascri_buf_size(&c->out) == 0 && write_buf(c, s) < 0)) {
      ss_conn_close(c);
      return;
    }
    if (!was_full || !ss_room(c) || !c->proto || !c->proto->writable || c->stage == SS_CLOSING)
      break;
    size_t before = queued(c);
    c->proto->writable(c);
    if (queued(c) == before)
      break;
  }
  if (c->dead)
    return;
  if (c->stage == SS_CLOSING && queued(c) == 0)
    shutdown(c->fd, SHUT_WR); /* then wait for the client to close (bounded by LINGER_MS) */
  update_interest(c);
}

void ss_finish(struct ss_conn *c)
{
  if (c->dead || c->stage == SS_CLOSING)
    return;
  if (c->spdy)
    mascri_spdy_goaway(c->spdy, 0);
  else if (c->ws)
    ss_ws_finish(c);
  c->stage = SS_CLOSING;
  c->stage_deadline_ms = mascri_clock_monotonic_ms() + LINGER_MS;
  ss_flush(c);
}

/* ---- channels ---- */

void ss_bind_chan(struct ss_conn *c, int ch, uint32_t stream_id)
{
  c->chans = xrealloc(c->chans, (c->n_chans + 1) * sizeof(*c->chans));
  c->chans[c->n_chans++] = (struct ss_chan){.ch = ch, .stream_id = stream_id};
}

static struct ss_chan *chan_by_ch(struct ss_conn *c, int ch)
{
  for (size_t i = 0; i < c->n_chans; i++)
    if (c->chans[i].ch == ch)
      return &c->chans[i];
  return NULL;
}

static struct ss_chan *chan_by_stream(struct ss_conn *c, uint32_t id)
{
  for (size_t i = 0; i < c->n_chans; i++)
    if (c->chans[i].stream_id == id)
      return &c->chans[i];
  return NULL;
}

static void unbind(struct ss_conn *c, struct ss_chan *k)
{
  *k = c->chans[--c->n_chans];
}

void ss_unbind_chan(struct ss_conn *c, int ch)
{
  struct ss_chan *k = chan_by_ch(c, ch);
  if (k)
    unbind(c, k);
}

size_t ss_writable(struct ss_conn *c, int ch)
{
  if (c->dead || c->stage == SS_CLOSING || !ss_room(c))
    return 0;
  if (c->spdy) {
    struct ss_chan *k = chan_by_ch(c, ch);
    return k ? mascri_spdy_send_window(c->spdy, k->stream_id) : 0;
  }
  return c->ws ? SIZE_MAX : 0;
}

ssize_t ss_send(struct ss_conn *c, int ch, const uint8_t *p, size_t n)
{
  if (c->dead)
    return -1;
  if (c->spdy) {
    struct ss_chan *k = chan_by_ch(c, ch);
    return k ? mascri_spdy_send_data(c->spdy, k->stream_id, p, n, false) : -1;
  }
  return c->ws ? ss_ws_send(c, ch, p, n) : -1;
}

void ss_close_chan(struct ss_conn *c, int ch)
{
  if (c->dead)
    return;
  if (c->spdy) {
    struct ss_chan *k = chan_by_ch(c, ch);
    if (k && mascri_spdy_stream_writable(c->spdy, k->stream_id))
      mascri_spdy_close_stream(c->spdy, k->stream_id);
  } else if (c->ws) {
    ss_ws_close_chan(c, ch);
  }
}

void ss_consumed(struct ss_conn *c, int ch, size_t n)
{
  if (c->dead || !c->spdy)
    return;
  struct ss_chan *k = chan_by_ch(c, ch);
  if (k)
    mascri_spdy_consumed(c->spdy, k->stream_id, n);
}

/* ---- SPDY callbacks ---- */

static void spdy_syn_stream(void *data, uint32_t id, const struct mascri_spdy_headers *h, bool fin)
{
  struct ss_conn *c = data;
  int ch = c->proto && c->proto->spdy_stream ? c->proto->spdy_stream(c, id, h) : -1;
  if (ch < 0) {
    mascri_spdy_rst_stream(c->spdy, id, MASCRI_SPDY_REFUSED_STREAM);
    return;
  }
  struct mascri_spdy_headers none = {0};
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_spdy_syn_reply(c->spdy, id, &none, false, &err);
  if (c->proto->opened)
    c->proto->opened(c, ch);
  if (fin && c->proto->fin)
    c->proto->fin(c, ch, false);
}

static void spdy_data(void *data, uint32_t id, const uint8_t *p, size_t n)
{
  struct ss_conn *c = data;
  struct ss_chan *k = chan_by_stream(c, id);
  if (k == NULL) {
    mascri_spdy_consumed(c->spdy, id, n);
    return;
  }
  c->proto->data(c, k->ch, p, n);
}

static void spdy_fin(void *data, uint32_t id)
{
  struct ss_conn *c = data;
  struct ss_chan *k = chan_by_stream(c, id);
  if (k && c->proto->fin)
    c->proto->fin(c, k->ch, false);
}

static void spdy_rst(void *data, uint32_t id, uint32_t status)
{
  struct ss_conn *c = data;
  struct ss_chan *k = chan_by_stream(c, id);
  if (k == NULL)
    return;
  int ch = k->ch;
  unbind(c, k);
  if (c->proto->fin)
    c->proto->fin(c, ch, true);
}

static void spdy_window(void *data, uint32_t id)
{
  struct ss_conn *c = data;
  if (c->proto && c->proto->writable && c->stage != SS_CLOSING)
    c->proto->writable(c);
}

static const struct mascri_spdy_callbacks spdy_cb = {
    .syn_stream = spdy_syn_stream,
    .data = spdy_data,
    .fin = spdy_fin,
    .rst = spdy_rst,
    .window = spdy_window,
};

/* ---- HTTP ---- */

void ss_respond(struct ss_conn *c, int code, const char *reason, const char *body)
{
  _cleanup_free_ char *r = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                     code, reason, strlen(body), body);
  mascri_buf_append(&c->out, r, strlen(r));
  c->stage = SS_CLOSING;
  c->stage_deadline_ms = mascri_clock_monotonic_ms() + LINGER_MS;
}

static void add_list_values(char ***list, const char *value)
{
  _cleanup_strv_ char **parts = mascri_strv_split(value, ',');
  for (size_t i = 0; parts && parts[i]; i++) {
    char *s = parts[i];
    while (*s == ' ' || *s == '\t')
      s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
      s[--n] = '\0';
    if (*s)
      mascri_strv_append(list, s);
  }
}

static void header_done(struct ss_conn *c)
{
  if (c->hname == NULL)
    return;
  mascri_buf_append(&c->hv, "", 1);
  const char *v = (const char *)mascri_buf_head(&c->hv);
  const char *n = c->hname;
  if (strcasecmp(n, "upgrade") == 0) {
    free(c->upgrade);
    c->upgrade = xstrdup(v);
  } else if (strcasecmp(n, "connection") == 0) {
    free(c->connection);
    c->connection = xstrdup(v);
  } else if (strcasecmp(n, "x-stream-protocol-version") == 0) {
    add_list_values(&c->stream_protocols, v);
  } else if (strcasecmp(n, "sec-websocket-protocol") == 0) {
    add_list_values(&c->ws_protocols, v);
  } else if (strcasecmp(n, "sec-websocket-key") == 0) {
    free(c->ws_key);
    c->ws_key = xstrdup(v);
  } else if (strcasecmp(n, "sec-websocket-version") == 0) {
    free(c->ws_version);
    c->ws_version = xstrdup(v);
  }
  free(c->hname);
  c->hname = NULL;
  c->hv.off = c->hv.len = 0;
}

static int grow_checked(struct ss_conn *c, size_t n)
{
  c->header_bytes += n;
  return c->header_bytes > MAX_HEADER_BYTES ? -1 : 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
  struct ss_conn *c = p->data;
  if (grow_checked(c, n) < 0)
    return -1;
  size_t old = c->url ? strlen(c->url) : 0;
  c->url = xrealloc(c->url, old + n + 1);
  memcpy(c->url + old, at, n);
  c->url[old + n] = '\0';
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
  struct ss_conn *c = p->data;
  if (grow_checked(c, n) < 0)
    return -1;
  if (c->hname && mascri_buf_size(&c->hv) > 0)
    header_done(c); /* a new field begins after a value */
  if (c->hname && mascri_buf_size(&c->hv) == 0) {
    size_t old = strlen(c->hname);
    c->hname = xrealloc(c->hname, old + n + 1);
    memcpy(c->hname + old, at, n);
    c->hname[old + n] = '\0';
  } else {
    c->hname = xstrndup(at, n);
  }
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
  struct ss_conn *c = p->data;
  if (grow_checked(c, n) < 0)
    return -1;
  mascri_buf_append(&c->hv, at, n);
  return 0;
}

static int on_headers_complete(http_parser *p)
{
  struct ss_conn *c = p->data;
  header_done(c);
  c->headers_done = true;
  return 0;
}

static const http_parser_settings http_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
};

/* The subprotocol of the client's list the server prefers: the first of ours it offers. */
static const char *negotiate(char *const *offered, const char *const *ours)
{
  for (size_t i = 0; ours[i]; i++)
    for (size_t k = 0; offered && offered[k]; k++)
      if (strcmp(offered[k], ours[i]) == 0)
        return ours[i];
  return NULL;
}

static int exec_version(const char *proto)
{
  if (strcmp(proto, "v5.channel.k8s.io") == 0)
    return 5;
  if (strcmp(proto, "v4.channel.k8s.io") == 0)
    return 4;
  if (strcmp(proto, "v3.channel.k8s.io") == 0)
    return 3;
  if (strcmp(proto, "v2.channel.k8s.io") == 0)
    return 2;
  return 1;
}

static bool has_token(const char *list, const char *token)
{
  _cleanup_strv_ char **v = NULL;
  if (list)
    add_list_values(&v, list);
  for (size_t i = 0; v && v[i]; i++)
    if (strcasecmp(v[i], token) == 0)
      return true;
  return false;
}

static int spdy_upgrade(struct ss_conn *c)
{
  bool pf = c->req->kind == MASCRI_STREAM_PORTFORWARD;
  const char *const *ours = pf ? portforward_protocols : exec_protocols;
  const char *proto = negotiate(c->stream_protocols, ours);
  if (proto == NULL && c->stream_protocols == NULL)
    proto = pf ? "portforward.k8s.io" : "channel.k8s.io"; /* a client of before negotiation */
  if (proto == NULL) {
    _cleanup_free_ char *offered = mascri_strv_join(c->stream_protocols, ", ");
    _cleanup_free_ char *supported = mascri_strv_join((char *const *)ours, ", ");
    _cleanup_free_ char *msg = xasprintf("unable to upgrade: unable to negotiate protocol: client "
                                         "supports [%s], server supports [%s]\n",
                                         offered, supported);
    ss_respond(c, 403, "Forbidden", msg);
    return -1;
  }
  _cleanup_free_ char *r = xasprintf("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                                     "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: %s\r\n\r\n",
                                     proto);
  mascri_buf_append(&c->out, r, strlen(r));
  c->protocol = proto;
  c->spdy = mascri_spdy_new(true, &spdy_cb, c);
  c->stage = SS_SPDY;
  if (pf)
    ss_portforward_begin(c);
  else
    ss_exec_begin(c, exec_version(proto));
  return 0;
}

/* The request line and headers are in: route it. */
static int route(struct ss_conn *c)
{
  static const char *const kinds[] = {"exec", "attach", "portforward"};
  char *url = c->url ? c->url : "";
  url[strcspn(url, "#")] = '\0';
  char *q = strchr(url, '?');
  if (q) {
    c->query = xstrdup(q + 1);
    *q = '\0';
  }
  int kind = -1;
  const char *token = NULL;
  for (int k = 0; k < 3; k++) {
    size_t n = strlen(kinds[k]);
    if (url[0] == '/' && strncmp(url + 1, kinds[k], n) == 0 && url[n + 1] == '/') {
      kind = k;
      token = url + n + 2;
    }
  }
  if (c->parser.method != HTTP_GET && c->parser.method != HTTP_POST) {
    ss_respond(c, 405, "Method Not Allowed", "405 method not allowed\n");
    return -1;
  }
  if (kind >= 0)
    c->req = mascri_stream_tokens_take(c->srv->tokens, token, (mascri_stream_kind_t)kind);
  if (c->req == NULL) {
    ss_respond(c, 404, "Not Found", "404 page not found\n");
    return -1;
  }
  bool upgrade = has_token(c->connection, "upgrade");
  if (upgrade && c->upgrade && strcasecmp(c->upgrade, "SPDY/3.1") == 0)
    return spdy_upgrade(c);
  if (upgrade && c->upgrade && strcasecmp(c->upgrade, "websocket") == 0)
    return ss_ws_upgrade(c);
  ss_respond(c, 400, "Bad Request", "Upgrade request required\n");
  return -1;
}

/* Feeds bytes of the upgraded protocol. */
static void feed_upgraded(struct ss_conn *c, const uint8_t *p, size_t n)
{
  if (c->stage == SS_SPDY) {
    _cleanup_error_ mascri_error_t err = NULL;
    if (mascri_spdy_feed(c->spdy, p, n, &err) < 0) {
      log_debug("streaming: %s", mascri_error_message(&err));
      ss_flush(c);
      ss_conn_close(c);
    }
  }
}

static void read_http(struct ss_conn *c, const uint8_t *p, size_t n)
{
  size_t used = http_parser_execute(&c->parser, &http_settings, (const char *)p, n);
  if (c->parser.http_errno != HPE_OK) {
    if (c->header_bytes > MAX_HEADER_BYTES)
      ss_respond(c, 431, "Request Header Fields Too Large", "request headers too large\n");
    else
      ss_respond(c, 400, "Bad Request", "malformed HTTP request\n");
    return;
  }
  if (!c->headers_done)
    return;
  if (route(c) < 0)
    return;
  if (c->stage == SS_SPDY && used < n)
    feed_upgraded(c, p + used, n - used);
  else if (c->stage == SS_WS && used < n) {
    /* WebSocket frames that came with the request: wslay reads them first. */
    mascri_buf_append(&c->ws_in, p + used, n - used);
    ss_ws_read(c);
  }
}

static void read_socket(struct ss_conn *c)
{
  if (c->stage == SS_WS) {
    ss_ws_read(c);
    return;
  }
  uint8_t buf[READ_CHUNK];
  ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    ss_conn_close(c);
    return;
  }
  c->last_active_ms = mascri_clock_monotonic_ms();
  switch (c->stage) {
  case SS_HTTP:
    read_http(c, buf, (size_t)n);
    break;
  case SS_SPDY:
    feed_upgraded(c, buf, (size_t)n);
    break;
  default:
    break; /* closing: the client's last bytes are dropped */
  }
}

static void on_conn_event(struct ss_watch *w, uint32_t events)
{
  struct ss_conn *c = conn_of(w);
  if (c->dead)
    return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    read_socket(c);
  if (!c->dead)
    ss_flush(c);
}

void ss_conn_tick(struct ss_conn *c, uint64_t now)
{
  if ((c->stage == SS_HTTP || c->stage == SS_CLOSING) && now >= c->stage_deadline_ms) {
    ss_conn_close(c);
    return;
  }
  if (now - c->last_active_ms >= c->srv->cfg.idle_timeout_ms) {
    log_debug("streaming: closing a connection idle for %llu ms",
              (unsigned long long)(now - c->last_active_ms));
    ss_conn_close(c);
    return;
  }
  if (c->proto && c->proto->tick && c->stage != SS_CLOSING)
    c->proto->tick(c, now);
  if (!c->dead)
    ss_flush(c);
}
