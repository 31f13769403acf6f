#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "cri/grpc.h"

static void status_mapping(void **state)
{
  (void)state;
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_NOT_FOUND), MASCRI_GRPC_NOT_FOUND);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_ALREADY_EXISTS),
                   MASCRI_GRPC_ALREADY_EXISTS);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_INVALID_ARGUMENT),
                   MASCRI_GRPC_INVALID_ARGUMENT);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_FAILED_PRECONDITION),
                   MASCRI_GRPC_FAILED_PRECONDITION);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_DEADLINE),
                   MASCRI_GRPC_DEADLINE_EXCEEDED);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_UNIMPLEMENTED),
                   MASCRI_GRPC_UNIMPLEMENTED);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_UNAVAILABLE), MASCRI_GRPC_UNAVAILABLE);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_PERMISSION_DENIED),
                   MASCRI_GRPC_PERMISSION_DENIED);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_RESOURCE_EXHAUSTED),
                   MASCRI_GRPC_RESOURCE_EXHAUSTED);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_CANCELLED), MASCRI_GRPC_CANCELLED);
  assert_int_equal(mascri_grpc_status_from_kind(MASCRI_ERR_INTERNAL), MASCRI_GRPC_INTERNAL);
  assert_int_equal(mascri_grpc_status_from_kind((mascri_error_kind_t)999), MASCRI_GRPC_INTERNAL);

  mascri_error_t err = NULL;
  assert_int_equal(mascri_grpc_status_from_error(NULL), MASCRI_GRPC_OK);
  assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_OK);
  mascri_make_error_kind(&err, MASCRI_ERR_NOT_FOUND, 0, "no such pod");
  assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_NOT_FOUND);
  mascri_make_error(&err, 5, "plain error");
  assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_INTERNAL);
  mascri_error_release(&err);

  assert_string_equal(mascri_grpc_status_name(MASCRI_GRPC_OK), "OK");
  assert_string_equal(mascri_grpc_status_name(MASCRI_GRPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  assert_string_equal(mascri_grpc_status_name(MASCRI_GRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
  assert_string_equal(mascri_grpc_status_name((mascri_grpc_status_t)77), "UNKNOWN");
}

static void frame_header(void **state)
{
  (void)state;
  uint8_t h[MASCRI_GRPC_FRAME_HEADER];
  mascri_grpc_frame_header(h, false, 0x01020304u);
  const uint8_t want[] = {0, 1, 2, 3, 4};
  assert_memory_equal(h, want, sizeof(want));
  mascri_grpc_frame_header(h, true, 5);
  const uint8_t want2[] = {1, 0, 0, 0, 5};
  assert_memory_equal(h, want2, sizeof(want2));
}

static size_t frame(uint8_t *out, const char *payload, size_t len)
{
  mascri_grpc_frame_header(out, false, (uint32_t)len);
  memcpy(out + MASCRI_GRPC_FRAME_HEADER, payload, len);
  return len + MASCRI_GRPC_FRAME_HEADER;
}

static void reader_whole_and_split(void **state)
{
  (void)state;
  uint8_t buf[64];
  size_t n = frame(buf, "hello world", 11);
  /* Every split point, including one byte at a time inside the prefix. */
  for (size_t cut = 0; cut <= n; cut++) {
    struct mascri_grpc_reader r;
    mascri_grpc_reader_init(&r, 1024);
    mascri_error_t err = NULL;
    assert_int_equal(mascri_grpc_reader_feed(&r, buf, cut, &err), 0);
    for (size_t i = cut; i < n; i++)
      assert_int_equal(mascri_grpc_reader_feed(&r, buf + i, 1, &err), 0);
    const uint8_t *msg;
    size_t len;
    assert_int_equal(mascri_grpc_reader_finish(&r, &msg, &len, &err), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(msg, "hello world", 11);
    mascri_grpc_reader_clear(&r);
  }
}

static void reader_empty_message(void **state)
{
  (void)state;
  struct mascri_grpc_reader r;
  mascri_grpc_reader_init(&r, 16);
  mascri_error_t err = NULL;
  const uint8_t *msg;
  size_t len = 99;
  /* No DATA at all: an empty request. */
  assert_int_equal(mascri_grpc_reader_finish(&r, &msg, &len, &err), 0);
  assert_int_equal(len, 0);
  /* A zero-length message. */
  uint8_t buf[8];
  size_t n = frame(buf, "", 0);
  assert_int_equal(mascri_grpc_reader_feed(&r, buf, n, &err), 0);
  assert_int_equal(mascri_grpc_reader_finish(&r, &msg, &len, &err), 0);
  assert_int_equal(len, 0);
  mascri_grpc_reader_clear(&r);
}

static void reader_errors(void **state)
{
  (void)state;
  struct mascri_grpc_reader r;
  mascri_error_t err = NULL;
  const uint8_t *msg;
  size_t len;
  uint8_t buf[64];

  /* Truncated prefix and truncated body. */
  mascri_grpc_reader_init(&r, 64);
  assert_int_equal(mascri_grpc_reader_feed(&r, (const uint8_t *)"\0\0", 2, &err), 0);
  assert_true(mascri_grpc_reader_finish(&r, &msg, &len, &err) < 0);
  mascri_grpc_reader_clear(&r);
  size_t n = frame(buf, "abcdef", 6);
  assert_int_equal(mascri_grpc_reader_feed(&r, buf, n - 2, &err), 0);
  assert_true(mascri_grpc_reader_finish(&r, &msg, &len, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "truncated"));
  mascri_grpc_reader_clear(&r);

  /* Compressed flag: UNIMPLEMENTED. */
  n = frame(buf, "abc", 3);
  buf[0] = 1;
  assert_int_equal(mascri_grpc_reader_feed(&r, buf, n, &err), 0);
  assert_true(mascri_grpc_reader_finish(&r, &msg, &len, &err) < 0);
  assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_UNIMPLEMENTED);
  mascri_grpc_reader_clear(&r);

  /* Two messages on a unary call. */
  n = frame(buf, "ab", 2);
  n += frame(buf + n, "cd", 2);
  assert_int_equal(mascri_grpc_reader_feed(&r, buf, n, &err), 0);
  assert_true(mascri_grpc_reader_finish(&r, &msg, &len, &err) < 0);
  mascri_grpc_reader_clear(&r);
  mascri_error_release(&err);
}

static void reader_too_large(void **state)
{
  (void)state;
  mascri_error_t err = NULL;
  struct mascri_grpc_reader r;
  uint8_t hdr[MASCRI_GRPC_FRAME_HEADER];

  /* The declared length alone is refused, before any body arrives. */
  mascri_grpc_reader_init(&r, 100);
  mascri_grpc_frame_header(hdr, false, 101);
  assert_true(mascri_grpc_reader_feed(&r, hdr, sizeof(hdr), &err) < 0);
  assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(mascri_error_message(&err), "101 vs. 100"));
  mascri_grpc_reader_clear(&r);

  /* Prefix split across chunks. */
  mascri_grpc_frame_header(hdr, false, 0xffffffffu);
  assert_int_equal(mascri_grpc_reader_feed(&r, hdr, 3, &err), 0);
  assert_true(mascri_grpc_reader_feed(&r, hdr + 3, 2, &err) < 0);
  assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_RESOURCE_EXHAUSTED);
  mascri_grpc_reader_clear(&r);

  /* Exactly max is fine; extra bytes after it are not. */
  uint8_t *big = xmalloc(100 + MASCRI_GRPC_FRAME_HEADER + 10);
  memset(big, 'x', 100 + MASCRI_GRPC_FRAME_HEADER + 10);
  mascri_grpc_frame_header(big, false, 100);
  assert_int_equal(mascri_grpc_reader_feed(&r, big, 100 + MASCRI_GRPC_FRAME_HEADER, &err), 0);
  assert_true(mascri_grpc_reader_feed(&r, big, 10, &err) < 0);
  assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_RESOURCE_EXHAUSTED);
  mascri_grpc_reader_clear(&r);
  free(big);
  mascri_error_release(&err);
}

static uint64_t timeout_ms(const char *v)
{
  uint64_t ms = 12345;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_grpc_parse_timeout(v, strlen(v), &ms, &err), 0);
  return ms;
}

static void timeout_parsing(void **state)
{
  (void)state;
  assert_int_equal(timeout_ms("1H"), 3600000);
  assert_int_equal(timeout_ms("2M"), 120000);
  assert_int_equal(timeout_ms("30S"), 30000);
  assert_int_equal(timeout_ms("250m"), 250);
  assert_int_equal(timeout_ms("1500u"), 2); /* rounded up */
  assert_int_equal(timeout_ms("1000u"), 1);
  assert_int_equal(timeout_ms("1n"), 1);
  assert_int_equal(timeout_ms("0m"), 0);
  assert_int_equal(timeout_ms("99999999S"), 99999999000ull);
  assert_int_equal(timeout_ms("99999999H"), 99999999ull * 3600000ull);

  const char *bad[] = {"", "S", "10", "10s", "10x", "-1S", "1 S", "123456789S", "1.5S", "m1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    mascri_error_t err = NULL;
    uint64_t ms;
    assert_true(mascri_grpc_parse_timeout(bad[i], strlen(bad[i]), &ms, &err) < 0);
    assert_int_equal(mascri_grpc_status_from_error(&err), MASCRI_GRPC_INVALID_ARGUMENT);
    mascri_error_release(&err);
  }
  /* Not NUL-terminated: only len bytes count. */
  uint64_t ms;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_grpc_parse_timeout("5Sgarbage", 2, &ms, &err), 0);
  assert_int_equal(ms, 5000);
}

static void percent_encoding(void **state)
{
  (void)state;
  char *s = mascri_grpc_percent_encode("plain text: ok");
  assert_string_equal(s, "plain text: ok");
  free(s);
  s = mascri_grpc_percent_encode("100% sure\nnext\tline");
  assert_string_equal(s, "100%25 sure%0Anext%09line");
  free(s);
  s = mascri_grpc_percent_encode("caf\xc3\xa9 \x7f~");
  assert_string_equal(s, "caf%C3%A9 %7F~");
  free(s);
  s = mascri_grpc_percent_encode("");
  assert_string_equal(s, "");
  free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(status_mapping),         cmocka_unit_test(frame_header),
      cmocka_unit_test(reader_whole_and_split), cmocka_unit_test(reader_empty_message),
      cmocka_unit_test(reader_errors),          cmocka_unit_test(reader_too_large),
      cmocka_unit_test(timeout_parsing),        cmocka_unit_test(percent_encoding),
  };
  return cmocka_run_group_tests_name("cri-grpc", tests, NULL, NULL);
}
