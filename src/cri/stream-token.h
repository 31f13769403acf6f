/* The streaming request cache: what an Exec, Attach or PortForward RPC asked for, kept
 * under a single-use, unguessable token until the client connects to the URL (as
 * kubelet's cri/streaming request cache: one minute to use it, a bounded number in
 * flight). Thread-safe: RPC workers insert, the streaming server's thread takes. */
#ifndef MASCRI_CRI_STREAM_TOKEN_H
#define MASCRI_CRI_STREAM_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum {
  MASCRI_STREAM_EXEC,
  MASCRI_STREAM_ATTACH,
  MASCRI_STREAM_PORTFORWARD,
} mascri_stream_kind_t;

struct mascri_stream_req {
  mascri_stream_kind_t kind;
  char *id;   /* container (exec, attach) or pod sandbox (port forward) */
  char **cmd; /* exec: NULL-terminated argv */
  bool tty, in, out, err;
  uint16_t *ports; /* port forward: the ports the RPC named (may be none) */
  size_t n_ports;
};
void mascri_stream_req_free(struct mascri_stream_req *r);

/* 192 random bits in unpadded base64url. */
#define MASCRI_STREAM_TOKEN_LEN 32

struct mascri_stream_tokens;

/* ttl_ms: how long a token stays usable; max: how many may wait at once. */
struct mascri_stream_tokens *mascri_stream_tokens_new(uint64_t ttl_ms, size_t max);
void mascri_stream_tokens_free(struct mascri_stream_tokens *t);
/* Stores req (taken over) and writes its token (NUL-terminated) into token.
 * RESOURCE_EXHAUSTED when max requests wait already. */
int mascri_stream_tokens_insert(struct mascri_stream_tokens *t, struct mascri_stream_req *req,
                                char token[MASCRI_STREAM_TOKEN_LEN + 1], mascri_error_t *err);
/* Removes and returns the request of a live token of that kind; NULL when unknown, used,
 * expired or of another kind (then it stays usable). */
struct mascri_stream_req *mascri_stream_tokens_take(struct mascri_stream_tokens *t,
                                                    const char *token, mascri_stream_kind_t kind);
/* Number of requests waiting (expired ones dropped first). */
size_t mascri_stream_tokens_count(struct mascri_stream_tokens *t);

#endif
