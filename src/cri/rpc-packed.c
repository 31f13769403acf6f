/* List* responses packed into one buffer (rpc-packed.h). */
#include "cri/rpc-packed.h"

#include <sys/mman.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "cri/grpc.h"
#include "packed.pb-c.h"

/* Field 1, wire type 2 (length-delimited). */
#define ITEM_TAG 0x0a
/* The tag and the longest varint of a 32-bit length. */
#define ITEM_PREFIX_MAX 6

/* A buffer this large is mmap'ed fresh by malloc (mascrid's M_MMAP_THRESHOLD) and unmapped
 * once sent. Its pages are faulted in by one call (MADV_POPULATE_WRITE, Linux 5.14) instead
 * of a fault each while the items are packed under the store's lock: at 1,000 containers
 * those 106 faults were about 40% of the server's CPU for a ListContainers. On an older
 * kernel the advice fails and the pages fault in as before. */
#define PREFAULT_MIN (128u << 10)

static void prefault(uint8_t *from, size_t len)
{
  if (len < PREFAULT_MIN)
    return;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)from + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)from + len) & ~(page - 1);
  if (end > start)
    (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

static void reserve(struct mascri_packed_list *l, size_t more)
{
  if (l->len + more <= l->cap)
    return;
  size_t cap = l->cap * 2;
  if (cap < l->len + more)
    cap = l->len + more;
  l->buf = xrealloc(l->buf, cap);
  prefault(l->buf + l->cap, cap - l->cap);
  l->cap = cap;
}

void mascri_packed_list_init(struct mascri_packed_list *l, size_t hint)
{
  l->cap = MASCRI_GRPC_FRAME_HEADER + (hint ? hint : 4096);
  l->buf = xmalloc(l->cap);
  prefault(l->buf, l->cap);
  l->len = MASCRI_GRPC_FRAME_HEADER;
}

void mascri_packed_list_add(struct mascri_packed_list *l, const ProtobufCMessage *item)
{
  size_t n = protobuf_c_message_get_packed_size(item);
  reserve(l, ITEM_PREFIX_MAX + n);
  uint8_t *p = l->buf + l->len;
  *p++ = ITEM_TAG;
  size_t v = n;
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  p += protobuf_c_message_pack(item, p);
  l->len = (size_t)(p - l->buf);
}

ProtobufCMessage *mascri_packed_list_finish(struct mascri_packed_list *l)
{
  Mascri__PackedBody *out = xmalloc(sizeof(*out));
  mascri__packed_body__init(out);
  out->body.data = l->buf;
  out->body.len = l->len;
  *l = (struct mascri_packed_list){0};
  return &out->base;
}
