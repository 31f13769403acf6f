/* SPDY/3.1 codec (src/cri/stream-spdy.c): two sessions, a client and a server, talk to each
 * other through their output buffers; hand-made frames check what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "cri/stream-spdy.h"

/* What one side saw. */
struct seen {
  uint32_t syn_id, reply_id, fin_id, rst_id, rst_status, window_id;
  int syns, replies, fins, rsts, windows, goaways;
  struct mascri_spdy_headers h;
  struct mascri_buf data;
};

static void copy_headers(struct seen *s, const struct mascri_spdy_headers *h)
{
  mascri_spdy_headers_clear(&s->h);
  for (size_t i = 0; i < h->n; i++)
    mascri_spdy_headers_add(&s->h, h->names[i], h->values[i]);
}

static void on_syn(void *d, uint32_t id, const struct mascri_spdy_headers *h, bool fin)
{
  struct seen *s = d;
  s->syn_id = id;
  s->syns++;
  copy_headers(s, h);
}

static void on_reply(void *d, uint32_t id, const struct mascri_spdy_headers *h, bool fin)
{
  struct seen *s = d;
  s->reply_id = id;
  s->replies++;
  copy_headers(s, h);
}

static void on_data(void *d, uint32_t id, const uint8_t *p, size_t n)
{
  struct seen *s = d;
  mascri_buf_append(&s->data, p, n);
}

static void on_fin(void *d, uint32_t id)
{
  struct seen *s = d;
  s->fin_id = id;
  s->fins++;
}

static void on_rst(void *d, uint32_t id, uint32_t status)
{
  struct seen *s = d;
  s->rst_id = id;
  s->rst_status = status;
  s->rsts++;
}

static void on_goaway(void *d, uint32_t last, uint32_t status)
{
  struct seen *s = d;
  s->goaways++;
}

static void on_window(void *d, uint32_t id)
{
  struct seen *s = d;
  s->window_id = id;
  s->windows++;
}

static const struct mascri_spdy_callbacks cb = {
    .syn_stream = on_syn,
    .syn_reply = on_reply,
    .data = on_data,
    .fin = on_fin,
    .rst = on_rst,
    .goaway = on_goaway,
    .window = on_window,
};

static void seen_clear(struct seen *s)
{
  mascri_spdy_headers_clear(&s->h);
  mascri_buf_free(&s->data);
}

/* Moves everything `from` queued into `to`, in pieces of `step` bytes (0: at once). */
static int pass(struct mascri_spdy *from, struct mascri_spdy *to, size_t step)
{
  struct mascri_buf *b = mascri_spdy_out(from);
  mascri_error_t err = NULL;
  int r = 0;
  while (mascri_buf_size(b) > 0 && r == 0) {
    size_t n = step && step < mascri_buf_size(b) ? step : mascri_buf_size(b);
    r = mascri_spdy_feed(to, mascri_buf_head(b), n, &err);
    mascri_buf_consume(b, n);
  }
  mascri_error_release(&err);
  return r;
}

static int feed_raw(struct mascri_spdy *to, const uint8_t *p, size_t n)
{
  mascri_error_t err = NULL;
  int r = mascri_spdy_feed(to, p, n, &err);
  mascri_error_release(&err);
  return r;
}

/* The first frame queued by s: control type (or -1 for data) and, for RST/GOAWAY, the
 * status. */
static int first_frame(struct mascri_spdy *s, uint32_t *status)
{
  struct mascri_buf *b = mascri_spdy_out(s);
  if (mascri_buf_size(b) < 8)
    return 0;
  const uint8_t *p = mascri_buf_head(b);
  if (!(p[0] & 0x80))
    return -1;
  int type = p[2] << 8 | p[3];
  if (status && mascri_buf_size(b) >= 16)
    *status = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15];
  return type;
}

static void test_round_trip(void **state)
{
  struct seen cs = {0}, ss = {0};
  struct mascri_spdy *c = mascri_spdy_new(false, &cb, &cs);
  struct mascri_spdy *s = mascri_spdy_new(true, &cb, &ss);
  mascri_error_t err = NULL;
  for (int round = 0; round < 3; round++) { /* the compression contexts carry over */
    struct mascri_spdy_headers h = {0};
    mascri_spdy_headers_add(&h, "streamtype", round ? "stdout" : "error");
    mascri_spdy_headers_add(&h, "requestid", "7");
    uint32_t id;
    assert_int_equal(mascri_spdy_syn_stream(c, &h, false, &id, &err), 0);
    assert_int_equal(id, 1 + 2 * round);
    assert_int_equal(pass(c, s, round == 1 ? 1 : 0), 0); /* round 1: byte by byte */
    assert_int_equal(ss.syns, round + 1);
    assert_int_equal(ss.syn_id, id);
    assert_string_equal(mascri_spdy_headers_get(&ss.h, "streamtype"), round ? "stdout" : "error");
    assert_string_equal(mascri_spdy_headers_get(&ss.h, "requestid"), "7");
    mascri_spdy_headers_clear(&h);
    mascri_spdy_headers_add(&h, "x", "y");
    assert_int_equal(mascri_spdy_syn_reply(s, id, &h, false, &err), 0);
    mascri_spdy_headers_clear(&h);
    assert_int_equal(pass(s, c, 0), 0);
    assert_int_equal(cs.reply_id, id);
    assert_string_equal(mascri_spdy_headers_get(&cs.h, "x"), "y");
    /* Data both ways, then FIN from both: the stream is forgotten. */
    assert_int_equal(mascri_spdy_send_data(c, id, (const uint8_t *)"hello", 5, true), 5);
    assert_int_equal(pass(c, s, 3), 0);
    assert_int_equal(mascri_buf_size(&ss.data), 5);
    assert_memory_equal(mascri_buf_head(&ss.data), "hello", 5);
    assert_int_equal(ss.fin_id, id);
    assert_true(mascri_spdy_stream_exists(s, id));
    mascri_buf_consume(&ss.data, 5);
    mascri_spdy_close_stream(s, id);
    assert_false(mascri_spdy_stream_exists(s, id));
    assert_int_equal(pass(s, c, 0), 0);
    assert_int_equal(cs.fin_id, id);
    assert_false(mascri_spdy_stream_exists(c, id));
  }
  /* PING from the client is echoed; the server's own ping ids are even. */
  mascri_spdy_ping(c, 5);
  assert_int_equal(pass(c, s, 0), 0);
  assert_int_equal(first_frame(s, NULL), MASCRI_SPDY_PING);
  assert_int_equal(pass(s, c, 0), 0);
  /* RST from the peer ends the stream there. */
  struct mascri_spdy_headers h = {0};
  mascri_spdy_headers_add(&h, "streamtype", "stdin");
  uint32_t id;
  assert_int_equal(mascri_spdy_syn_stream(c, &h, false, &id, &err), 0);
  mascri_spdy_headers_clear(&h);
  assert_int_equal(pass(c, s, 0), 0);
  mascri_spdy_rst_stream(c, id, MASCRI_SPDY_CANCEL);
  assert_int_equal(pass(c, s, 0), 0);
  assert_int_equal(ss.rst_id, id);
  assert_int_equal(ss.rst_status, MASCRI_SPDY_CANCEL);
  assert_false(mascri_spdy_stream_exists(s, id));
  mascri_spdy_goaway(s, 0);
  assert_int_equal(pass(s, c, 0), 0);
  assert_int_equal(cs.goaways, 1);
  mascri_spdy_free(c);
  mascri_spdy_free(s);
  seen_clear(&cs);
  seen_clear(&ss);
}

/* A SYN_STREAM frame with a raw (uncompressed by the peer's context) block. */
static size_t syn_frame(uint8_t *out, uint16_t version, uint32_t id, const uint8_t *block, size_t n)
{
  size_t len = 10 + n;
  uint8_t f[8] = {0x80 | (version >> 8), version & 0xff,      0,           1, 0,
                  (uint8_t)(len >> 16),  (uint8_t)(len >> 8), (uint8_t)len};
  memcpy(out, f, 8);
  out[8] = (uint8_t)(id >> 24);
  out[9] = (uint8_t)(id >> 16);
  out[10] = (uint8_t)(id >> 8);
  out[11] = (uint8_t)id;
  memset(out + 12, 0, 6);
  memcpy(out + 18, block, n);
  return 8 + len;
}

static void test_bad_frames(void **state)
{
  struct seen ss = {0};
  uint8_t buf[256];
  uint32_t status = 0;
  /* Another SPDY version: the stream is refused with UNSUPPORTED_VERSION. */
  struct mascri_spdy *s = mascri_spdy_new(true, &cb, &ss);
  size_t n = syn_frame(buf, 2, 1, (const uint8_t *)"xx", 2);
  assert_int_equal(feed_raw(s, buf, n), 0);
  assert_int_equal(first_frame(s, &status), MASCRI_SPDY_RST_STREAM);
  assert_int_equal(status, MASCRI_SPDY_UNSUPPORTED_VERSION);
  assert_int_equal(ss.syns, 0);
  mascri_spdy_free(s);
  /* A header block that is not zlib: session error, GOAWAY PROTOCOL_ERROR, input refused. */
  s = mascri_spdy_new(true, &cb, &ss);
  n = syn_frame(buf, 3, 1, (const uint8_t *)"garbage!", 8);
  assert_int_equal(feed_raw(s, buf, n), -1);
  assert_int_equal(first_frame(s, &status), MASCRI_SPDY_GOAWAY);
  assert_int_equal(feed_raw(s, buf, n), -1);
  mascri_spdy_free(s);
  /* An even (server-side) stream id from a client. */
  struct seen cs = {0};
  struct mascri_spdy *c = mascri_spdy_new(true /* pretends to be a server */, &cb, &cs);
  s = mascri_spdy_new(true, &cb, &ss);
  struct mascri_spdy_headers h = {0};
  mascri_spdy_headers_add(&h, "a", "b");
  uint32_t id;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_spdy_syn_stream(c, &h, false, &id, &err), 0);
  assert_int_equal(id, 2);
  assert_int_equal(pass(c, s, 0), -1);
  assert_int_equal(first_frame(s, NULL), MASCRI_SPDY_GOAWAY);
  mascri_spdy_free(c);
  mascri_spdy_free(s);
  /* Upper-case header names are invalid in SPDY/3. */
  c = mascri_spdy_new(false, &cb, &cs);
  s = mascri_spdy_new(true, &cb, &ss);
  mascri_spdy_headers_clear(&h);
  mascri_spdy_headers_add(&h, "StreamType", "error");
  assert_int_equal(mascri_spdy_syn_stream(c, &h, false, &id, &err), 0);
  assert_int_equal(pass(c, s, 0), -1);
  mascri_spdy_free(c);
  mascri_spdy_free(s);
  mascri_spdy_headers_clear(&h);
  /* A control frame longer than the limit. */
  s = mascri_spdy_new(true, &cb, &ss);
  uint8_t big[8] = {0x80, 3, 0, 1, 0, 0x10, 0, 0}; /* 1 MiB SYN_STREAM */
  assert_int_equal(feed_raw(s, big, 8), -1);
  mascri_spdy_free(s);
  /* Data on a stream never opened: RST INVALID_STREAM; the session lives on. */
  s = mascri_spdy_new(true, &cb, &ss);
  uint8_t data[12] = {0, 0, 0, 9, 0, 0, 0, 4, 'a', 'b', 'c', 'd'};
  assert_int_equal(feed_raw(s, data, sizeof(data)), 0);
  assert_int_equal(first_frame(s, &status), MASCRI_SPDY_RST_STREAM);
  assert_int_equal(status, MASCRI_SPDY_INVALID_STREAM);
  assert_int_equal(mascri_buf_size(&ss.data), 0);
  /* Bad lengths of fixed-size frames. */
  uint8_t ping[11] = {0x80, 3, 0, 6, 0, 0, 0, 3, 1, 2, 3};
  assert_int_equal(feed_raw(s, ping, sizeof(ping)), -1);
  mascri_spdy_free(s);
  /* Unknown control frame types are ignored. */
  s = mascri_spdy_new(true, &cb, &ss);
  uint8_t unknown[12] = {0x80, 3, 0, 42, 0, 0, 0, 4, 1, 2, 3, 4};
  assert_int_equal(feed_raw(s, unknown, sizeof(unknown)), 0);
  assert_int_equal(mascri_buf_size(mascri_spdy_out(s)), 0);
  mascri_spdy_free(s);
  seen_clear(&cs);
  seen_clear(&ss);
}

static uint32_t open_stream(struct mascri_spdy *c, struct mascri_spdy *s)
{
  struct mascri_spdy_headers h = {0};
  mascri_spdy_headers_add(&h, "streamtype", "stdout");
  uint32_t id;
  mascri_error_t err = NULL;
  assert_int_equal(mascri_spdy_syn_stream(c, &h, false, &id, &err), 0);
  assert_int_equal(pass(c, s, 0), 0);
  assert_int_equal(mascri_spdy_syn_reply(s, id, &h, false, &err), 0);
  assert_int_equal(pass(s, c, 0), 0);
  mascri_spdy_headers_clear(&h);
  return id;
}

static void test_flow_control(void **state)
{
  struct seen cs = {0}, ss = {0};
  struct mascri_spdy *c = mascri_spdy_new(false, &cb, &cs);
  struct mascri_spdy *s = mascri_spdy_new(true, &cb, &ss);
  uint32_t id = open_stream(c, s);
  static uint8_t payload[200000];
  /* A peer that never did flow control (Go's spdystream): nothing held back. */
  assert_false(mascri_spdy_peer_flow_control(s));
  assert_int_equal(mascri_spdy_send_data(s, id, payload, sizeof(payload), false), sizeof(payload));
  assert_int_equal(pass(s, c, 0), 0);
  assert_int_equal(mascri_buf_size(&cs.data), sizeof(payload));
  mascri_buf_consume(&cs.data, sizeof(payload));
  /* The client reports what it consumed: WINDOW_UPDATEs go out once half a window is due,
   * and from then on the server enforces the windows. */
  mascri_spdy_consumed(c, id, 1000);
  assert_int_equal(mascri_buf_size(mascri_spdy_out(c)), 0);
  mascri_spdy_consumed(c, id, sizeof(payload) - 1000);
  assert_int_equal(first_frame(c, NULL), MASCRI_SPDY_WINDOW_UPDATE);
  assert_int_equal(pass(c, s, 0), 0);
  assert_true(mascri_spdy_peer_flow_control(s));
  assert_true(ss.windows >= 1);
  /* Window: 65536 - 200000 + 200000 (stream and session) = 65536. */
  assert_int_equal(mascri_spdy_send_window(s, id), 65536);
  assert_int_equal(mascri_spdy_send_data(s, id, payload, 100000, false), 65536);
  assert_int_equal(mascri_spdy_send_window(s, id), 0);
  assert_int_equal(mascri_spdy_send_data(s, id, payload, 10, false), 0);
  assert_int_equal(pass(s, c, 0), 0);
  mascri_spdy_consumed(c, id, 40000);
  assert_int_equal(pass(c, s, 0), 0);
  assert_int_equal(mascri_spdy_send_window(s, id), 40000);
  /* A smaller INITIAL_WINDOW_SIZE lowers every stream's window. */
  mascri_spdy_settings(c, MASCRI_SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 65536 - 30000);
  assert_int_equal(pass(c, s, 0), 0);
  assert_int_equal(mascri_spdy_send_window(s, id), 10000);
  /* A window pushed past 2^31-1 is a stream error. */
  uint8_t wu[16] = {0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, (uint8_t)id, 0x7f, 0xff, 0xff, 0xff};
  assert_int_equal(feed_raw(s, wu, sizeof(wu)), 0);
  uint32_t status = 0;
  mascri_buf_consume(mascri_spdy_out(s), mascri_buf_size(mascri_spdy_out(s)) - 16);
  assert_int_equal(first_frame(s, &status), MASCRI_SPDY_RST_STREAM);
  assert_int_equal(status, MASCRI_SPDY_FLOW_CONTROL_ERROR);
  assert_false(mascri_spdy_stream_exists(s, id));
  mascri_spdy_free(c);
  mascri_spdy_free(s);
  seen_clear(&cs);
  seen_clear(&ss);
}

/* A peer doing flow control that sends past the window this side advertised. */
static void test_receive_window_enforced(void **state)
{
  struct seen cs = {0}, ss = {0};
  struct mascri_spdy *c = mascri_spdy_new(false, &cb, &cs);
  struct mascri_spdy *s = mascri_spdy_new(true, &cb, &ss);
  uint32_t id = open_stream(c, s);
  /* The client shows it does flow control. */
  mascri_spdy_consumed(c, 0, 40000);
  assert_int_equal(pass(c, s, 0), 0);
  assert_true(mascri_spdy_peer_flow_control(s));
  static uint8_t payload[70000];
  /* The client codec itself never sends more than allowed: forge it by hand. */
  uint8_t hdr[8] = {0, 0, 0, (uint8_t)id, 0, 0x01, 0x11, 0x70}; /* 70000 bytes */
  assert_int_equal(feed_raw(s, hdr, 8), 0);
  assert_int_equal(feed_raw(s, payload, sizeof(payload)), 0);
  uint32_t status = 0;
  assert_int_equal(first_frame(s, &status), MASCRI_SPDY_RST_STREAM);
  assert_int_equal(status, MASCRI_SPDY_FLOW_CONTROL_ERROR);
  assert_int_equal(ss.rsts, 1);
  assert_int_equal(mascri_buf_size(&ss.data), 0);
  mascri_spdy_free(c);
  mascri_spdy_free(s);
  seen_clear(&cs);
  seen_clear(&ss);
}

/* A header block that inflates past the limit is refused, with bounded memory. */
static void test_header_bomb(void **state)
{
  struct seen ss = {0};
  struct mascri_spdy *s = mascri_spdy_new(true, &cb, &ss);
  size_t raw_len = 4 * 1024 * 1024;
  uint8_t *raw = xmalloc0(raw_len);
  uLongf zlen = compressBound(raw_len);
  uint8_t *z = xmalloc(zlen);
  /* Any zlib stream (without the dictionary) is a bad block or a huge one: both refused. */
  assert_int_equal(compress2(z, &zlen, raw, raw_len, 9), Z_OK);
  assert_true(zlen < MASCRI_SPDY_MAX_CONTROL_FRAME);
  uint8_t *frame = xmalloc(18 + zlen);
  size_t n = syn_frame(frame, 3, 1, z, zlen);
  assert_int_equal(feed_raw(s, frame, n), -1);
  assert_int_equal(ss.syns, 0);
  free(frame);
  free(z);
  free(raw);
  mascri_spdy_free(s);
  seen_clear(&ss);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_bad_frames),
      cmocka_unit_test(test_flow_control), cmocka_unit_test(test_receive_window_enforced),
      cmocka_unit_test(test_header_bomb),
  };
  return cmocka_run_group_tests_name("cri-spdy", tests, NULL, NULL);
}
