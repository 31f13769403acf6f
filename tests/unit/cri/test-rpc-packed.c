/* List* responses packed by hand into one buffer: the body after the frame header's room is
 * a ListContainersResponse (or ListPodSandboxResponse) the client decodes item for item. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "cri/grpc.h"
#include "cri/rpc-ctr-msg.h"
#include "cri/rpc-packed.h"
#include "cri/rpc-pod-msg.h"
#include "packed.pb-c.h"

/* The body of a finished list (frame header's room skipped); *resp keeps it alive. */
static const uint8_t *body_of(struct mascri_packed_list *l, ProtobufCMessage **resp, size_t *len)
{
  *resp = mascri_packed_list_finish(l);
  assert_ptr_equal((*resp)->descriptor, &mascri__packed_body__descriptor);
  const Mascri__PackedBody *b = (const Mascri__PackedBody *)*resp;
  assert_true(b->body.len >= MASCRI_GRPC_FRAME_HEADER);
  *len = b->body.len - MASCRI_GRPC_FRAME_HEADER;
  return b->body.data + MASCRI_GRPC_FRAME_HEADER;
}

static void test_empty(void **state)
{
  (void)state;
  struct mascri_packed_list l;
  mascri_packed_list_init(&l, 0);
  ProtobufCMessage *resp;
  size_t len;
  const uint8_t *body = body_of(&l, &resp, &len);
  assert_int_equal(len, 0);
  Runtime__V1__ListContainersResponse *r =
      runtime__v1__list_containers_response__unpack(NULL, len, body);
  assert_non_null(r);
  assert_int_equal(r->n_containers, 0);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  protobuf_c_message_free_unpacked(resp, NULL);
}

/* Containers with and without config maps, long strings (a two-byte item length) and
 * enough of them to grow the buffer from a small hint, each decoded as it was given. */
static void test_containers(void **state)
{
  (void)state;
  enum { N = 300 };
  struct mascri_ctr_config *cfg = mascri_ctr_config_new();
  mascri_kv_list_add(&cfg->labels, "app", "x");
  mascri_kv_list_add(&cfg->annotations, "empty", "");
  mascri_kv_list_add(&cfg->image.annotations, "a", "b");
  cfg->image.user_specified_image = xstrdup("busybox");
  char long_name[300];
  memset(long_name, 'n', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  struct mascri_packed_list l;
  mascri_packed_list_init(&l, 64);
  for (int i = 0; i < N; i++) {
    char id[16];
    snprintf(id, sizeof(id), "c%d", i);
    struct mascri_ctr_info in = {
        .id = id,
        .pod_id = "pod",
        .name = i % 3 == 0 ? long_name : "sleeper",
        .attempt = (uint32_t)i,
        .image_ref = "registry/busybox:1",
        .image_id = "sha256:abc",
        .state = (mascri_ctr_state_t)(i % 4),
        .created_at = 1000 + i,
        .config = i % 2 ? cfg : NULL,
    };
    mascri_ctr_list_item_add(&l, &in, i % 5 ? "registry/busybox@sha256:def" : NULL);
  }
  ProtobufCMessage *resp;
  size_t len;
  const uint8_t *body = body_of(&l, &resp, &len);
  Runtime__V1__ListContainersResponse *r =
      runtime__v1__list_containers_response__unpack(NULL, len, body);
  assert_non_null(r);
  assert_int_equal(r->n_containers, N);
  for (int i = 0; i < N; i++) {
    const Runtime__V1__Container *c = r->containers[i];
    char id[16];
    snprintf(id, sizeof(id), "c%d", i);
    assert_string_equal(c->id, id);
    assert_string_equal(c->pod_sandbox_id, "pod");
    assert_string_equal(c->metadata->name, i % 3 == 0 ? long_name : "sleeper");
    assert_int_equal(c->metadata->attempt, i);
    assert_string_equal(c->image->image, "registry/busybox:1");
    assert_string_equal(c->image->user_specified_image, i % 2 ? "busybox" : "registry/busybox:1");
    assert_string_equal(c->image_ref, i % 5 ? "registry/busybox@sha256:def" : "sha256:abc");
    assert_string_equal(c->image_id, "sha256:abc");
    assert_int_equal(c->state, i % 4);
    assert_int_equal(c->created_at, 1000 + i);
    assert_int_equal(c->n_labels, i % 2);
    assert_int_equal(c->n_annotations, i % 2);
    assert_int_equal(c->image->n_annotations, i % 2);
    if (i % 2) {
      assert_string_equal(c->labels[0]->key, "app");
      assert_string_equal(c->labels[0]->value, "x");
      assert_string_equal(c->annotations[0]->key, "empty");
      assert_string_equal(c->annotations[0]->value, "");
      assert_string_equal(c->image->annotations[0]->value, "b");
    }
  }
  protobuf_c_message_free_unpacked(&r->base, NULL);
  protobuf_c_message_free_unpacked(resp, NULL);
  mascri_ctr_config_free(cfg);
}

static void test_pods(void **state)
{
  (void)state;
  struct mascri_packed_list l;
  mascri_packed_list_init(&l, 0);
  struct mascri_pod_info a = {.id = "p1",
                              .name = "one",
                              .namespace_ = "ns",
                              .uid = "u1",
                              .ready = true,
                              .created_at = 7,
                              .runtime_handler = "runc"};
  struct mascri_pod_info b = {.id = "p2", .name = "two", .namespace_ = "ns", .uid = "u2"};
  mascri_pod_list_item_add(&l, &a);
  mascri_pod_list_item_add(&l, &b);
  ProtobufCMessage *resp;
  size_t len;
  const uint8_t *body = body_of(&l, &resp, &len);
  Runtime__V1__ListPodSandboxResponse *r =
      runtime__v1__list_pod_sandbox_response__unpack(NULL, len, body);
  assert_non_null(r);
  assert_int_equal(r->n_items, 2);
  assert_string_equal(r->items[0]->id, "p1");
  assert_string_equal(r->items[0]->metadata->uid, "u1");
  assert_int_equal(r->items[0]->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
  assert_int_equal(r->items[0]->created_at, 7);
  assert_string_equal(r->items[0]->runtime_handler, "runc");
  assert_string_equal(r->items[1]->metadata->name, "two");
  assert_int_equal(r->items[1]->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  protobuf_c_message_free_unpacked(resp, NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_containers),
      cmocka_unit_test(test_pods),
  };
  return cmocka_run_group_tests_name("cri-rpc-packed", tests, NULL, NULL);
}
