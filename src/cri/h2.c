/* The HTTP/2 side of the server: one nghttp2 server session per connection, one call per
 * stream. Loop thread only. */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/server-internal.h"
#include "packed.pb-c.h"

#define H2_MAX_STREAMS 1000
#define H2_STREAM_WINDOW (4u << 20)
#define H2_CONN_WINDOW (64u << 20)
/* The largest DATA frame we send when the peer allows it (SETTINGS_MAX_FRAME_SIZE). */
#define H2_MAX_DATA_FRAME (256u << 10)

#define NV(n, v)                                                                                   \
  {                                                                                                \
    (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE                 \
  }

/* Request bytes a call holds count against its connection's and the server's budgets until
 * the call lets them go (loop thread only, like every field they touch). */
static void call_set_buffered(struct call *call, size_t bytes)
{
  call->srv->buffered = call->srv->buffered - call->buffered + bytes;
  if (call->conn)
    call->conn->buffered = call->conn->buffered - call->buffered + bytes;
  call->buffered = bytes;
}

static void call_unlink(struct call *call)
{
  struct conn *c = call->conn;
  if (c == NULL)
    return;
  c->buffered -= call->buffered;
  if (call->prev)
    call->prev->next = call->next;
  else
    c->calls = call->next;
  if (call->next)
    call->next->prev = call->prev;
  call->prev = call->next = NULL;
  call->conn = NULL;
}

static void call_release_request(struct call *call)
{
  call_set_buffered(call, 0);
  mascri_grpc_reader_clear(&call->reader);
  if (call->req)
    protobuf_c_message_free_unpacked(call->req, NULL);
  call->req = NULL;
  if (call->resp)
    protobuf_c_message_free_unpacked(call->resp, NULL);
  call->resp = NULL;
  mascri_error_release(&call->err);
}

/* A response this big (a List* over hundreds of pods) leaves more freed memory in the
 * worker's malloc arena once its message tree is freed, which glibc keeps: give it back (12 MB of a
 * 1,000-pod mascrid's 18 MB RSS after one ListContainerStats; issue 15). */
#define TRIM_AFTER_BYTES (64u << 10)

void call_free(struct call *call)
{
  call_unlink(call);
  call_release_request(call);
  free(call->path);
  free(call->out);
  free(call->message);
  free(call->pending);
  call->srv->n_calls--;
  free(call);
}

static ssize_t read_out(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                        uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
  struct call *call = source->ptr;
  size_t avail = call->out_len - call->out_off;
  size_t n = avail < length ? avail : length;
  if (n > 0) /* a stream with nothing published yet has no out buffer at all */
    memcpy(buf, call->out + call->out_off, n);
  call->out_off += n;
  if (call->out_off < call->out_len)
    return (ssize_t)n;
  call->out_off = call->out_len = 0;
  if (!call->out_done) {
    if (n > 0)
      return (ssize_t)n;
    call->out_deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
  char code[8];
  snprintf(code, sizeof(code), "%d", (int)call->status);
  nghttp2_nv trailers[2] = {NV("grpc-status", code), NV("grpc-message", "")};
  size_t n_trailers = 1;
  if (call->message && call->message[0]) {
    trailers[1].value = (uint8_t *)call->message;
    trailers[1].valuelen = strlen(call->message);
    n_trailers = 2;
  }
  if (nghttp2_submit_trailer(session, stream_id, trailers, n_trailers) != 0)
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  return (ssize_t)n;
}

static bool headers_sent(const struct call *call)
{
  return call->state == CALL_STREAMING;
}

static int submit_headers(struct call *call)
{
  nghttp2_nv hdrs[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
  nghttp2_data_provider prd = {.source.ptr = call, .read_callback = read_out};
  return nghttp2_submit_response(call->conn->session, call->stream_id, hdrs, ARRAY_SIZE(hdrs),
                                 &prd);
}

/* Ends the call with a status: trailers-only when nothing was sent yet. */
static void answer_status(struct call *call, mascri_grpc_status_t status, const char *msg)
{
  if (call->conn == NULL || call->state == CALL_ANSWERED)
    return;
  if (status != MASCRI_GRPC_OK)
    log_debug("%s: %s: %s", call->path ? call->path : "?", mascri_grpc_status_name(status),
              msg ? msg : "");
  free(call->message);
  call->message = mascri_grpc_percent_encode(msg ? msg : "");
  call->status = status;
  call->out_done = true;
  if (headers_sent(call)) {
    server_unsubscribe(call);
    call->state = CALL_ANSWERED;
    if (call->out_deferred) {
      call->out_deferred = false;
      nghttp2_session_resume_data(call->conn->session, call->stream_id);
    }
    return;
  }
  call->state = CALL_ANSWERED;
  char code[8];
  snprintf(code, sizeof(code), "%d", (int)status);
  nghttp2_nv hdrs[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                       NV("grpc-status", code), NV("grpc-message", call->message)};
  nghttp2_submit_response(call->conn->session, call->stream_id, hdrs, ARRAY_SIZE(hdrs), NULL);
}

static void answer_error(struct call *call, const mascri_error_t *err)
{
  answer_status(call, mascri_grpc_status_from_error(err), mascri_error_message(err));
}

static bool packed_body(const ProtobufCMessage *msg)
{
  return msg->descriptor == &mascri__packed_body__descriptor;
}

/* The framed response: a mascri.PackedBody's buffer is taken as it is (its header room
 * filled in), anything else packed into a new one. */
static uint8_t *frame_message(ProtobufCMessage *msg, size_t *len)
{
  if (packed_body(msg)) {
    Mascri__PackedBody *p = (Mascri__PackedBody *)msg;
    *len = p->body.len;
    p->body.len = 0;
    uint8_t *buf = TAKE_PTR(p->body.data);
    mascri_grpc_frame_header(buf, false, (uint32_t)(*len - MASCRI_GRPC_FRAME_HEADER));
    return buf;
  }
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = xmalloc(n + MASCRI_GRPC_FRAME_HEADER);
  mascri_grpc_frame_header(buf, false, (uint32_t)n);
  protobuf_c_message_pack(msg, buf + MASCRI_GRPC_FRAME_HEADER);
  *len = n + MASCRI_GRPC_FRAME_HEADER;
  return buf;
}

static void answer_message(struct call *call, ProtobufCMessage *msg)
{
  size_t len;
  uint8_t *buf = frame_message(msg, &len);
  if (len - MASCRI_GRPC_FRAME_HEADER > call->srv->cfg.max_send_msg) {
    free(buf);
    _cleanup_free_ char *m = xasprintf("response larger than max (%zu vs. %zu)",
                                       len - MASCRI_GRPC_FRAME_HEADER, call->srv->cfg.max_send_msg);
    answer_status(call, MASCRI_GRPC_RESOURCE_EXHAUSTED, m);
    return;
  }
  free(call->out);
  call->out = buf;
  call->out_len = len;
  call->out_off = 0;
  call->status = MASCRI_GRPC_OK;
  call->out_done = true;
  call->state = CALL_ANSWERED;
  if (submit_headers(call) != 0)
    log_warning("%s: cannot submit the response", call->path);
}

void h2_call_completed(struct call *call)
{
  call->in_worker = false;
  if (call->conn)
    /* idle from now on, not from the request */
    call->conn->last_active = mascri_clock_monotonic_ms();
  if (call->conn == NULL) {
    log_debug("%s: handler finished after the call was answered (client gone)", call->path);
    call_free(call);
    return;
  }
  if (call->state == CALL_RUNNING) {
    if (call->err)
      answer_error(call, &call->err);
    else if (call->resp)
      answer_message(call, call->resp);
    else
      answer_status(call, MASCRI_GRPC_INTERNAL, "handler returned no response");
  } else {
    log_debug("%s: handler finished after the call was answered (%s)", call->path,
              call->err ? mascri_error_message(&call->err) : "ok");
  }
  /* packed, not yet sent; a PackedBody response was one buffer, no tree */
  bool big = call->out_len >= TRIM_AFTER_BYTES && !(call->resp && packed_body(call->resp));
  call_release_request(call);
  if (big)
    malloc_trim(0);
}

void h2_call_pending(struct call *call, uint8_t *bytes, size_t len)
{
  if (call->conn == NULL || call->state != CALL_STREAMING) {
    free(bytes);
    return;
  }
  if (call->out_off > 0) {
    memmove(call->out, call->out + call->out_off, call->out_len - call->out_off);
    call->out_len -= call->out_off;
    call->out_off = 0;
  }
  call->out = xrealloc(call->out, call->out_len + len);
  memcpy(call->out + call->out_len, bytes, len);
  call->out_len += len;
  free(bytes);
  if (call->out_deferred) {
    call->out_deferred = false;
    nghttp2_session_resume_data(call->conn->session, call->stream_id);
  }
}

/* Called by server_dispatch for streaming calls: headers now, messages as published. */
void h2_call_start_stream(struct call *call)
{
  call->state = CALL_STREAMING;
  call->out_done = false;
  if (submit_headers(call) != 0)
    log_warning("%s: cannot submit the response headers", call->path);
}

static void request_complete(struct call *call)
{
  if (call->state != CALL_READING)
    return;
  _cleanup_error_ mascri_error_t err = NULL;
  const uint8_t *msg;
  size_t len;
  if (mascri_grpc_reader_finish(&call->reader, &msg, &len, &err) < 0) {
    answer_error(call, &err);
    return;
  }
  call->req = protobuf_c_message_unpack(call->method->input, NULL, len, msg);
  mascri_grpc_reader_clear(&call->reader);
  /* the decoded request is about as large as its encoding: it stays counted until the
   * handler is done, so queued requests are bounded too */
  call_set_buffered(call, call->req ? len : 0);
  if (call->req == NULL) {
    _cleanup_free_ char *m = xasprintf("cannot decode the %s request message (%zu bytes)",
                                       call->method->input->name, len);
    answer_status(call, MASCRI_GRPC_INVALID_ARGUMENT, m);
    return;
  }
  server_dispatch(call);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
  struct conn *c = user_data;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  struct call *call = xmalloc0(sizeof(*call));
  call->srv = c->srv;
  call->conn = c;
  call->stream_id = frame->hd.stream_id;
  call->last_data = mascri_clock_monotonic_ms();
  mascri_grpc_reader_init(&call->reader, c->srv->cfg.max_recv_msg);
  call->next = c->calls;
  if (c->calls)
    c->calls->prev = call;
  c->calls = call;
  c->srv->n_calls++;
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
  return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  struct call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (call == NULL)
    return 0;
  if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
    free(call->path);
    call->path = xstrndup((const char *)value, valuelen);
  } else if (namelen == 12 && memcmp(name, "grpc-timeout", 12) == 0) {
    _cleanup_error_ mascri_error_t err = NULL;
    uint64_t ms; /* at most 8 digits of hours: well inside int64_t */
    if (mascri_grpc_parse_timeout((const char *)value, valuelen, &ms, &err) == 0)
      call->deadline = mascri_clock_monotonic_ms() + (int64_t)(ms ? ms : 1);
    else
      log_debug("ignoring %s", mascri_error_message(&err));
  } else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
    call->bad_content_type = !(valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0);
  }
  return 0;
}

static void request_headers_done(struct call *call)
{
  if (call->path == NULL) {
    answer_status(call, MASCRI_GRPC_UNIMPLEMENTED, "request without :path");
    return;
  }
  if (call->bad_content_type) {
    answer_status(call, MASCRI_GRPC_UNKNOWN, "content-type is not application/grpc");
    return;
  }
  call->method = call->srv->lookup(call->srv->ctx, call->path);
  if (call->method == NULL) {
    _cleanup_free_ char *m = xasprintf("unknown method %s", call->path);
    answer_status(call, MASCRI_GRPC_UNIMPLEMENTED, m);
    return;
  }
  if (call->method->fn == NULL && !(call->method->flags & MASCRI_RPC_STREAM)) {
    if (call->method->unimplemented_msg) {
      answer_status(call, MASCRI_GRPC_UNIMPLEMENTED, call->method->unimplemented_msg);
      return;
    }
    _cleanup_free_ char *m = xasprintf("%s is not implemented", call->path);
    answer_status(call, MASCRI_GRPC_UNIMPLEMENTED, m);
  }
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
  struct conn *c = user_data;
  c->got_frame = true;
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
    return 0;
  struct call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (call == NULL)
    return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
    request_headers_done(call);
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
    request_complete(call);
  return 0;
}

/* Small requests (every CRI call but a few) keep a reserve above the budgets, so that
 * clients holding the budgets with large unfinished bodies do not lock kubelet out. */
#define SMALL_REQUEST (64u << 10)

/* Refuses a request whose bytes would take its connection or the server past its budget:
 * RESOURCE_EXHAUSTED, and what it held is freed. */
static bool over_budget(struct call *call, size_t more)
{
  const struct mascri_server *srv = call->srv;
  size_t conn_limit = srv->cfg.max_conn_buffer, total_limit = srv->cfg.max_total_buffer;
  if (call->buffered + more <= SMALL_REQUEST) {
    conn_limit += conn_limit / 8;
    total_limit += total_limit / 8;
  }
  const char *what = NULL;
  size_t limit = 0;
  if (call->conn->buffered + more > conn_limit) {
    what = "on this connection";
    limit = srv->cfg.max_conn_buffer;
  } else if (srv->buffered + more > total_limit) {
    what = "in mascrid";
    limit = srv->cfg.max_total_buffer;
  } else {
    return false;
  }
  _cleanup_free_ char *m = xasprintf("request bytes buffered %s would exceed %zu MiB; "
                                     "retry when earlier requests are done",
                                     what, limit >> 20);
  log_debug("%s: %s", call->path ? call->path : "?", m);
  mascri_grpc_reader_clear(&call->reader);
  call_set_buffered(call, 0);
  answer_status(call, MASCRI_GRPC_RESOURCE_EXHAUSTED, m);
  return true;
}

/* Automatic window updates are off: the window is given back here, once the bytes are in a
 * call's budgeted buffer or dropped, so nghttp2 holds nothing we have not counted and a
 * refused stream's bytes keep the connection's window flowing. */
static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
  nghttp2_session_consume(session, stream_id, len);
  struct call *call = nghttp2_session_get_stream_user_data(session, stream_id);
  if (call == NULL || call->state != CALL_READING || call->conn == NULL)
    return 0;
  call->last_data = mascri_clock_monotonic_ms();
  size_t grow = mascri_grpc_reader_grown_cap(&call->reader, len) - call->reader.cap;
  if (grow > 0 && over_budget(call, grow))
    return 0;
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_grpc_reader_feed(&call->reader, data, len, &err) < 0) {
    mascri_grpc_reader_clear(&call->reader);
    answer_error(call, &err);
  }
  call_set_buffered(call, call->reader.cap);
  return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
  struct conn *c = user_data;
  c->srv->streams_closed = true;
  struct call *call = nghttp2_session_get_stream_user_data(session, stream_id);
  if (call == NULL)
    return 0;
  nghttp2_session_set_stream_user_data(session, stream_id, NULL);
  call->stream_closed = true;
  call->cancel = 1;
  server_unsubscribe(call);
  call_unlink(call);
  if (!call->in_worker)
    call_free(call);
  return 0;
}

/* A response that ended while the client was still sending its request (refused, unknown,
 * stalled): RST_STREAM NO_ERROR tells it to stop (RFC 9113 8.1, as grpc-go's server does).
 * Without it the stream, and its call, stayed until the client ended the request or the
 * connection closed, and the connection never counted as idle. */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0)
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  return 0;
}

/* DATA frames as large as the peer takes (up to H2_MAX_DATA_FRAME; nghttp2 keeps them inside
 * the flow control windows): a large List* response goes out in a few writes instead of
 * one per 16 KiB, HTTP/2's default. */
static ssize_t data_frame_length(nghttp2_session *session, uint8_t frame_type, int32_t stream_id,
                                 int32_t session_window, int32_t stream_window,
                                 uint32_t remote_max_frame_size, void *user_data)
{
  return remote_max_frame_size < H2_MAX_DATA_FRAME ? remote_max_frame_size : H2_MAX_DATA_FRAME;
}

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                       void *user_data)
{
  struct conn *c = user_data;
  ssize_t n = send(c->fd, data, length, MSG_NOSIGNAL);
  if (n >= 0)
    return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return NGHTTP2_ERR_WOULDBLOCK;
  if (errno == EINTR)
    return NGHTTP2_ERR_WOULDBLOCK;
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

struct conn *h2_conn_new(struct mascri_server *srv, int fd, mascri_error_t *err)
{
  nghttp2_session_callbacks *cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    mascri_make_error(err, ENOMEM, "nghttp2 callbacks");
    return NULL;
  }
  nghttp2_session_callbacks_set_send_callback(cbs, on_send);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_data_source_read_length_callback(cbs, data_frame_length);

  struct conn *c = xmalloc0(sizeof(*c));
  c->srv = srv;
  c->fd = fd;
  c->created = c->last_active = mascri_clock_monotonic_ms();
  /* No HTTP messaging checks in nghttp2: grpc-go (kubelet, crictl) sends the unix socket's
   * path as :authority ("/run/mascri/mascri.sock"), which nghttp2's strict authority check
   * refuses with RST_STREAM PROTOCOL_ERROR. gRPC's own checks (:path, content-type) are
   * ours (request_headers_done). */
  nghttp2_option *opt = NULL;
  int r = nghttp2_option_new(&opt);
  if (r == 0) {
    nghttp2_option_set_no_http_messaging(opt, 1);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    r = nghttp2_session_server_new2(&c->session, cbs, c, opt);
    nghttp2_option_del(opt);
  }
  nghttp2_session_callbacks_del(cbs);
  if (r != 0) {
    free(c);
    mascri_make_error(err, 0, "nghttp2 session: %s", nghttp2_strerror(r));
    return NULL;
  }
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
  };
  nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, ARRAY_SIZE(settings));
  nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW);
  return c;
}

int h2_conn_on_readable(struct conn *c)
{
  uint8_t buf[65536];
  c->last_active = mascri_clock_monotonic_ms();
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
    if (n == 0)
      return -1;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      return -1;
    }
    ssize_t r = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
    if (r < 0) {
      log_debug("connection %d: %s", c->fd, nghttp2_strerror((int)r));
      return -1;
    }
    if ((size_t)n < sizeof(buf))
      return 0;
  }
}

int h2_conn_flush(struct conn *c)
{
  if (nghttp2_session_send(c->session) != 0)
    return -1;
  bool want_out = nghttp2_session_want_write(c->session);
  if (!nghttp2_session_want_read(c->session) && !want_out)
    return -1;
  if (want_out != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
      return -1;
    c->want_out = want_out;
  }
  return 0;
}

/* A request body that stops arriving holds its buffer: it gets request_stall_ms. */
static int64_t check_stall(struct call *call, int64_t now)
{
  if (call->state != CALL_READING)
    return 0;
  int64_t at = call->last_data + call->srv->cfg.request_stall_ms;
  if (at > now)
    return at;
  _cleanup_free_ char *m =
      xasprintf("the request body stalled for %u ms", call->srv->cfg.request_stall_ms);
  mascri_grpc_reader_clear(&call->reader);
  call_set_buffered(call, 0);
  answer_status(call, MASCRI_GRPC_DEADLINE_EXCEEDED, m);
  return 0;
}

int64_t h2_conn_check_deadlines(struct conn *c, int64_t now)
{
  int64_t next = 0;
  for (struct call *call = c->calls; call; call = call->next) {
    int64_t stall = check_stall(call, now);
    if (stall != 0 && (next == 0 || stall < next))
      next = stall;
    if (call->deadline == 0 || call->state == CALL_ANSWERED)
      continue;
    if (call->deadline <= now) {
      call->cancel = 1;
      answer_status(call, MASCRI_GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
      continue;
    }
    if (next == 0 || call->deadline < next)
      next = call->deadline;
  }
  return next;
}

int64_t h2_conn_expiry(const struct conn *c, int64_t now)
{
  const struct mascri_server_config *cfg = &c->srv->cfg;
  int64_t at;
  if (!c->got_frame)
    at = c->created + cfg->preface_timeout_ms;
  else if (c->calls == NULL && !nghttp2_session_want_write(c->session))
    at = c->last_active + cfg->idle_timeout_ms;
  else
    return 0;
  return at <= now ? 1 : at;
}

void h2_conn_shutdown(struct conn *c)
{
  /* Running calls go on (the loop cancels them when the shutdown wait runs out). */
  for (struct call *call = c->calls; call; call = call->next) {
    if (call->state == CALL_STREAMING)
      answer_status(call, MASCRI_GRPC_OK, "");
    else if (call->state == CALL_READING)
      answer_status(call, MASCRI_GRPC_UNAVAILABLE, "the server is shutting down");
  }
  nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR, NULL,
                        0);
}

void h2_conn_free(struct conn *c)
{
  while (c->calls) {
    struct call *call = c->calls;
    call->cancel = 1;
    server_unsubscribe(call);
    call_unlink(call);
    if (!call->in_worker)
      call_free(call);
  }
  nghttp2_session_del(c->session);
  close(c->fd);
  free(c);
}
