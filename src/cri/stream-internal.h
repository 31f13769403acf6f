/* Internals shared by the streaming server's files (stream-server.c: loop, listener,
 * timers; stream-conn.c: one client connection, HTTP/1.1 then SPDY or WebSocket;
 * stream-exec.c: the remotecommand protocol for Exec and Attach; stream-portforward.c).
 * Everything here runs on the streaming server's one thread, except the job queue. */
#ifndef MASCRI_CRI_STREAM_INTERNAL_H
#define MASCRI_CRI_STREAM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <http_parser.h>

#include "common/buf.h"
#include "cri/stream-server.h"
#include "cri/stream-spdy.h"
#include "cri/stream-token.h"

struct wslay_event_context;

/* What epoll's data.ptr points to: a callback for the fd's events. */
struct ss_watch {
  void (*fn)(struct ss_watch *w, uint32_t events);
};

/* Work run on a short-lived thread (blocking calls: connecting to a pod's port), whose
 * result comes back to the loop through the server's eventfd. */
struct ss_job {
  struct ss_job *next;
  void (*run)(struct ss_job *j);  /* on the job's thread */
  void (*done)(struct ss_job *j); /* on the loop thread, then the job is the done's to free */
};

struct ss_conn;

struct mascri_stream_server {
  struct mascri_stream_server_config cfg;
  struct mascri_containers *ctrs;
  struct mascri_pods *pods;
  struct mascri_stream_tokens *tokens;
  char *base_url; /* http://ADDR:PORT */
  int epfd, listen_fd, wake_fd, timer_fd;
  struct ss_watch listen_w, wake_w, timer_w;
  pthread_t thread;
  bool started;
  volatile int stop;
  struct ss_conn *conns; /* live connections */
  unsigned n_conns;
  struct ss_conn *graveyard; /* closed during this loop turn, freed after it */
  pthread_mutex_t jobs_lock;
  struct ss_job *jobs_done;
  unsigned jobs_running;
};

/* Adds, changes or removes an fd's epoll interest (events 0: registered but silent). */
void ss_watch_fd(struct mascri_stream_server *srv, int fd, struct ss_watch *w, uint32_t events);
void ss_unwatch_fd(struct mascri_stream_server *srv, int fd);
/* Starts a job on a detached thread; false when the thread cannot start. */
bool ss_job_start(struct mascri_stream_server *srv, struct ss_job *j);

typedef enum { SS_HTTP, SS_SPDY, SS_WS, SS_CLOSING } ss_conn_stage_t;

/* Channels of the remotecommand protocol (the WebSocket channel numbers). */
enum { SS_STDIN = 0, SS_STDOUT = 1, SS_STDERR = 2, SS_ERROR = 3, SS_RESIZE = 4, SS_NCHAN = 5 };

/* A SPDY stream or WebSocket channel, as the protocols above see it. */
struct ss_chan {
  int ch;
  uint32_t stream_id; /* SPDY */
};

/* The protocol served on a connection (remotecommand or portforward). */
struct ss_proto {
  /* SPDY: the peer opened a stream; accept it (>= 0: its channel) or refuse (-1). */
  int (*spdy_stream)(struct ss_conn *c, uint32_t id, const struct mascri_spdy_headers *h);
  /* After the SYN_REPLY of an accepted stream went out (optional). */
  void (*opened)(struct ss_conn *c, int ch);
  /* Data on a channel; report what was used with ss_consumed. */
  void (*data)(struct ss_conn *c, int ch, const uint8_t *p, size_t n);
  /* The peer closed (or reset) its side of a channel. */
  void (*fin)(struct ss_conn *c, int ch, bool reset);
  /* The connection can take more output. */
  void (*writable)(struct ss_conn *c);
  /* Once a second. */
  void (*tick)(struct ss_conn *c, uint64_t now);
  /* The connection closes: release everything. */
  void (*free)(struct ss_conn *c);
};

struct ss_conn {
  struct ss_watch w;
  struct mascri_stream_server *srv;
  struct ss_conn *next, *prev;
  int fd;
  ss_conn_stage_t stage;
  bool dead, read_paused, out_registered;
  uint64_t last_active_ms, stage_deadline_ms;

  /* HTTP/1.1 request */
  http_parser parser;
  char *url;
  char *hname;          /* header field being read */
  struct mascri_buf hv; /* its value */
  size_t header_bytes;
  bool headers_done;
  char *upgrade, *connection, *ws_key, *ws_version;
  char **stream_protocols; /* X-Stream-Protocol-Version values */
  char **ws_protocols;     /* Sec-WebSocket-Protocol values */

  char *query;             /* the URL's query string (WebSocket port forward: port=N...) */
  struct mascri_buf out;   /* HTTP response, WebSocket frames */
  struct mascri_buf ws_in; /* WebSocket bytes that came with the upgrade request */
  struct mascri_spdy *spdy;
  struct wslay_event_context *ws;
  const char *protocol; /* negotiated subprotocol */
  int ws_version_n;     /* WebSocket remotecommand: 1..5 (v5 has the close signal) */
  bool ws_base64;

  /* SPDY stream ids of channels */
  struct ss_chan *chans;
  size_t n_chans;

  const struct ss_proto *proto;
  void *proto_data;
  struct mascri_stream_req *req;
};

/* stream-conn.c */
void ss_conn_accept(struct mascri_stream_server *srv, int fd);
void ss_conn_close(struct ss_conn *c);
void ss_conn_free(struct ss_conn *c);
void ss_conn_tick(struct ss_conn *c, uint64_t now);
/* Answers a plain HTTP error (the upgrade is refused) and lets the client close. */
void ss_respond(struct ss_conn *c, int code, const char *reason, const char *body);
/* Output towards the client on channel ch. */
size_t ss_writable(struct ss_conn *c, int ch);
ssize_t ss_send(struct ss_conn *c, int ch, const uint8_t *p, size_t n);
void ss_close_chan(struct ss_conn *c, int ch);
void ss_consumed(struct ss_conn *c, int ch, size_t n);
/* Binds a SPDY stream to a channel (protocols call it from spdy_stream). */
void ss_bind_chan(struct ss_conn *c, int ch, uint32_t stream_id);
/* Forgets a channel this side is done with (later data on its stream is dropped). */
void ss_unbind_chan(struct ss_conn *c, int ch);
/* The exchange is over: flush, half-close, and let the client close. */
void ss_finish(struct ss_conn *c);
/* Flushes what is queued; called after each batch of work on the connection. */
void ss_flush(struct ss_conn *c);
/* Whether the output queue is short enough to produce more. */
bool ss_room(struct ss_conn *c);
/* Stop or resume reading the client (backpressure on stdin). */
void ss_pause_read(struct ss_conn *c, bool pause);

/* stream-ws.c */
/* Answers the upgrade request with 101 and sets up the WebSocket session; -1 when the
 * request is no WebSocket handshake this server accepts (the response is queued). */
int ss_ws_upgrade(struct ss_conn *c);
void ss_ws_read(struct ss_conn *c);
void ss_ws_flush_queue(struct ss_conn *c);
ssize_t ss_ws_send(struct ss_conn *c, int ch, const uint8_t *p, size_t n);
void ss_ws_close_chan(struct ss_conn *c, int ch);
void ss_ws_finish(struct ss_conn *c);
void ss_ws_free(struct ss_conn *c);

/* stream-exec.c: remotecommand (exec, attach) */
extern const struct ss_proto ss_exec_proto;
/* Sets the protocol up on an upgraded connection (version 1..5). */
void ss_exec_begin(struct ss_conn *c, int version);

/* stream-portforward.c */
extern const struct ss_proto ss_portforward_proto;
void ss_portforward_begin(struct ss_conn *c);
/* WebSocket form: one connection per port, channels 2i (data) and 2i+1 (error). */
void ss_portforward_ws_begin(struct ss_conn *c, const uint16_t *ports, size_t n);

#endif
