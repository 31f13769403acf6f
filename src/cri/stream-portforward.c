/* The portforward protocol (portforward.k8s.io) over SPDY: per forwarded connection the
 * client opens an error stream and a data stream carrying the same `port` and
 * `requestID` headers; once both are there the server connects to the port inside the
 * pod's network namespace (on a job thread: connect may block) and copies bytes both ways.
 * Any number of ports and connections per request. A failure is reported as text on the
 * pair's error stream, as kubelet does. */
#include "common/clock.h"
#include "cri/stream-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "sandbox/stream.h"

#define IO_CHUNK (32 * 1024)
#define TO_SOCK_HIGH (256 * 1024)

struct pf_s;

struct pf_pair {
  struct ss_watch w;
  struct pf_s *s; /* NULL: the connection is gone, a connect job still holds the pair */
  struct pf_pair *next;
  char *request_id;
  uint16_t port;
  int data_ch, error_ch;
  uint32_t data_id, error_id;
  int sock;
  bool connecting, connected, failed;
  bool client_fin, sock_eof, shut_wr, reading_paused;
  struct mascri_buf to_sock;
  uint64_t created_ms;
};

struct pf_s {
  struct ss_conn *c;
  struct pf_pair *pairs;
  int next_ch;
  bool ws; /* WebSocket: fixed pairs; the connection ends with the last one */
};

struct pf_job {
  struct ss_job base;
  struct pf_pair *p;
  struct mascri_pods *pods;
  char *pod_id;
  int fd;
  mascri_error_t err;
};

static struct pf_s *pf_of(struct ss_conn *c)
{
  return c->proto_data;
}

static void pair_free(struct pf_pair *p)
{
  if (p->sock >= 0) {
    if (p->s)
      ss_unwatch_fd(p->s->c->srv, p->sock);
    close(p->sock);
  }
  mascri_buf_free(&p->to_sock);
  free(p->request_id);
  free(p);
}

/* Unlinks and frees a pair (or hands it to its connect job). */
static void pair_drop(struct pf_s *s, struct pf_pair *p)
{
  for (struct pf_pair **pp = &s->pairs; *pp; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  }
  if (p->connecting)
    p->s = NULL;
  else
    pair_free(p);
  if (s->ws && s->pairs == NULL)
    ss_finish(s->c);
}

static struct pf_pair *pair_by_ch(struct pf_s *s, int ch)
{
  for (struct pf_pair *p = s->pairs; p; p = p->next)
    if (p->data_ch == ch || p->error_ch == ch)
      return p;
  return NULL;
}

/* Ends the pair from this side: both streams closed. */
static void pair_end(struct pf_s *s, struct pf_pair *p)
{
  if (p->data_ch >= 0) {
    ss_close_chan(s->c, p->data_ch);
    ss_unbind_chan(s->c, p->data_ch);
  }
  if (p->error_ch >= 0) {
    ss_close_chan(s->c, p->error_ch);
    ss_unbind_chan(s->c, p->error_ch);
  }
  pair_drop(s, p);
}

static void pair_error(struct pf_s *s, struct pf_pair *p, const char *msg)
{
  _cleanup_free_ char *text =
      xasprintf("error forwarding port %u to pod %s: %s", p->port, s->c->req->id, msg);
  log_info("streaming: %s", text);
  if (p->error_ch >= 0)
    ss_send(s->c, p->error_ch, (const uint8_t *)text, strlen(text));
  pair_end(s, p);
}

static void set_interest(struct pf_s *s, struct pf_pair *p)
{
  uint32_t ev = 0;
  if (!p->sock_eof && !p->reading_paused)
    ev |= EPOLLIN;
  if (mascri_buf_size(&p->to_sock) > 0)
    ev |= EPOLLOUT;
  ss_watch_fd(s->c->srv, p->sock, &p->w, ev);
}

/* Client bytes towards the pod; -1 when the pair ended (and is gone). */
static int flush_to_sock(struct pf_s *s, struct pf_pair *p)
{
  struct mascri_buf *b = &p->to_sock;
  while (mascri_buf_size(b) > 0) {
    ssize_t n = send(p->sock, mascri_buf_head(b), mascri_buf_size(b), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n < 0) {
      ss_consumed(s->c, p->data_ch, mascri_buf_size(b));
      mascri_buf_consume(b, mascri_buf_size(b));
      p->sock_eof = true;
      pair_end(s, p);
      return -1;
    }
    mascri_buf_consume(b, (size_t)n);
    ss_consumed(s->c, p->data_ch, (size_t)n);
  }
  if (mascri_buf_size(b) < TO_SOCK_HIGH)
    ss_pause_read(s->c, false);
  if (mascri_buf_size(b) == 0 && p->client_fin && !p->shut_wr) {
    shutdown(p->sock, SHUT_WR);
    p->shut_wr = true;
  }
  set_interest(s, p);
  return 0;
}

/* Pod bytes towards the client, as far as the transport takes them. */
static void pump_from_sock(struct pf_s *s, struct pf_pair *p)
{
  uint8_t buf[IO_CHUNK];
  while (!p->sock_eof && !s->c->dead) {
    size_t room = ss_writable(s->c, p->data_ch);
    if (room == 0) {
      p->reading_paused = true;
      set_interest(s, p);
      return;
    }
    ssize_t n = recv(p->sock, buf, room < sizeof(buf) ? room : sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0) {
      /* The pod side is done: so is the forwarded connection (as kubelet does). */
      p->sock_eof = true;
      pair_end(s, p);
      return;
    }
    ss_send(s->c, p->data_ch, buf, (size_t)n);
  }
  p->reading_paused = false;
  set_interest(s, p);
}

static void on_sock(struct ss_watch *w, uint32_t events)
{
  struct pf_pair *p = (struct pf_pair *)w;
  struct pf_s *s = p->s;
  if (s == NULL || s->c->dead)
    return;
  struct ss_conn *c = s->c;
  if ((events & EPOLLOUT) && flush_to_sock(s, p) < 0) {
    ss_flush(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    pump_from_sock(s, p);
  ss_flush(c);
}

/* ---- connect ---- */

static void job_run(struct ss_job *j)
{
  struct pf_job *pj = (struct pf_job *)j;
  pj->fd = mascri_pods_port_connect(pj->pods, pj->pod_id, pj->p->port, &pj->err);
}

static void job_done(struct ss_job *j)
{
  struct pf_job *pj = (struct pf_job *)j;
  struct pf_pair *p = pj->p;
  struct pf_s *s = p->s;
  p->connecting = false;
  if (s == NULL) { /* the client went away meanwhile */
    if (pj->fd >= 0)
      close(pj->fd);
    pair_free(p);
  } else if (pj->fd < 0) {
    pair_error(s, p, mascri_error_message(&pj->err));
    ss_flush(s->c);
  } else {
    p->sock = pj->fd;
    p->connected = true;
    p->w.fn = on_sock;
    if (flush_to_sock(s, p) == 0)
      pump_from_sock(s, p);
    ss_flush(s->c);
  }
  mascri_error_release(&pj->err);
  free(pj->pod_id);
  free(pj);
}

static void pair_connect(struct pf_s *s, struct pf_pair *p)
{
  struct pf_job *pj = xmalloc0(sizeof(*pj));
  pj->base.run = job_run;
  pj->base.done = job_done;
  pj->p = p;
  pj->pods = s->c->srv->pods;
  pj->pod_id = xstrdup(s->c->req->id);
  pj->fd = -1;
  p->connecting = true;
  if (!ss_job_start(s->c->srv, &pj->base)) {
    p->connecting = false;
    free(pj->pod_id);
    free(pj);
    pair_error(s, p, "cannot start a thread to connect");
  }
}

static struct pf_pair *pair_new(struct pf_s *s, const char *rid, uint16_t port);

/* ---- protocol callbacks ---- */

static int parse_port(const char *v)
{
  if (v == NULL || !*v)
    return -1;
  char *end = NULL;
  long n = strtol(v, &end, 10);
  return *end || n <= 0 || n > 65535 ? -1 : (int)n;
}

static int pf_spdy_stream(struct ss_conn *c, uint32_t id, const struct mascri_spdy_headers *h)
{
  struct pf_s *s = pf_of(c);
  const char *type = mascri_spdy_headers_get(h, "streamtype");
  int port = parse_port(mascri_spdy_headers_get(h, "port"));
  bool data = type && strcmp(type, "data") == 0;
  if (!type || (!data && strcmp(type, "error") != 0) || port < 0)
    return -1;
  /* Clients from before requestID pair an error stream with the data stream after it. */
  const char *rid = mascri_spdy_headers_get(h, "requestid");
  char fallback[16];
  if (rid == NULL) {
    snprintf(fallback, sizeof(fallback), "#%u", data ? id - 2 : id);
    rid = fallback;
  }
  struct pf_pair *p = s->pairs;
  while (p && strcmp(p->request_id, rid) != 0)
    p = p->next;
  if (p == NULL)
    p = pair_new(s, rid, (uint16_t)port);
  if ((data ? p->data_ch : p->error_ch) >= 0 || p->port != port)
    return -1;
  int ch = s->next_ch++;
  if (data) {
    p->data_ch = ch;
    p->data_id = id;
  } else {
    p->error_ch = ch;
    p->error_id = id;
  }
  ss_bind_chan(c, ch, id);
  return ch;
}

static void pf_opened(struct ss_conn *c, int ch)
{
  struct pf_s *s = pf_of(c);
  struct pf_pair *p = pair_by_ch(s, ch);
  if (p && p->data_ch >= 0 && p->error_ch >= 0 && !p->connecting && !p->connected)
    pair_connect(s, p);
}

static void pf_data(struct ss_conn *c, int ch, const uint8_t *d, size_t n)
{
  struct pf_s *s = pf_of(c);
  struct pf_pair *p = pair_by_ch(s, ch);
  if (p == NULL || ch != p->data_ch || p->client_fin) {
    ss_consumed(c, ch, n); /* the error stream carries nothing from the client */
    return;
  }
  mascri_buf_append(&p->to_sock, d, n);
  if (mascri_buf_size(&p->to_sock) >= TO_SOCK_HIGH)
    ss_pause_read(c, true);
  if (p->connected)
    flush_to_sock(s, p);
}

static void pf_fin(struct ss_conn *c, int ch, bool reset)
{
  struct pf_s *s = pf_of(c);
  struct pf_pair *p = pair_by_ch(s, ch);
  if (p == NULL)
    return;
  if (reset) {
    pair_end(s, p);
    return;
  }
  if (ch != p->data_ch)
    return;
  p->client_fin = true;
  if (p->connected) {
    if (p->sock_eof)
      pair_end(s, p);
    else
      flush_to_sock(s, p);
  }
}

static void pf_writable(struct ss_conn *c)
{
  struct pf_s *s = pf_of(c);
  struct pf_pair *next;
  for (struct pf_pair *p = s->pairs; p; p = next) {
    next = p->next;
    if (p->connected && p->reading_paused)
      pump_from_sock(s, p);
  }
}

static void pf_tick(struct ss_conn *c, uint64_t now)
{
  struct pf_s *s = pf_of(c);
  struct pf_pair *next;
  for (struct pf_pair *p = s->pairs; p; p = next) {
    next = p->next;
    bool incomplete = p->data_ch < 0 || p->error_ch < 0;
    if (incomplete && now - p->created_ms >= c->srv->cfg.creation_timeout_ms) {
      log_info("streaming: port forward %s: timed out waiting for the stream pair", p->request_id);
      pair_end(s, p);
    }
  }
}

static void pf_free(struct ss_conn *c)
{
  struct pf_s *s = pf_of(c);
  if (s == NULL)
    return;
  while (s->pairs)
    pair_drop(s, s->pairs);
  free(s);
  c->proto_data = NULL;
}

const struct ss_proto ss_portforward_proto = {
    .spdy_stream = pf_spdy_stream,
    .opened = pf_opened,
    .data = pf_data,
    .fin = pf_fin,
    .writable = pf_writable,
    .tick = pf_tick,
    .free = pf_free,
};

static struct pf_pair *pair_new(struct pf_s *s, const char *rid, uint16_t port)
{
  struct pf_pair *p = xmalloc0(sizeof(*p));
  p->s = s;
  p->request_id = xstrdup(rid);
  p->port = port;
  p->data_ch = p->error_ch = -1;
  p->sock = -1;
  p->created_ms = mascri_clock_monotonic_ms();
  p->next = s->pairs;
  s->pairs = p;
  return p;
}

void ss_portforward_ws_begin(struct ss_conn *c, const uint16_t *ports, size_t n)
{
  struct pf_s *s = xmalloc0(sizeof(*s));
  s->c = c;
  s->ws = true;
  c->proto = &ss_portforward_proto;
  c->proto_data = s;
  for (size_t i = 0; i < n; i++) {
    char rid[32];
    snprintf(rid, sizeof(rid), "ws%zu", i);
    struct pf_pair *p = pair_new(s, rid, ports[i]);
    p->data_ch = (int)(2 * i);
    p->error_ch = (int)(2 * i + 1);
    /* Each channel starts with its port, 16 bits little-endian. */
    uint8_t le[2] = {(uint8_t)(ports[i] & 0xff), (uint8_t)(ports[i] >> 8)};
    ss_send(c, p->data_ch, le, 2);
    ss_send(c, p->error_ch, le, 2);
  }
  struct pf_pair *next;
  for (struct pf_pair *p = s->pairs; p; p = next) {
    next = p->next;
    pair_connect(s, p);
  }
}

void ss_portforward_begin(struct ss_conn *c)
{
  struct pf_s *s = xmalloc0(sizeof(*s));
  s->c = c;
  c->proto = &ss_portforward_proto;
  c->proto_data = s;
}
