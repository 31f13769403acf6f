/* libFuzzer target for the SPDY/3.1 codec (src/cri/stream-spdy.c): arbitrary bytes from a
 * client into a server session; the callbacks answer like the streaming server does
 * (SYN_REPLY, consumed data, closing on FIN) so those paths are fuzzed too.
 * Build and run: tests/fuzz/build.sh && build-fuzz/fuzz-spdy -max_total_time=60 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/error.h"
#include "cri/stream-spdy.h"

static struct mascri_spdy *cur;

static void on_syn(void *d, uint32_t id, const struct mascri_spdy_headers *h, bool fin)
{
  mascri_error_t err = NULL;
  struct mascri_spdy_headers none = {0};
  if (mascri_spdy_headers_get(h, "streamtype"))
    mascri_spdy_syn_reply(cur, id, &none, false, &err);
  else
    mascri_spdy_rst_stream(cur, id, MASCRI_SPDY_REFUSED_STREAM);
  mascri_error_release(&err);
}

static void on_data(void *d, uint32_t id, const uint8_t *p, size_t n)
{
  mascri_spdy_consumed(cur, id, n);
  mascri_spdy_send_data(cur, id, p, n, false);
}

static void on_fin(void *d, uint32_t id)
{
  mascri_spdy_close_stream(cur, id);
}

static const struct mascri_spdy_callbacks cb = {
    .syn_stream = on_syn,
    .data = on_data,
    .fin = on_fin,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cur = mascri_spdy_new(true, &cb, NULL);
  mascri_error_t err = NULL;
  /* Two feeds: frames split at an arbitrary point. */
  size_t cut = size ? data[0] % (size + 1) : 0;
  if (mascri_spdy_feed(cur, data, cut, &err) == 0)
    mascri_spdy_feed(cur, data + cut, size - cut, &err);
  mascri_error_release(&err);
  mascri_buf_consume(mascri_spdy_out(cur), mascri_buf_size(mascri_spdy_out(cur)));
  mascri_spdy_free(cur);
  return 0;
}
