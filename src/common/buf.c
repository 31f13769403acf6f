#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

uint8_t *mascri_buf_reserve(struct mascri_buf *b, size_t n)
{
  if (b->off > 0 && b->off == b->len)
    b->off = b->len = 0;
  if (b->cap - b->len >= n)
    return b->data + b->len;
  if (b->off > 0 && b->cap - mascri_buf_size(b) >= n) {
    /* Move the unread bytes to the front rather than grow. */
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
    return b->data + b->len;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < n)
    cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
  return b->data + b->len;
}

void mascri_buf_commit(struct mascri_buf *b, size_t n)
{
  b->len += n;
}

void mascri_buf_append(struct mascri_buf *b, const void *p, size_t n)
{
  if (n == 0)
    return;
  memcpy(mascri_buf_reserve(b, n), p, n);
  b->len += n;
}

void mascri_buf_consume(struct mascri_buf *b, size_t n)
{
  b->off += n;
  if (b->off >= b->len)
    b->off = b->len = 0;
}

void mascri_buf_free(struct mascri_buf *b)
{
  free(b->data);
  *b = (struct mascri_buf){0};
}
