/* The method table against the proto: every RuntimeService and ImageService method of
 * proto/api.proto has an entry with the right input type, and nothing else is served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api.pb-c.h"
#include "cri/methods.h"

static void check_service(const ProtobufCServiceDescriptor *svc, size_t *found)
{
  for (unsigned i = 0; i < svc->n_methods; i++) {
    const ProtobufCMethodDescriptor *m = &svc->methods[i];
    char path[256];
    snprintf(path, sizeof(path), "/%s/%s", svc->name, m->name);
    const struct mascri_rpc_method *e = mascri_cri_lookup(NULL, path);
    if (e == NULL)
      fail_msg("no table entry for %s", path);
    assert_ptr_equal(e->input, m->input);
    /* A method without a handler says why; one with a handler has no such message. */
    if (e->fn == NULL && !(e->flags & MASCRI_RPC_STREAM)) {
      assert_non_null(e->unimplemented_msg);
      assert_non_null(strstr(e->unimplemented_msg, m->name));
    } else {
      assert_null(e->unimplemented_msg);
    }
    (*found)++;
  }
}

static void every_proto_method_is_in_the_table(void **state)
{
  (void)state;
  size_t found = 0, n;
  check_service(&runtime__v1__runtime_service__descriptor, &found);
  check_service(&runtime__v1__image_service__descriptor, &found);
  mascri_cri_methods(&n);
  assert_int_equal(found, n);
}

static void streaming_and_fast_flags(void **state)
{
  (void)state;
  const struct mascri_rpc_method *e =
      mascri_cri_lookup(NULL, "/runtime.v1.RuntimeService/GetContainerEvents");
  assert_non_null(e);
  assert_true(e->flags & MASCRI_RPC_STREAM);
  const char *fast[] = {"Version",         "Status",           "ListPodSandbox", "ListContainers",
                        "ContainerStatus", "PodSandboxStatus", "RuntimeConfig"};
  for (size_t i = 0; i < sizeof(fast) / sizeof(fast[0]); i++) {
    char path[128];
    snprintf(path, sizeof(path), "/runtime.v1.RuntimeService/%s", fast[i]);
    assert_true(mascri_cri_lookup(NULL, path)->flags & MASCRI_RPC_FAST);
  }
  const char *slow[] = {"RunPodSandbox", "CreateContainer", "StopContainer", "ExecSync"};
  for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
    char path[128];
    snprintf(path, sizeof(path), "/runtime.v1.RuntimeService/%s", slow[i]);
    assert_false(mascri_cri_lookup(NULL, path)->flags & MASCRI_RPC_FAST);
  }
  assert_false(mascri_cri_lookup(NULL, "/runtime.v1.ImageService/PullImage")->flags &
               MASCRI_RPC_FAST);
  assert_true(mascri_cri_lookup(NULL, "/runtime.v1.ImageService/ImageFsInfo")->flags &
              MASCRI_RPC_FAST);
}

static void unknown_paths(void **state)
{
  (void)state;
  assert_null(mascri_cri_lookup(NULL, "/runtime.v1.RuntimeService/Nope"));
  assert_null(mascri_cri_lookup(NULL, "/runtime.v1alpha2.RuntimeService/Version"));
  assert_null(mascri_cri_lookup(NULL, "runtime.v1.RuntimeService/Version"));
  assert_null(mascri_cri_lookup(NULL, ""));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_proto_method_is_in_the_table),
      cmocka_unit_test(streaming_and_fast_flags),
      cmocka_unit_test(unknown_paths),
  };
  return cmocka_run_group_tests_name("cri-methods", tests, NULL, NULL);
}
