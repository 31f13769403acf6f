/* gRPC over HTTP/2, the parts that are pure logic: status codes (and the one mapping from
 * mascri error kinds to them), length-prefixed message framing, grpc-timeout parsing and
 * grpc-message percent-encoding. */
#ifndef MASCRI_CRI_GRPC_H
#define MASCRI_CRI_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum {
  MASCRI_GRPC_OK = 0,
  MASCRI_GRPC_CANCELLED = 1,
  MASCRI_GRPC_UNKNOWN = 2,
  MASCRI_GRPC_INVALID_ARGUMENT = 3,
  MASCRI_GRPC_DEADLINE_EXCEEDED = 4,
  MASCRI_GRPC_NOT_FOUND = 5,
  MASCRI_GRPC_ALREADY_EXISTS = 6,
  MASCRI_GRPC_PERMISSION_DENIED = 7,
  MASCRI_GRPC_RESOURCE_EXHAUSTED = 8,
  MASCRI_GRPC_FAILED_PRECONDITION = 9,
  MASCRI_GRPC_ABORTED = 10,
  MASCRI_GRPC_OUT_OF_RANGE = 11,
  MASCRI_GRPC_UNIMPLEMENTED = 12,
  MASCRI_GRPC_INTERNAL = 13,
  MASCRI_GRPC_UNAVAILABLE = 14,
  MASCRI_GRPC_DATA_LOSS = 15,
  MASCRI_GRPC_UNAUTHENTICATED = 16,
} mascri_grpc_status_t;

/* The one place where an error kind becomes a gRPC status. */
mascri_grpc_status_t mascri_grpc_status_from_kind(mascri_error_kind_t kind);
/* Status of an error value (OK for NULL). */
mascri_grpc_status_t mascri_grpc_status_from_error(const mascri_error_t *err);
const char *mascri_grpc_status_name(mascri_grpc_status_t status);

#define MASCRI_GRPC_FRAME_HEADER 5

/* Writes the 5-byte prefix: compressed flag, then the big-endian length. */
void mascri_grpc_frame_header(uint8_t out[MASCRI_GRPC_FRAME_HEADER], bool compressed, uint32_t len);

/* Collects one request message from DATA chunks. Refuses (RESOURCE_EXHAUSTED) as soon as
 * the declared length exceeds max, before buffering it. */
struct mascri_grpc_reader {
  uint8_t *buf;
  size_t len, cap;
  size_t max;
};
void mascri_grpc_reader_init(struct mascri_grpc_reader *r, size_t max);
void mascri_grpc_reader_clear(struct mascri_grpc_reader *r);
/* The buffer's size once more bytes are fed (for budgets, before feeding them). */
size_t mascri_grpc_reader_grown_cap(const struct mascri_grpc_reader *r, size_t more);
int mascri_grpc_reader_feed(struct mascri_grpc_reader *r, const uint8_t *data, size_t len,
                            mascri_error_t *err);
/* At end of stream: exactly one complete, uncompressed message (an absent message counts
 * as an empty one, as some clients send none for empty requests). */
int mascri_grpc_reader_finish(struct mascri_grpc_reader *r, const uint8_t **msg, size_t *len,
                              mascri_error_t *err);

/* Parses a grpc-timeout value ("1*8DIGIT" then H, M, S, m, u or n) into milliseconds,
 * rounded up. */
int mascri_grpc_parse_timeout(const char *value, size_t len, uint64_t *ms, mascri_error_t *err);

/* Percent-encodes a grpc-message: bytes outside 0x20..0x7e and '%' become %XX. */
char *mascri_grpc_percent_encode(const char *msg);

#endif
