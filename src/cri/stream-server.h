/* The CRI streaming server inside mascrid: HTTP/1.1 (upgraded to SPDY/3.1 or WebSocket)
 * on its own address and port, on a thread of its own with its own epoll loop, so that
 * streams never hold up CRI calls. Exec, Attach and PortForward RPCs register a request
 * (mascri_stream_server_url) and answer the URL the client then connects to. */
#ifndef MASCRI_CRI_STREAM_SERVER_H
#define MASCRI_CRI_STREAM_SERVER_H

#include <stdint.h>

#include "common/error.h"
#include "cri/stream-token.h"

struct mascri_containers;
struct mascri_pods;
struct mascri_stream_server;

struct mascri_stream_server_config {
  const char *address;          /* default 127.0.0.1 */
  uint16_t port;                /* 0: an ephemeral port */
  uint64_t idle_timeout_ms;     /* default 4 h */
  uint64_t creation_timeout_ms; /* streams expected must arrive within; default 30 s */
  uint64_t token_ttl_ms;        /* default 1 min */
  const char *tls_cert, *tls_key;
};

#define MASCRI_STREAM_DEFAULT_IDLE_MS (4ull * 3600 * 1000)
#define MASCRI_STREAM_DEFAULT_CREATION_MS (30ull * 1000)
#define MASCRI_STREAM_DEFAULT_TOKEN_MS (60ull * 1000)

/* Binds and listens (the port is known after it); the thread starts with _start. */
int mascri_stream_server_new(const struct mascri_stream_server_config *cfg,
                             struct mascri_containers *ctrs, struct mascri_pods *pods,
                             struct mascri_stream_server **out, mascri_error_t *err);
int mascri_stream_server_start(struct mascri_stream_server *srv, mascri_error_t *err);
/* Stops the thread, closes every stream (their processes ended as stream.h says). */
void mascri_stream_server_free(struct mascri_stream_server *srv);
/* Thread-safe: stores req (taken over) under a new token; *url: http://ADDR:PORT/KIND/TOKEN. */
int mascri_stream_server_url(struct mascri_stream_server *srv, struct mascri_stream_req *req,
                             char **url, mascri_error_t *err);
/* "http://ADDR:PORT" */
const char *mascri_stream_server_base_url(struct mascri_stream_server *srv);

#endif
