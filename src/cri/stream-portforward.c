#include "cri/stream-internal.h"
static int pf_stream(struct ss_conn *c, uint32_t id, const struct mascri_spdy_headers *h)
{
  return -1;
}
static void pf_data(struct ss_conn *c, int ch, const uint8_t *p, size_t n)
{
}
const struct ss_proto ss_portforward_proto = {.spdy_stream = pf_stream, .data = pf_data};
void ss_portforward_begin(struct ss_conn *c)
{
  c->proto = &ss_portforward_proto;
}
