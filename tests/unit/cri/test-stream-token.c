/* The streaming request cache (src/cri/stream-token.c): single use, expiry, kind, bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "cri/stream-token.h"

static struct mascri_stream_req *req(mascri_stream_kind_t kind, const char *id)
{
  struct mascri_stream_req *r = xmalloc0(sizeof(*r));
  r->kind = kind;
  r->id = xstrdup(id);
  return r;
}

static void test_single_use(void **state)
{
  struct mascri_stream_tokens *t = mascri_stream_tokens_new(60000, 10);
  char a[MASCRI_STREAM_TOKEN_LEN + 1], b[MASCRI_STREAM_TOKEN_LEN + 1];
  mascri_error_t err = NULL;
  assert_int_equal(mascri_stream_tokens_insert(t, req(MASCRI_STREAM_EXEC, "c1"), a, &err), 0);
  assert_int_equal(mascri_stream_tokens_insert(t, req(MASCRI_STREAM_ATTACH, "c2"), b, &err), 0);
  assert_int_equal(strlen(a), MASCRI_STREAM_TOKEN_LEN);
  assert_string_not_equal(a, b);
  for (const char *p = a; *p; p++)
    assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
  /* The wrong kind does not spend it. */
  assert_null(mascri_stream_tokens_take(t, a, MASCRI_STREAM_ATTACH));
  struct mascri_stream_req *r = mascri_stream_tokens_take(t, a, MASCRI_STREAM_EXEC);
  assert_non_null(r);
  assert_string_equal(r->id, "c1");
  mascri_stream_req_free(r);
  assert_null(mascri_stream_tokens_take(t, a, MASCRI_STREAM_EXEC));
  assert_null(mascri_stream_tokens_take(t, "short", MASCRI_STREAM_EXEC));
  assert_int_equal(mascri_stream_tokens_count(t), 1);
  mascri_stream_tokens_free(t);
}

static void test_expiry_and_bound(void **state)
{
  struct mascri_stream_tokens *t = mascri_stream_tokens_new(100, 3);
  char tok[4][MASCRI_STREAM_TOKEN_LEN + 1];
  mascri_error_t err = NULL;
  for (int i = 0; i < 3; i++)
    assert_int_equal(mascri_stream_tokens_insert(t, req(MASCRI_STREAM_EXEC, "c"), tok[i], &err), 0);
  assert_true(mascri_stream_tokens_insert(t, req(MASCRI_STREAM_EXEC, "c"), tok[3], &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_RESOURCE_EXHAUSTED);
  mascri_error_release(&err);
  usleep(150 * 1000);
  assert_null(mascri_stream_tokens_take(t, tok[0], MASCRI_STREAM_EXEC));
  assert_int_equal(mascri_stream_tokens_count(t), 0);
  /* Expired ones make room. */
  assert_int_equal(mascri_stream_tokens_insert(t, req(MASCRI_STREAM_EXEC, "c"), tok[3], &err), 0);
  mascri_stream_tokens_free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_use),
      cmocka_unit_test(test_expiry_and_bound),
  };
  return cmocka_run_group_tests_name("cri-stream-token", tests, NULL, NULL);
}
