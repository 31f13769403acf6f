/* The gRPC server end to end over a real unix socket: the server runs in-process on a
 * thread of its own with a method table of this test's, and the client is an nghttp2 client
 * session speaking raw HTTP/2 frames, so requests the real clients never send (oversized,
 * malformed, stalled) can be sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include "cri/grpc.h"
#include "cri/server.h"

#define MAX_RECV 1024
#define STALL_MS 1000
#define PREFACE_MS 300
#define IDLE_MS 500
#define WAIT_MS 3000 /* the longest a test waits for an answer */

/* --- the server side --- */

struct fixture {
  char *dir;
  char *sock;
  struct mascri_server *srv;
  pthread_t thread;
  int handler_calls; /* handlers run (atomic) */
  int saw_cancel;    /* the Wait handler saw its cancel flag (atomic) */
};

static int version_fn(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                      const volatile int *cancel, mascri_error_t *err)
{
  struct fixture *f = ctx;
  const Runtime__V1__VersionRequest *r = (const Runtime__V1__VersionRequest *)req;
  __atomic_fetch_add(&f->handler_calls, 1, __ATOMIC_SEQ_CST);
  if (strcmp(r->version, "fail") == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "no such thing: 100%% gone");
  Runtime__V1__VersionResponse *v = xmalloc(sizeof(*v));
  runtime__v1__version_response__init(v);
  v->version = xstrdup(r->version);
  v->runtime_name = xstrdup("mascri-test");
  v->runtime_version = xstrdup("1");
  v->runtime_api_version = xstrdup("v1");
  *resp = &v->base;
  return 0;
}

/* Blocks until cancelled (at most WAIT_MS), then fails CANCELLED. */
static int wait_fn(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                   const volatile int *cancel, mascri_error_t *err)
{
  struct fixture *f = ctx;
  int64_t end = mascri_clock_monotonic_ms() + WAIT_MS;
  __atomic_fetch_add(&f->handler_calls, 1, __ATOMIC_SEQ_CST);
  while (!*cancel && mascri_clock_monotonic_ms() < end) {
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
  }
  if (*cancel)
    __atomic_store_n(&f->saw_cancel, 1, __ATOMIC_SEQ_CST);
  return mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0, "cancelled");
}

static const struct mascri_rpc_method methods[] = {
    {"/test.Svc/Version", &runtime__v1__version_request__descriptor, version_fn, MASCRI_RPC_FAST,
     NULL},
    {"/test.Svc/Wait", &runtime__v1__version_request__descriptor, wait_fn, 0, NULL},
    {"/test.Svc/Later", &runtime__v1__version_request__descriptor, NULL, 0, "Later is not here"},
    {"/test.Svc/Events", &runtime__v1__version_request__descriptor, NULL, MASCRI_RPC_STREAM, NULL},
};

static const struct mascri_rpc_method *lookup(void *ctx, const char *path)
{
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    if (strcmp(methods[i].path, path) == 0)
      return &methods[i];
  return NULL;
}

static void *server_main(void *arg)
{
  struct fixture *f = arg;
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_server_run(f->srv, NULL, &err) < 0)
    fail_msg("server: %s", mascri_error_message(&err));
  return NULL;
}

static int setup(void **state)
{
  struct fixture *f = xmalloc0(sizeof(*f));
  _cleanup_error_ mascri_error_t err = NULL;
  char tmpl[] = "/tmp/mascri-test-h2-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  f->dir = xstrdup(tmpl);
  f->sock = xasprintf("%s/cri.sock", tmpl);
  struct mascri_server_config cfg = {
      .socket_path = f->sock,
      .socket_gid = (gid_t)-1,
      .max_recv_msg = MAX_RECV,
      .max_workers = 4,
      .fast_workers = 2,
      .shutdown_wait_ms = 500,
      .preface_timeout_ms = PREFACE_MS,
      .request_stall_ms = STALL_MS,
      .idle_timeout_ms = IDLE_MS,
  };
  if (mascri_server_new(&cfg, lookup, f, &f->srv, &err) < 0)
    fail_msg("server: %s", mascri_error_message(&err));
  assert_int_equal(pthread_create(&f->thread, NULL, server_main, f), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_server_stop(f->srv);
  pthread_join(f->thread, NULL);
  assert_int_equal(mascri_server_free(f->srv), 0);
  mascri_rm_rf(f->dir, &err);
  free(f->sock);
  free(f->dir);
  free(f);
  return 0;
}

/* --- the client side --- */

struct req {
  uint8_t *body;
  size_t body_len, body_off;
  int http_status;
  int grpc_status; /* -1: none received */
  char *grpc_message;
  uint8_t *data;
  size_t data_len;
  bool headers; /* response headers arrived */
  bool closed;
  uint32_t close_error;
};

struct client {
  int fd;
  nghttp2_session *s;
  bool eof;
};

static ssize_t c_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
  struct client *c = user;
  ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
  return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int c_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                    void *user)
{
  struct req *r = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  if (!r || frame->hd.type != NGHTTP2_HEADERS)
    return 0;
  _cleanup_free_ char *v = xstrndup((const char *)value, valuelen);
  if (namelen == 7 && memcmp(name, ":status", 7) == 0)
    r->http_status = atoi(v);
  else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
    r->grpc_status = atoi(v);
  else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
    free(r->grpc_message);
    r->grpc_message = TAKE_PTR(v);
  }
  return 0;
}

static int c_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
  struct req *r = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  if (r && frame->hd.type == NGHTTP2_HEADERS)
    r->headers = true;
  return 0;
}

static int c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                  void *user)
{
  struct req *r = nghttp2_session_get_stream_user_data(s, id);
  if (r) {
    r->data = xrealloc(r->data, r->data_len + len);
    memcpy(r->data + r->data_len, data, len);
    r->data_len += len;
  }
  return 0;
}

static int c_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *user)
{
  struct req *r = nghttp2_session_get_stream_user_data(s, id);
  if (r) {
    r->closed = true;
    r->close_error = error_code;
  }
  return 0;
}

static int unix_connect(const char *path)
{
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  strcpy(a.sun_path, path);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

static struct client *client_new(struct fixture *f)
{
  struct client *c = xmalloc0(sizeof(*c));
  nghttp2_session_callbacks *cbs;
  c->fd = unix_connect(f->sock);
  assert_int_equal(nghttp2_session_callbacks_new(&cbs), 0);
  nghttp2_session_callbacks_set_send_callback(cbs, c_send);
  nghttp2_session_callbacks_set_on_header_callback(cbs, c_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, c_frame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, c_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, c_close);
  assert_int_equal(nghttp2_session_client_new(&c->s, cbs, c), 0);
  nghttp2_session_callbacks_del(cbs);
  assert_int_equal(nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
  return c;
}

static void client_free(struct client *c)
{
  nghttp2_session_del(c->s);
  close(c->fd);
  free(c);
}

static void req_clear(struct req *r)
{
  free(r->body);
  free(r->grpc_message);
  free(r->data);
}

/* Sends what nghttp2 has and feeds it what arrives until done(arg) or ms passed. */
static bool pump(struct client *c, bool (*done)(void *), void *arg, unsigned ms)
{
  int64_t end = mascri_clock_monotonic_ms() + ms;
  for (;;) {
    assert_int_equal(nghttp2_session_send(c->s), 0);
    if (done(arg))
      return true;
    int64_t now = mascri_clock_monotonic_ms();
    if (now >= end || c->eof)
      return false;
    struct pollfd p = {c->fd, POLLIN, 0};
    if (poll(&p, 1, (int)(end - now)) <= 0)
      continue;
    uint8_t buf[16384];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) {
      c->eof = n == 0 || (errno != EAGAIN && errno != EINTR);
      continue;
    }
    assert_int_equal(nghttp2_session_mem_recv(c->s, buf, (size_t)n), n);
  }
}

static bool req_closed(void *arg)
{
  return ((struct req *)arg)->closed;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *user)
{
  struct req *r = src->ptr;
  size_t n = r->body_len - r->body_off < len ? r->body_len - r->body_off : len;
  memcpy(buf, r->body + r->body_off, n);
  r->body_off += n;
  if (r->body_off == r->body_len)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

#define HDR(n, v)                                                                                  \
  {                                                                                                \
    (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                     \
  }

/* Starts a call: headers, then body and END_STREAM unless headers_only. */
static int32_t start(struct client *c, struct req *r, const char *path, const uint8_t *body,
                     size_t len, const char *timeout, const char *content_type, bool headers_only)
{
  nghttp2_nv nva[7] = {
      HDR(":method", "POST"),
      HDR(":scheme", "http"),
      HDR(":path", path),
      HDR(":authority", "localhost"),
      HDR("content-type", content_type ? content_type : "application/grpc"),
      HDR("te", "trailers"),
  };
  size_t n = 6;
  if (timeout)
    nva[n++] = (nghttp2_nv)HDR("grpc-timeout", timeout);
  memset(r, 0, sizeof(*r));
  r->grpc_status = -1;
  r->body = xmalloc(len + 1);
  if (len)
    memcpy(r->body, body, len);
  r->body_len = len;
  if (headers_only)
    return nghttp2_submit_headers(c->s, NGHTTP2_FLAG_NONE, -1, NULL, nva, n, r);
  nghttp2_data_provider prd = {.source.ptr = r, .read_callback = read_body};
  int32_t id = nghttp2_submit_request(c->s, NULL, nva, n, &prd, r);
  assert_true(id > 0);
  return id;
}

/* A framed VersionRequest. */
static uint8_t *version_request(const char *version, size_t *len)
{
  Runtime__V1__VersionRequest v = RUNTIME__V1__VERSION_REQUEST__INIT;
  v.version = (char *)version;
  size_t n = runtime__v1__version_request__get_packed_size(&v);
  uint8_t *buf = xmalloc(n + MASCRI_GRPC_FRAME_HEADER);
  mascri_grpc_frame_header(buf, false, (uint32_t)n);
  runtime__v1__version_request__pack(&v, buf + MASCRI_GRPC_FRAME_HEADER);
  *len = n + MASCRI_GRPC_FRAME_HEADER;
  return buf;
}

/* One call on a new connection, run until it closes. */
static void call(struct fixture *f, struct req *r, const char *path, const uint8_t *body,
                 size_t len)
{
  struct client *c = client_new(f);
  start(c, r, path, body, len, NULL, NULL, false);
  assert_true(pump(c, req_closed, r, WAIT_MS));
  client_free(c);
}

static void assert_status(const struct req *r, int status, const char *words)
{
  assert_true(r->closed);
  assert_int_equal(r->close_error, NGHTTP2_NO_ERROR);
  assert_int_equal(r->http_status, 200);
  if (r->grpc_status != status || (words && !strstr(r->grpc_message ? r->grpc_message : "", words)))
    fail_msg("expected grpc-status %d with \"%s\", got %d: %s", status, words ? words : "",
             r->grpc_status, r->grpc_message ? r->grpc_message : "(none)");
}

/* The answer to a Version call: one framed VersionResponse echoing version. */
static void assert_version_answer(const struct req *r, const char *version)
{
  assert_status(r, MASCRI_GRPC_OK, NULL);
  assert_true(r->data_len > MASCRI_GRPC_FRAME_HEADER);
  assert_int_equal(r->data[0], 0);
  uint32_t n = ((uint32_t)r->data[1] << 24) | ((uint32_t)r->data[2] << 16) |
               ((uint32_t)r->data[3] << 8) | r->data[4];
  assert_int_equal(n, r->data_len - MASCRI_GRPC_FRAME_HEADER);
  Runtime__V1__VersionResponse *v =
      runtime__v1__version_response__unpack(NULL, n, r->data + MASCRI_GRPC_FRAME_HEADER);
  assert_non_null(v);
  assert_string_equal(v->version, version);
  assert_string_equal(v->runtime_name, "mascri-test");
  runtime__v1__version_response__free_unpacked(v, NULL);
}

static int handler_calls(struct fixture *f)
{
  return __atomic_load_n(&f->handler_calls, __ATOMIC_SEQ_CST);
}

/* --- tests --- */

static void unary_call_answered(void **state)
{
  struct fixture *f = *state;
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("0.1.0", &len);
  call(f, &r, "/test.Svc/Version", body, len);
  assert_version_answer(&r, "0.1.0");
  assert_int_equal(handler_calls(f), 1);
  req_clear(&r);
}

/* A handler's error becomes its gRPC status, the message percent-encoded. */
static void handler_error_is_status(void **state)
{
  struct fixture *f = *state;
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("fail", &len);
  call(f, &r, "/test.Svc/Version", body, len);
  assert_status(&r, MASCRI_GRPC_NOT_FOUND, "no such thing: 100%25 gone");
  assert_int_equal(r.data_len, 0);
  req_clear(&r);
}

/* Many calls on one connection at once: each stream gets its own answer. */
static void concurrent_streams_demultiplexed(void **state)
{
  struct fixture *f = *state;
  enum { N = 12 };
  struct req r[N];
  char versions[N][16];
  struct client *c = client_new(f);
  for (int i = 0; i < N; i++) {
    size_t len;
    snprintf(versions[i], sizeof(versions[i]), "v%d", i);
    _cleanup_free_ uint8_t *body = version_request(versions[i], &len);
    start(c, &r[i], "/test.Svc/Version", body, len, NULL, NULL, false);
  }
  for (int i = 0; i < N; i++)
    assert_true(pump(c, req_closed, &r[i], WAIT_MS));
  for (int i = 0; i < N; i++) {
    assert_version_answer(&r[i], versions[i]);
    req_clear(&r[i]);
  }
  assert_int_equal(handler_calls(f), N);
  client_free(c);
}

static void unknown_method_unimplemented(void **state)
{
  struct fixture *f = *state;
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("x", &len);
  call(f, &r, "/test.Svc/Nope", body, len);
  assert_status(&r, MASCRI_GRPC_UNIMPLEMENTED, "unknown method /test.Svc/Nope");
  req_clear(&r);
  call(f, &r, "/test.Svc/Later", body, len);
  assert_status(&r, MASCRI_GRPC_UNIMPLEMENTED, "Later is not here");
  req_clear(&r);
  assert_int_equal(handler_calls(f), 0);
}

static void bad_content_type_refused(void **state)
{
  struct fixture *f = *state;
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("x", &len);
  struct client *c = client_new(f);
  start(c, &r, "/test.Svc/Version", body, len, NULL, "application/json", false);
  assert_true(pump(c, req_closed, &r, WAIT_MS));
  assert_status(&r, MASCRI_GRPC_UNKNOWN, "content-type");
  assert_int_equal(handler_calls(f), 0);
  req_clear(&r);
  client_free(c);
}

/* A message past max_recv_msg: RESOURCE_EXHAUSTED from its length prefix, the handler never
 * runs, and the connection goes on serving. */
static void oversized_message_resource_exhausted(void **state)
{
  struct fixture *f = *state;
  struct req r, ok;
  size_t big = 4 * MAX_RECV, len;
  _cleanup_free_ uint8_t *body = xmalloc0(big + MASCRI_GRPC_FRAME_HEADER);
  _cleanup_free_ uint8_t *small = version_request("after", &len);
  mascri_grpc_frame_header(body, false, (uint32_t)big);
  struct client *c = client_new(f);
  start(c, &r, "/test.Svc/Version", body, big + MASCRI_GRPC_FRAME_HEADER, NULL, NULL, false);
  assert_true(pump(c, req_closed, &r, WAIT_MS));
  assert_status(&r, MASCRI_GRPC_RESOURCE_EXHAUSTED, "larger than max");
  assert_int_equal(handler_calls(f), 0);
  start(c, &ok, "/test.Svc/Version", small, len, NULL, NULL, false);
  assert_true(pump(c, req_closed, &ok, WAIT_MS));
  assert_version_answer(&ok, "after");
  req_clear(&r);
  req_clear(&ok);
  client_free(c);
}

/* Bodies that are not one well-formed message: each gets an error status of its own and no
 * handler runs. */
static void malformed_messages_refused(void **state)
{
  struct fixture *f = *state;
  static const struct {
    const char *what;
    uint8_t bytes[16];
    size_t len;
    int status;
    const char *words;
  } cases[] = {
      {"prefix cut short", {0, 0, 0}, 3, MASCRI_GRPC_INTERNAL, "prefix"},
      {"body shorter than its prefix", {0, 0, 0, 0, 100, 1, 2, 3}, 8, MASCRI_GRPC_INTERNAL, ""},
      {"compressed without an encoding", {1, 0, 0, 0, 1, 0}, 6, MASCRI_GRPC_UNIMPLEMENTED, ""},
      {"two messages", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10, MASCRI_GRPC_UNIMPLEMENTED, ""},
      {"not protobuf",
       {0, 0, 0, 0, 3, 0xff, 0xff, 0xff},
       8,
       MASCRI_GRPC_INVALID_ARGUMENT,
       "cannot decode"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct req r;
    call(f, &r, "/test.Svc/Version", cases[i].bytes, cases[i].len);
    if (r.grpc_status != cases[i].status)
      fail_msg("%s: expected grpc-status %d, got %d (%s)", cases[i].what, cases[i].status,
               r.grpc_status, r.grpc_message ? r.grpc_message : "");
    assert_status(&r, cases[i].status, cases[i].words);
    req_clear(&r);
  }
  assert_int_equal(handler_calls(f), 0);
}

/* A client that sends a request's headers and then nothing: other streams on the same
 * connection are answered meanwhile, and the stalled one gets DEADLINE_EXCEEDED after
 * request_stall_ms. */
static void stalled_request_does_not_block_others(void **state)
{
  struct fixture *f = *state;
  struct req stalled, ok;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("meanwhile", &len);
  struct client *c = client_new(f);
  int64_t t0 = mascri_clock_monotonic_ms();
  assert_true(start(c, &stalled, "/test.Svc/Version", NULL, 0, NULL, NULL, true) > 0);
  start(c, &ok, "/test.Svc/Version", body, len, NULL, NULL, false);
  assert_true(pump(c, req_closed, &ok, WAIT_MS));
  assert_version_answer(&ok, "meanwhile");
  assert_false(stalled.closed);
  assert_true(pump(c, req_closed, &stalled, WAIT_MS));
  assert_status(&stalled, MASCRI_GRPC_DEADLINE_EXCEEDED, "stalled");
  assert_true(mascri_clock_monotonic_ms() - t0 >= STALL_MS);
  assert_int_equal(handler_calls(f), 1);
  req_clear(&stalled);
  req_clear(&ok);
  client_free(c);
}

static bool never(void *arg)
{
  return false;
}

/* Once its stalled request is answered, nothing of it is left on the connection: the
 * stream is reset, and the connection, without calls, is closed when idle. */
static void answered_stall_leaves_connection_idle(void **state)
{
  struct fixture *f = *state;
  struct req stalled;
  struct client *c = client_new(f);
  assert_true(start(c, &stalled, "/test.Svc/Version", NULL, 0, NULL, NULL, true) > 0);
  assert_true(pump(c, req_closed, &stalled, WAIT_MS));
  assert_status(&stalled, MASCRI_GRPC_DEADLINE_EXCEEDED, "stalled");
  int64_t t0 = mascri_clock_monotonic_ms();
  assert_false(pump(c, never, NULL, WAIT_MS));
  assert_true(c->eof);
  assert_true(mascri_clock_monotonic_ms() - t0 < WAIT_MS);
  req_clear(&stalled);
  client_free(c);
}

/* A connection whose last call was answered is closed after idle_timeout_ms. */
static void idle_connection_closed_after_call(void **state)
{
  struct fixture *f = *state;
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("last", &len);
  struct client *c = client_new(f);
  start(c, &r, "/test.Svc/Version", body, len, NULL, NULL, false);
  assert_true(pump(c, req_closed, &r, WAIT_MS));
  assert_version_answer(&r, "last");
  int64_t t0 = mascri_clock_monotonic_ms();
  assert_false(pump(c, never, NULL, WAIT_MS));
  assert_true(c->eof);
  assert_true(mascri_clock_monotonic_ms() - t0 < WAIT_MS);
  req_clear(&r);
  client_free(c);
}

/* grpc-timeout: the call is answered DEADLINE_EXCEEDED when it passes, and the handler's
 * cancel flag is raised. */
static void deadline_answers_and_cancels(void **state)
{
  struct fixture *f = *state;
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("x", &len);
  struct client *c = client_new(f);
  start(c, &r, "/test.Svc/Wait", body, len, "200m", NULL, false);
  assert_true(pump(c, req_closed, &r, WAIT_MS));
  assert_status(&r, MASCRI_GRPC_DEADLINE_EXCEEDED, "deadline");
  int64_t end = mascri_clock_monotonic_ms() + WAIT_MS;
  while (!__atomic_load_n(&f->saw_cancel, __ATOMIC_SEQ_CST) && mascri_clock_monotonic_ms() < end) {
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_true(__atomic_load_n(&f->saw_cancel, __ATOMIC_SEQ_CST));
  req_clear(&r);
  client_free(c);
}

/* A connection that never sends the HTTP/2 preface is closed after preface_timeout_ms (it
 * only ever gets the server's SETTINGS); a client connected meanwhile is served. */
static void silent_connection_closed(void **state)
{
  struct fixture *f = *state;
  int silent = unix_connect(f->sock);
  int64_t t0 = mascri_clock_monotonic_ms();
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("other", &len);
  call(f, &r, "/test.Svc/Version", body, len);
  assert_version_answer(&r, "other");
  req_clear(&r);
  bool closed = false;
  while (!closed && mascri_clock_monotonic_ms() - t0 < WAIT_MS) {
    struct pollfd p = {silent, POLLIN, 0};
    uint8_t buf[256];
    if (poll(&p, 1, 100) == 1)
      closed = recv(silent, buf, sizeof(buf), MSG_DONTWAIT) <= 0 && errno != EAGAIN;
  }
  assert_true(closed);
  assert_true(mascri_clock_monotonic_ms() - t0 >= PREFACE_MS);
  close(silent);
}

static bool got_headers(void *arg)
{
  return ((struct req *)arg)->headers;
}

struct want_bytes {
  struct req *r;
  size_t len;
};

static bool got_bytes(void *arg)
{
  struct want_bytes *w = arg;
  return w->r->data_len >= w->len;
}

/* A server-streaming call gets every published message as its own frame, in order, and
 * ends OK when the server shuts down. */
static void stream_gets_published_messages(void **state)
{
  struct fixture *f = *state;
  struct req r;
  size_t len;
  _cleanup_free_ uint8_t *body = version_request("", &len);
  struct client *c = client_new(f);
  start(c, &r, "/test.Svc/Events", body, len, NULL, NULL, false);
  assert_true(pump(c, got_headers, &r, WAIT_MS)); /* subscribed */
  Runtime__V1__VersionResponse m = RUNTIME__V1__VERSION_RESPONSE__INIT;
  m.runtime_name = (char *)"mascri-test";
  m.version = (char *)"one";
  mascri_server_publish(f->srv, &m.base);
  m.version = (char *)"two";
  mascri_server_publish(f->srv, &m.base);
  size_t one = runtime__v1__version_response__get_packed_size(&m) + MASCRI_GRPC_FRAME_HEADER;
  struct want_bytes w = {&r, 2 * one};
  assert_true(pump(c, got_bytes, &w, WAIT_MS));
  assert_int_equal(r.data_len, 2 * one);
  assert_false(r.closed);
  const char *want[] = {"one", "two"};
  for (int i = 0; i < 2; i++) {
    const uint8_t *p = r.data + i * one;
    Runtime__V1__VersionResponse *v = runtime__v1__version_response__unpack(
        NULL, one - MASCRI_GRPC_FRAME_HEADER, p + MASCRI_GRPC_FRAME_HEADER);
    assert_int_equal(p[4], one - MASCRI_GRPC_FRAME_HEADER);
    assert_non_null(v);
    assert_string_equal(v->version, want[i]);
    runtime__v1__version_response__free_unpacked(v, NULL);
  }
  mascri_server_stop(f->srv);
  assert_true(pump(c, req_closed, &r, WAIT_MS));
  assert_int_equal(r.grpc_status, MASCRI_GRPC_OK);
  req_clear(&r);
  client_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(unary_call_answered, setup, teardown),
      cmocka_unit_test_setup_teardown(handler_error_is_status, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_streams_demultiplexed, setup, teardown),
      cmocka_unit_test_setup_teardown(unknown_method_unimplemented, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_content_type_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(oversized_message_resource_exhausted, setup, teardown),
      cmocka_unit_test_setup_teardown(malformed_messages_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(stalled_request_does_not_block_others, setup, teardown),
      cmocka_unit_test_setup_teardown(answered_stall_leaves_connection_idle, setup, teardown),
      cmocka_unit_test_setup_teardown(idle_connection_closed_after_call, setup, teardown),
      cmocka_unit_test_setup_teardown(deadline_answers_and_cancels, setup, teardown),
      cmocka_unit_test_setup_teardown(silent_connection_closed, setup, teardown),
      cmocka_unit_test_setup_teardown(stream_gets_published_messages, setup, teardown),
  };
  return cmocka_run_group_tests_name("cri-h2", tests, NULL, NULL);
}
