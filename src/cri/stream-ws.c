/* WebSocket transport: not built yet. */
#include "cri/stream-internal.h"

#include <string.h>

int ss_ws_upgrade(struct ss_conn *c)
{
  const char *msg = "WebSocket streaming is not built yet: use SPDY/3.1\n";
  _cleanup_free_ char *r = NULL;
  (void)r;
  mascri_buf_append(&c->out,
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n",
                    strlen("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: "
                           "close\r\n"));
  mascri_buf_append(&c->out, "\r\n", 2);
  mascri_buf_append(&c->out, msg, strlen(msg));
  c->stage = SS_CLOSING;
  c->stage_deadline_ms = ss_now_ms() + 5000;
  return -1;
}
void ss_ws_read(struct ss_conn *c)
{
}
ssize_t ss_ws_send(struct ss_conn *c, int ch, const uint8_t *p, size_t n)
{
  return -1;
}
void ss_ws_close_chan(struct ss_conn *c, int ch)
{
}
void ss_ws_finish(struct ss_conn *c)
{
}
void ss_ws_free(struct ss_conn *c)
{
}
