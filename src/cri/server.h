/* The gRPC server: an epoll loop over a unix socket speaking prior-knowledge h2c through
 * nghttp2, a signalfd for SIGTERM/SIGINT, and worker pools whose results come back to the
 * loop through an eventfd. Only the loop thread touches connections and streams.
 *
 * The server knows nothing about the CRI: it asks a lookup function for the method behind
 * a request path and runs its handler on a worker thread (FAST methods on a pool of their
 * own, so slow calls never hold them up). */
#ifndef MASCRI_CRI_SERVER_H
#define MASCRI_CRI_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "common/error.h"

struct mascri_server;

/* A unary handler: fills *resp (a message of the method's output type) or returns < 0 with
 * err set; *cancel turns nonzero when the client went away or the deadline passed. */
typedef int (*mascri_rpc_fn)(void *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                             const volatile int *cancel, mascri_error_t *err);

#define MASCRI_RPC_FAST 1u   /* runs on the fast pool (no long blocking) */
#define MASCRI_RPC_STREAM 2u /* server streaming: the call subscribes to published messages */

struct mascri_rpc_method {
  const char *path; /* "/runtime.v1.RuntimeService/Version" */
  const ProtobufCMessageDescriptor *input;
  mascri_rpc_fn fn; /* NULL: UNIMPLEMENTED with unimplemented_msg */
  unsigned flags;
  const char *unimplemented_msg;
};

/* Returns the method for a path or NULL (UNIMPLEMENTED). */
typedef const struct mascri_rpc_method *(*mascri_rpc_lookup_fn)(void *ctx, const char *path);

struct mascri_server_config {
  const char *socket_path;
  int inherited_fd;          /* > 0: a listening socket passed by systemd (socket activation),
                              * served instead of binding socket_path and never unlinked */
  mode_t socket_mode;        /* default 0660 */
  gid_t socket_gid;          /* (gid_t)-1: leave as is */
  size_t max_recv_msg;       /* default 16 MiB */
  size_t max_send_msg;       /* default 32 MiB + 64 KiB (ExecSync output) */
  unsigned max_workers;      /* slow pool, default 64 */
  unsigned fast_workers;     /* default 4 */
  unsigned shutdown_wait_ms; /* how long in-flight calls get at shutdown, default 10000 */
  /* Hostile or broken clients: request bytes buffered per connection (default 4 x
   * max_recv_msg) and in all (default 16 x max_recv_msg) before a call is refused with
   * RESOURCE_EXHAUSTED; connections at once (default 1024; beyond, the listener waits);
   * a connection without calls is closed after idle_timeout_ms (default 300000), one that
   * sent no HTTP/2 preface after preface_timeout_ms (default 10000), and a request whose
   * body stalls for request_stall_ms (default 60000) is answered DEADLINE_EXCEEDED. */
  size_t max_conn_buffer;
  size_t max_total_buffer;
  unsigned max_conns;
  unsigned idle_timeout_ms;
  unsigned preface_timeout_ms;
  unsigned request_stall_ms;
};

int mascri_server_new(const struct mascri_server_config *config, mascri_rpc_lookup_fn lookup,
                      void *ctx, struct mascri_server **out, mascri_error_t *err);
/* Runs until SIGTERM/SIGINT (blocked by the caller in every thread before threads start)
 * or mascri_server_stop. ready() is called once the socket listens. */
int mascri_server_run(struct mascri_server *srv, void (*ready)(void *ctx), mascri_error_t *err);
/* Thread-safe: asks the loop to stop. */
void mascri_server_stop(struct mascri_server *srv);
/* Thread-safe: sends msg to every open streaming call (e.g. GetContainerEvents). */
void mascri_server_publish(struct mascri_server *srv, const ProtobufCMessage *msg);
/* Closes the socket (unlinking it) and frees everything. Returns the number of handlers
 * still running after the shutdown wait: when not 0, the server and what the handlers
 * use (ctx) are left allocated for them; the caller should only exit. */
unsigned mascri_server_free(struct mascri_server *srv);

#endif
