#include "cri/grpc.h"

#include <string.h>

#include "common/xalloc.h"

mascri_grpc_status_t mascri_grpc_status_from_kind(mascri_error_kind_t kind)
{
  switch (kind) {
  case MASCRI_ERR_NOT_FOUND:
    return MASCRI_GRPC_NOT_FOUND;
  case MASCRI_ERR_ALREADY_EXISTS:
    return MASCRI_GRPC_ALREADY_EXISTS;
  case MASCRI_ERR_INVALID_ARGUMENT:
    return MASCRI_GRPC_INVALID_ARGUMENT;
  case MASCRI_ERR_FAILED_PRECONDITION:
    return MASCRI_GRPC_FAILED_PRECONDITION;
  case MASCRI_ERR_DEADLINE:
    return MASCRI_GRPC_DEADLINE_EXCEEDED;
  case MASCRI_ERR_UNIMPLEMENTED:
    return MASCRI_GRPC_UNIMPLEMENTED;
  case MASCRI_ERR_UNAVAILABLE:
    return MASCRI_GRPC_UNAVAILABLE;
  case MASCRI_ERR_PERMISSION_DENIED:
    return MASCRI_GRPC_PERMISSION_DENIED;
  case MASCRI_ERR_RESOURCE_EXHAUSTED:
    return MASCRI_GRPC_RESOURCE_EXHAUSTED;
  case MASCRI_ERR_CANCELLED:
    return MASCRI_GRPC_CANCELLED;
  case MASCRI_ERR_INTERNAL:
    break;
  }
  return MASCRI_GRPC_INTERNAL;
}

mascri_grpc_status_t mascri_grpc_status_from_error(const mascri_error_t *err)
{
  if (err == NULL || *err == NULL)
    return MASCRI_GRPC_OK;
  return mascri_grpc_status_from_kind(mascri_error_kind(err));
}

const char *mascri_grpc_status_name(mascri_grpc_status_t status)
{
  static const char *const names[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if ((unsigned)status < ARRAY_SIZE(names))
    return names[status];
  return "UNKNOWN";
}

void mascri_grpc_frame_header(uint8_t out[MASCRI_GRPC_FRAME_HEADER], bool compressed, uint32_t len)
{
  out[0] = compressed ? 1 : 0;
  out[1] = (uint8_t)(len >> 24);
  out[2] = (uint8_t)(len >> 16);
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}

static uint32_t frame_length(const uint8_t *p)
{
  return ((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4];
}

void mascri_grpc_reader_init(struct mascri_grpc_reader *r, size_t max)
{
  memset(r, 0, sizeof(*r));
  r->max = max;
}

void mascri_grpc_reader_clear(struct mascri_grpc_reader *r)
{
  free(r->buf);
  r->buf = NULL;
  r->len = r->cap = 0;
}

static int too_large(size_t len, size_t max, mascri_error_t *err)
{
  return mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                                "received message larger than max (%zu vs. %zu)", len, max);
}

size_t mascri_grpc_reader_grown_cap(const struct mascri_grpc_reader *r, size_t more)
{
  size_t need = r->len + more, limit = r->max + MASCRI_GRPC_FRAME_HEADER;
  if (need <= r->cap || need > limit)
    return r->cap;
  size_t cap = r->cap ? r->cap : 256;
  while (cap < need)
    cap *= 2;
  return cap < limit ? cap : limit; /* never more than the largest message */
}

int mascri_grpc_reader_feed(struct mascri_grpc_reader *r, const uint8_t *data, size_t len,
                            mascri_error_t *err)
{
  size_t limit = r->max + MASCRI_GRPC_FRAME_HEADER;
  if (r->len + len > limit) {
    if (r->len >= MASCRI_GRPC_FRAME_HEADER && frame_length(r->buf) > r->max)
      return too_large(frame_length(r->buf), r->max, err);
    if (r->len < MASCRI_GRPC_FRAME_HEADER && r->len + len >= MASCRI_GRPC_FRAME_HEADER) {
      uint8_t hdr[MASCRI_GRPC_FRAME_HEADER];
      if (r->len)
        memcpy(hdr, r->buf, r->len);
      memcpy(hdr + r->len, data, MASCRI_GRPC_FRAME_HEADER - r->len);
      if (frame_length(hdr) > r->max)
        return too_large(frame_length(hdr), r->max, err);
    }
    return mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                                  "received more than one message or more than %zu bytes", r->max);
  }
  if (r->len + len > r->cap) {
    size_t cap = mascri_grpc_reader_grown_cap(r, len);
    r->buf = xrealloc(r->buf, cap);
    r->cap = cap;
  }
  if (len) /* data may be NULL for an empty chunk */
    memcpy(r->buf + r->len, data, len);
  r->len += len;
  if (r->len >= MASCRI_GRPC_FRAME_HEADER && frame_length(r->buf) > r->max)
    return too_large(frame_length(r->buf), r->max, err);
  return 0;
}

int mascri_grpc_reader_finish(struct mascri_grpc_reader *r, const uint8_t **msg, size_t *len,
                              mascri_error_t *err)
{
  static const uint8_t empty[1] = {0};
  if (r->len == 0) {
    *msg = empty;
    *len = 0;
    return 0;
  }
  if (r->len < MASCRI_GRPC_FRAME_HEADER)
    return mascri_make_error_kind(err, MASCRI_ERR_INTERNAL, 0, "truncated gRPC message prefix");
  if (r->buf[0] != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_UNIMPLEMENTED, 0,
                                  "compressed messages are not supported");
  uint32_t n = frame_length(r->buf);
  if ((size_t)n + MASCRI_GRPC_FRAME_HEADER > r->len)
    return mascri_make_error_kind(err, MASCRI_ERR_INTERNAL, 0,
                                  "truncated gRPC message (%zu of %u bytes)",
                                  r->len - MASCRI_GRPC_FRAME_HEADER, n);
  if ((size_t)n + MASCRI_GRPC_FRAME_HEADER < r->len)
    return mascri_make_error_kind(err, MASCRI_ERR_UNIMPLEMENTED, 0,
                                  "more than one request message on a unary call");
  *msg = r->buf + MASCRI_GRPC_FRAME_HEADER;
  *len = n;
  return 0;
}

int mascri_grpc_parse_timeout(const char *value, size_t len, uint64_t *ms, mascri_error_t *err)
{
  if (len < 2 || len > 9)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "bad grpc-timeout \"%.*s\"",
                                  (int)len, value);
  uint64_t n = 0;
  for (size_t i = 0; i + 1 < len; i++) {
    if (value[i] < '0' || value[i] > '9')
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "bad grpc-timeout \"%.*s\"", (int)len, value);
    n = n * 10 + (uint64_t)(value[i] - '0');
  }
  switch (value[len - 1]) {
  case 'H':
    *ms = n * 3600000u;
    break;
  case 'M':
    *ms = n * 60000u;
    break;
  case 'S':
    *ms = n * 1000u;
    break;
  case 'm':
    *ms = n;
    break;
  case 'u':
    *ms = (n + 999u) / 1000u;
    break;
  case 'n':
    *ms = (n + 999999u) / 1000000u;
    break;
  default:
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "bad grpc-timeout unit in \"%.*s\"", (int)len, value);
  }
  return 0;
}

char *mascri_grpc_percent_encode(const char *msg)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(msg);
  char *out = xmalloc(n * 3 + 1), *p = out;
  for (const unsigned char *s = (const unsigned char *)msg; *s; s++) {
    if (*s >= 0x20 && *s <= 0x7e && *s != '%') {
      *p++ = (char)*s;
    } else {
      *p++ = '%';
      *p++ = hex[*s >> 4];
      *p++ = hex[*s & 0xf];
    }
  }
  *p = '\0';
  return out;
}
