/* SPDY/3.1 framing (the protocol kubelet, the API server, crictl and critest speak to a
 * CRI streaming server): a session codec without I/O. Received bytes are fed in, frames
 * come out through callbacks; frames to send are appended to an output buffer the owner
 * writes to the socket. Header blocks are zlib-compressed with the SPDY/3 dictionary (one
 * compression context per direction per session, as the spec requires).
 *
 * Flow control (SPDY/3.1: per-stream and per-session windows of 64 KiB by default): this
 * side advertises its receive windows and sends WINDOW_UPDATE as the owner reports data
 * consumed (mascri_spdy_consumed). The peer's windows are tracked always but ENFORCED only
 * once the peer shows it does flow control (it sent a WINDOW_UPDATE or an
 * INITIAL_WINDOW_SIZE setting): Go's spdystream, which every Kubernetes client uses, never
 * sends WINDOW_UPDATE, and honouring its never-refilled windows would stall every stream
 * after 64 KiB. Backpressure against such peers comes from the socket (the owner stops
 * reading). */
#ifndef MASCRI_CRI_STREAM_SPDY_H
#define MASCRI_CRI_STREAM_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* RST_STREAM status codes. */
enum {
  MASCRI_SPDY_PROTOCOL_ERROR = 1,
  MASCRI_SPDY_INVALID_STREAM = 2,
  MASCRI_SPDY_REFUSED_STREAM = 3,
  MASCRI_SPDY_UNSUPPORTED_VERSION = 4,
  MASCRI_SPDY_CANCEL = 5,
  MASCRI_SPDY_INTERNAL_ERROR = 6,
  MASCRI_SPDY_FLOW_CONTROL_ERROR = 7,
  MASCRI_SPDY_STREAM_IN_USE = 8,
  MASCRI_SPDY_STREAM_ALREADY_CLOSED = 9,
  MASCRI_SPDY_FRAME_TOO_LARGE = 11,
};

/* Control frame types. */
enum {
  MASCRI_SPDY_SYN_STREAM = 1,
  MASCRI_SPDY_SYN_REPLY = 2,
  MASCRI_SPDY_RST_STREAM = 3,
  MASCRI_SPDY_SETTINGS = 4,
  MASCRI_SPDY_PING = 6,
  MASCRI_SPDY_GOAWAY = 7,
  MASCRI_SPDY_HEADERS = 8,
  MASCRI_SPDY_WINDOW_UPDATE = 9,
};

#define MASCRI_SPDY_SETTINGS_MAX_CONCURRENT_STREAMS 4
#define MASCRI_SPDY_SETTINGS_INITIAL_WINDOW_SIZE 7
#define MASCRI_SPDY_DEFAULT_WINDOW 65536
/* Largest control frame accepted and largest decompressed header block. */
#define MASCRI_SPDY_MAX_CONTROL_FRAME (64 * 1024)
#define MASCRI_SPDY_MAX_HEADER_BLOCK (256 * 1024)
/* Streams open at once per session; more are refused (REFUSED_STREAM). */
#define MASCRI_SPDY_MAX_STREAMS 1024

/* A header block: names lowercase; a value holding several NUL-separated values is kept
 * up to its first NUL. */
struct mascri_spdy_headers {
  size_t n;
  char **names;
  char **values;
};
const char *mascri_spdy_headers_get(const struct mascri_spdy_headers *h, const char *name);
void mascri_spdy_headers_add(struct mascri_spdy_headers *h, const char *name, const char *value);
void mascri_spdy_headers_clear(struct mascri_spdy_headers *h);

struct mascri_spdy_callbacks {
  /* The peer opened a stream (fin: it sends nothing more on it). */
  void (*syn_stream)(void *data, uint32_t id, const struct mascri_spdy_headers *h, bool fin);
  void (*syn_reply)(void *data, uint32_t id, const struct mascri_spdy_headers *h, bool fin);
  /* Payload of a data frame (possibly in pieces as it arrives). Report what was consumed
   * with mascri_spdy_consumed to open the window again. */
  void (*data)(void *data, uint32_t id, const uint8_t *p, size_t n);
  /* The peer half-closed the stream (FIN on a data, SYN or HEADERS frame). */
  void (*fin)(void *data, uint32_t id);
  /* The stream is gone: reset by the peer, or by this side after a stream error. */
  void (*rst)(void *data, uint32_t id, uint32_t status);
  void (*goaway)(void *data, uint32_t last_good_id, uint32_t status);
  /* The peer gave more send window (stream id, or 0 for the session). */
  void (*window)(void *data, uint32_t id);
};

struct mascri_spdy;

/* server: this side accepts odd (client) stream ids and opens even ones. Callbacks may call
 * any function below except mascri_spdy_free. */
struct mascri_spdy *mascri_spdy_new(bool server, const struct mascri_spdy_callbacks *cb,
                                    void *data);
void mascri_spdy_free(struct mascri_spdy *s);

/* Parses n received bytes (any split across calls). Returns 0, or -1 with err on a session
 * error: a GOAWAY is then queued and the owner should flush the output and close. */
int mascri_spdy_feed(struct mascri_spdy *s, const uint8_t *p, size_t n, mascri_error_t *err);
/* The bytes to send to the peer; the owner consumes what it wrote. */
struct mascri_buf *mascri_spdy_out(struct mascri_spdy *s);

/* Opens a stream (client or server side); *id receives its id. */
int mascri_spdy_syn_stream(struct mascri_spdy *s, const struct mascri_spdy_headers *h, bool fin,
                           uint32_t *id, mascri_error_t *err);
int mascri_spdy_syn_reply(struct mascri_spdy *s, uint32_t id, const struct mascri_spdy_headers *h,
                          bool fin, mascri_error_t *err);
int mascri_spdy_send_headers(struct mascri_spdy *s, uint32_t id,
                             const struct mascri_spdy_headers *h, bool fin, mascri_error_t *err);
/* How many bytes of data may be sent on the stream now (the windows, when enforced). */
size_t mascri_spdy_send_window(struct mascri_spdy *s, uint32_t id);
/* Queues up to n bytes of data frames within the send window; fin is set on the last
 * frame when all n bytes went. Returns the number of bytes queued, -1 when the stream is
 * not open for sending. */
ssize_t mascri_spdy_send_data(struct mascri_spdy *s, uint32_t id, const uint8_t *p, size_t n,
                              bool fin);
/* Half-closes this side of the stream (an empty data frame with FIN). */
void mascri_spdy_close_stream(struct mascri_spdy *s, uint32_t id);
void mascri_spdy_rst_stream(struct mascri_spdy *s, uint32_t id, uint32_t status);
void mascri_spdy_ping(struct mascri_spdy *s, uint32_t id);
void mascri_spdy_settings(struct mascri_spdy *s, uint32_t setting, uint32_t value);
void mascri_spdy_goaway(struct mascri_spdy *s, uint32_t status);
/* The owner processed n bytes of the stream's data: WINDOW_UPDATEs when due. */
void mascri_spdy_consumed(struct mascri_spdy *s, uint32_t id, size_t n);
/* Whether the stream exists (not fully closed nor reset). */
bool mascri_spdy_stream_exists(struct mascri_spdy *s, uint32_t id);
/* Whether this side may still send on it (no FIN sent). */
bool mascri_spdy_stream_writable(struct mascri_spdy *s, uint32_t id);
/* Whether the peer does flow control (its windows are enforced). */
bool mascri_spdy_peer_flow_control(struct mascri_spdy *s);

#endif
