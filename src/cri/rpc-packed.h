/* List* responses packed by hand into one buffer, sent as a mascri.PackedBody (packed.proto):
 * each item is appended as field 1 (ListContainersResponse.containers,
 * ListPodSandboxResponse.items: a repeated message of field 1 on the wire) straight from a
 * message that may borrow its strings, so nothing but the buffer is allocated. */
#ifndef MASCRI_CRI_RPC_PACKED_H
#define MASCRI_CRI_RPC_PACKED_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

struct mascri_packed_list {
  uint8_t *buf; /* the gRPC frame header's room, then the items */
  size_t len, cap;
};

/* hint: the bytes expected (0: unknown); the buffer grows as needed. */
void mascri_packed_list_init(struct mascri_packed_list *l, size_t hint);
void mascri_packed_list_add(struct mascri_packed_list *l, const ProtobufCMessage *item);
/* The response (a heap mascri.PackedBody, rpc.h's rule) taking l's buffer; l is emptied. */
ProtobufCMessage *mascri_packed_list_finish(struct mascri_packed_list *l);
#endif
