/* A growable byte buffer with a read offset: append at the end, consume from the front.
 * Used for the bytes queued towards a non-blocking socket or pipe. */
#ifndef MASCRI_COMMON_BUF_H
#define MASCRI_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mascri_buf {
  uint8_t *data;
  size_t off; /* first unread byte */
  size_t len; /* end of the valid bytes */
  size_t cap;
};

static inline size_t mascri_buf_size(const struct mascri_buf *b)
{
  return b->len - b->off;
}
static inline const uint8_t *mascri_buf_head(const struct mascri_buf *b)
{
  return b->data + b->off;
}
/* Room for n more bytes at the end; returns where they go (commit with mascri_buf_commit). */
uint8_t *mascri_buf_reserve(struct mascri_buf *b, size_t n);
void mascri_buf_commit(struct mascri_buf *b, size_t n);
void mascri_buf_append(struct mascri_buf *b, const void *p, size_t n);
void mascri_buf_consume(struct mascri_buf *b, size_t n);
void mascri_buf_free(struct mascri_buf *b);

#endif
