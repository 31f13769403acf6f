/* Test driver for tests/integration/test_cri_server.py (not a unit test): the gRPC server
 * of src/cri with a small method table of its own, so the transport can be tested apart
 * from the CRI: cancellation reaching handlers, server-side deadlines, handler errors,
 * large responses under flow control, responses over the size limit, server streaming.
 *
 * Usage: cri-server-tool SOCKET [MAX_SEND_BYTES] */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/server.h"

struct tool {
  struct mascri_server *srv;
  atomic_uint cancelled;
};

static ProtobufCMessage *version_response(const char *version)
{
  Runtime__V1__VersionResponse *r = xmalloc(sizeof(*r));
  runtime__v1__version_response__init(r);
  r->version = xstrdup(version);
  r->runtime_name = xstrdup("server-tool");
  return &r->base;
}

static const char *arg(const ProtobufCMessage *req)
{
  return ((const Runtime__V1__VersionRequest *)req)->version;
}

static int do_version(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                      const volatile int *cancel, mascri_error_t *err)
{
  *resp = version_response("v");
  return 0;
}

/* Sleeps up to version ms, watching cancel; counts the cancellations it saw. */
static int do_sleep(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                    const volatile int *cancel, mascri_error_t *err)
{
  struct tool *t = ctx;
  long ms = strtol(arg(req), NULL, 10);
  for (long i = 0; i < ms; i += 5) {
    if (*cancel) {
      atomic_fetch_add(&t->cancelled, 1);
      return mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0, "sleep cancelled");
    }
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  *resp = version_response("slept");
  return 0;
}

static int do_cancelled(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                        const volatile int *cancel, mascri_error_t *err)
{
  struct tool *t = ctx;
  char buf[32];
  snprintf(buf, sizeof(buf), "%u", atomic_load(&t->cancelled));
  *resp = version_response(buf);
  return 0;
}

static int do_fail(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                   const volatile int *cancel, mascri_error_t *err)
{
  return mascri_make_error_kind(err, (mascri_error_kind_t)atoi(arg(req)), 0,
                                "failure: 100%% caf\xc3\xa9\nline two");
}

static int do_big(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                  const volatile int *cancel, mascri_error_t *err)
{
  size_t n = strtoul(arg(req), NULL, 10);
  char *s = xmalloc(n + 1);
  for (size_t i = 0; i < n; i++)
    s[i] = (char)('a' + i % 26);
  s[n] = '\0';
  *resp = version_response("");
  free(((Runtime__V1__VersionResponse *)*resp)->version);
  ((Runtime__V1__VersionResponse *)*resp)->version = s;
  return 0;
}

static int do_no_response(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                          const volatile int *cancel, mascri_error_t *err)
{
  return 0;
}

static int do_publish(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                      const volatile int *cancel, mascri_error_t *err)
{
  struct tool *t = ctx;
  mascri_server_publish(t->srv, req);
  *resp = version_response("published");
  return 0;
}

#define VREQ &runtime__v1__version_request__descriptor
static const struct mascri_rpc_method methods[] = {
    {"/runtime.v1.RuntimeService/Version", VREQ, do_version, MASCRI_RPC_FAST, NULL},
    {"/test.Tool/Sleep", VREQ, do_sleep, 0, NULL},
    {"/test.Tool/FastSleep", VREQ, do_sleep, MASCRI_RPC_FAST, NULL},
    {"/test.Tool/Cancelled", VREQ, do_cancelled, MASCRI_RPC_FAST, NULL},
    {"/test.Tool/Fail", VREQ, do_fail, MASCRI_RPC_FAST, NULL},
    {"/test.Tool/Big", VREQ, do_big, 0, NULL},
    {"/test.Tool/NoResponse", VREQ, do_no_response, MASCRI_RPC_FAST, NULL},
    {"/test.Tool/Missing", VREQ, NULL, MASCRI_RPC_FAST, "the tool does not do this"},
    {"/test.Tool/Publish", &runtime__v1__container_event_response__descriptor, do_publish,
     MASCRI_RPC_FAST, NULL},
    {"/test.Tool/Events", &runtime__v1__get_events_request__descriptor, NULL, MASCRI_RPC_STREAM,
     NULL},
};

static const struct mascri_rpc_method *lookup(void *ctx, const char *path)
{
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    if (strcmp(methods[i].path, path) == 0)
      return &methods[i];
  return NULL;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: cri-server-tool SOCKET [MAX_SEND_BYTES]\n");
    return 2;
  }
  mascri_log_set_program("cri-server-tool");
  mascri_log_set_level(MASCRI_LOG_DEBUG);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct tool t = {0};
  struct mascri_server_config cfg = {
      .socket_path = argv[1],
      .socket_gid = (gid_t)-1,
      .max_send_msg = argc > 2 ? strtoul(argv[2], NULL, 10) : 0,
      .fast_workers = 2,
      .max_workers = 16,
      .shutdown_wait_ms = 5000,
  };
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_server_new(&cfg, lookup, &t, &t.srv, &err) < 0) {
    mascri_log_error_release(MASCRI_LOG_ERROR, &err, "server");
    return 1;
  }
  int r = mascri_server_run(t.srv, NULL, &err);
  if (r < 0)
    mascri_log_error_release(MASCRI_LOG_ERROR, &err, "run");
  mascri_server_free(t.srv);
  return r < 0 ? 1 : 0;
}
