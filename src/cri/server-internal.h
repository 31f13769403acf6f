/* Shared between the loop (server.c) and the HTTP/2 side (h2.c). Loop thread only, except
 * the fields marked "under done_lock". */
#ifndef MASCRI_CRI_SERVER_INTERNAL_H
#define MASCRI_CRI_SERVER_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdbool.h>

#include "cri/grpc.h"
#include "cri/pool.h"
#include "cri/server.h"

struct conn;

enum call_state {
  CALL_READING = 0, /* request still arriving */
  CALL_RUNNING,     /* handed to a worker */
  CALL_STREAMING,   /* subscribed to published messages */
  CALL_ANSWERED,    /* response (or error) submitted */
};

struct call {
  struct mascri_server *srv;
  struct conn *conn; /* NULL once the connection is gone */
  int32_t stream_id;
  char *path;
  const struct mascri_rpc_method *method;
  struct mascri_grpc_reader reader;
  int64_t deadline; /* CLOCK_MONOTONIC ms, 0: none */
  enum call_state state;
  bool bad_content_type;
  bool stream_closed; /* nghttp2 closed the stream */
  bool in_worker;     /* a worker owns req/resp/err */
  bool worker_done;   /* the worker finished: on the completion list, under done_lock */
  volatile int cancel;
  size_t buffered;   /* request bytes held (reader, then decoded request): budgets */
  int64_t last_data; /* CLOCK_MONOTONIC ms of the last request bytes (or the headers) */

  ProtobufCMessage *req;
  ProtobufCMessage *resp;
  mascri_error_t err;

  /* Response bytes (framed messages) the data provider sends. */
  uint8_t *out;
  size_t out_len, out_off;
  bool out_deferred;
  mascri_grpc_status_t status; /* trailers once out is drained (streams: at the end) */
  char *message;
  bool out_done; /* no more messages: send trailers after out */

  struct call *prev, *next; /* conn's calls */
  struct call *done_next;   /* completion list, under done_lock */
  bool subscribed;          /* in srv->subs, under done_lock */
  uint8_t *pending;         /* published bytes not yet moved to out, under done_lock */
  size_t pending_len;
  bool pending_queued; /* on the completion list for pending bytes, under done_lock */
  struct call *sub_next;
};

struct conn {
  struct mascri_server *srv;
  int fd;
  nghttp2_session *session;
  bool want_out;                /* EPOLLOUT armed */
  bool got_frame;               /* the client preface and a first frame arrived */
  int64_t created, last_active; /* CLOCK_MONOTONIC ms */
  size_t buffered;              /* sum of its calls' buffered */
  struct call *calls;
  struct conn *prev, *next;
};

struct mascri_server {
  struct mascri_server_config cfg;
  char *socket_path;
  mascri_rpc_lookup_fn lookup;
  void *ctx;
  int epfd, listen_fd, signal_fd, event_fd;
  struct mascri_pool *fast, *slow;
  struct conn *conns;
  size_t n_calls;   /* calls alive (any state) */
  size_t n_running; /* calls handed to a worker and not yet completed */
  size_t n_conns;
  size_t buffered;         /* request bytes held by all calls */
  bool listen_armed;       /* the listener is polled */
  int64_t listen_resume;   /* accept paused (fd limit) until this ms, 0: not paused */
  int64_t accept_log_next; /* rate limit of the accept warnings */
  unsigned accept_log_suppressed;
  bool stopping;
  bool streams_closed;   /* a stream closed since the timers were last taken */
  bool socket_activated; /* listen_fd came from systemd: its path is not ours to unlink */

  pthread_mutex_t done_lock;
  struct call *done_head; /* finished calls or calls with pending bytes */
  struct call *subs;      /* streaming calls */
  volatile int stop_requested;
};

/* h2.c */
struct conn *h2_conn_new(struct mascri_server *srv, int fd, mascri_error_t *err);
/* Reads what the socket has and feeds nghttp2; < 0 when the connection must close. */
int h2_conn_on_readable(struct conn *c);
/* Flushes nghttp2's output; < 0 when the connection must close. */
int h2_conn_flush(struct conn *c);
void h2_conn_free(struct conn *c);
/* Loop side of a worker's completion. */
void h2_call_completed(struct call *call);
/* Moves published bytes into the stream and resumes its data. */
void h2_call_pending(struct call *call, uint8_t *bytes, size_t len);
/* Streaming calls: sends the headers now and messages as they are published. */
void h2_call_start_stream(struct call *call);
/* Answers calls whose deadline passed and calls whose request stalled; returns the next
 * deadline (0: none). */
int64_t h2_conn_check_deadlines(struct conn *c, int64_t now);
/* When an idle or preface-less connection must be closed: the ms it expires at (0: never),
 * or 1 when it already has. */
int64_t h2_conn_expiry(const struct conn *c, int64_t now);
/* Ends streaming calls (server shutdown) with OK or the given status. */
void h2_conn_shutdown(struct conn *c);

/* server.c */
void server_dispatch(struct call *call);
void server_unsubscribe(struct call *call);
/* Frees a call nobody owns any more. */
void call_free(struct call *call);

#endif
