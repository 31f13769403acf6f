/* SPDY/3.1 framing: frame parsing and building, header block compression, stream states
 * and flow-control windows (see stream-spdy.h for the rules). */
#include "cri/stream-spdy.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/xalloc.h"

/* The SPDY/3 header compression dictionary (spec section 2.6.10.1): length-prefixed
 * header names and common values, then a run of status codes, dates and media types. */
/* Any window is valid for the peer's inflate (it accepts every size up to 15 bits); the
 * SPDY/3 dictionary (1.4 KiB) fits in 2 KiB. */
#define DEFLATE_WINDOW_BITS 11
#define DEFLATE_MEM_LEVEL 1

static const char dictionary[] =
    "\0\0\0\7"
    "options"
    "\0\0\0\4"
    "head"
    "\0\0\0\4"
    "post"
    "\0\0\0\3"
    "put"
    "\0\0\0\6"
    "delete"
    "\0\0\0\5"
    "trace"
    "\0\0\0\6"
    "accept"
    "\0\0\0\16"
    "accept-charset"
    "\0\0\0\17"
    "accept-encoding"
    "\0\0\0\17"
    "accept-language"
    "\0\0\0\15"
    "accept-ranges"
    "\0\0\0\3"
    "age"
    "\0\0\0\5"
    "allow"
    "\0\0\0\15"
    "authorization"
    "\0\0\0\15"
    "cache-control"
    "\0\0\0\12"
    "connection"
    "\0\0\0\14"
    "content-base"
    "\0\0\0\20"
    "content-encoding"
    "\0\0\0\20"
    "content-language"
    "\0\0\0\16"
    "content-length"
    "\0\0\0\20"
    "content-location"
    "\0\0\0\13"
    "content-md5"
    "\0\0\0\15"
    "content-range"
    "\0\0\0\14"
    "content-type"
    "\0\0\0\4"
    "date"
    "\0\0\0\4"
    "etag"
    "\0\0\0\6"
    "expect"
    "\0\0\0\7"
    "expires"
    "\0\0\0\4"
    "from"
    "\0\0\0\4"
    "host"
    "\0\0\0\10"
    "if-match"
    "\0\0\0\21"
    "if-modified-since"
    "\0\0\0\15"
    "if-none-match"
    "\0\0\0\10"
    "if-range"
    "\0\0\0\23"
    "if-unmodified-since"
    "\0\0\0\15"
    "last-modified"
    "\0\0\0\10"
    "location"
    "\0\0\0\14"
    "max-forwards"
    "\0\0\0\6"
    "pragma"
    "\0\0\0\22"
    "proxy-authenticate"
    "\0\0\0\23"
    "proxy-authorization"
    "\0\0\0\5"
    "range"
    "\0\0\0\7"
    "referer"
    "\0\0\0\13"
    "retry-after"
    "\0\0\0\6"
    "server"
    "\0\0\0\2"
    "te"
    "\0\0\0\7"
    "trailer"
    "\0\0\0\21"
    "transfer-encoding"
    "\0\0\0\7"
    "upgrade"
    "\0\0\0\12"
    "user-agent"
    "\0\0\0\4"
    "vary"
    "\0\0\0\3"
    "via"
    "\0\0\0\7"
    "warning"
    "\0\0\0\20"
    "www-authenticate"
    "\0\0\0\6"
    "method"
    "\0\0\0\3"
    "get"
    "\0\0\0\6"
    "status"
    "\0\0\0\6"
    "200 OK"
    "\0\0\0\7"
    "version"
    "\0\0\0\10"
    "HTTP/1.1"
    "\0\0\0\3"
    "url"
    "\0\0\0\6"
    "public"
    "\0\0\0\12"
    "set-cookie"
    "\0\0\0\12"
    "keep-alive"
    "\0\0\0\6"
    "origin"
    "10010120120220520630030230330430530630740240540640740840941041141241341441541641"
    "7502504505203 Non-Authoritative Information204 No Content301 Moved Permanently40"
    "0 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept O"
    "ct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,imag"
    "e/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/"
    "javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1"
    ",utf-,*,enq=0.";

#define SPDY_VERSION 3
#define FLAG_FIN 0x01
#define FLAG_UNIDIRECTIONAL 0x02
#define DATA_CHUNK 16384
#define MAX_WINDOW 0x7fffffff

struct stream {
  uint32_t id;
  int64_t send_window, recv_window;
  uint32_t recv_unacked;
  bool local_fin, remote_fin;
};

struct mascri_spdy {
  bool server;
  const struct mascri_spdy_callbacks *cb;
  void *data;
  struct mascri_buf out;
  z_stream deflate, inflate;
  bool deflate_ok, inflate_ok;

  struct stream *streams;
  size_t n_streams, cap_streams;
  uint32_t last_peer_id, next_id;

  int64_t session_send_window, session_recv_window;
  uint32_t session_unacked;
  uint32_t peer_initial_window;
  bool peer_fc;
  bool dead; /* a session error happened: ignore further input */

  /* Parser state. */
  uint8_t hdr[8];
  size_t hdr_len;
  struct mascri_buf ctrl; /* control frame payload being gathered */
  size_t ctrl_left;       /* bytes of the control frame still to come */
  uint16_t ctrl_type;
  uint8_t ctrl_flags;
  uint16_t ctrl_version;
  bool in_data;
  uint32_t data_id;
  size_t data_left;
  uint8_t data_flags;
};

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* ---- headers ---- */

const char *mascri_spdy_headers_get(const struct mascri_spdy_headers *h, const char *name)
{
  for (size_t i = 0; i < h->n; i++)
    if (strcmp(h->names[i], name) == 0)
      return h->values[i];
  return NULL;
}

void mascri_spdy_headers_add(struct mascri_spdy_headers *h, const char *name, const char *value)
{
  h->names = xrealloc(h->names, (h->n + 1) * sizeof(char *));
  h->values = xrealloc(h->values, (h->n + 1) * sizeof(char *));
  h->names[h->n] = xstrdup(name);
  h->values[h->n] = xstrdup(value);
  h->n++;
}

void mascri_spdy_headers_clear(struct mascri_spdy_headers *h)
{
  for (size_t i = 0; i < h->n; i++) {
    free(h->names[i]);
    free(h->values[i]);
  }
  free(h->names);
  free(h->values);
  *h = (struct mascri_spdy_headers){0};
}

/* ---- session ---- */

struct mascri_spdy *mascri_spdy_new(bool server, const struct mascri_spdy_callbacks *cb, void *data)
{
  struct mascri_spdy *s = xmalloc0(sizeof(*s));
  s->server = server;
  s->cb = cb;
  s->data = data;
  s->next_id = server ? 2 : 1;
  s->session_send_window = s->session_recv_window = MASCRI_SPDY_DEFAULT_WINDOW;
  s->peer_initial_window = MASCRI_SPDY_DEFAULT_WINDOW;
  /* Best compression as the Go framer uses, in a small window: header blocks are a few
   * hundred bytes, and the default state (15-bit window, memLevel 8: 256 KiB, a third of it
   * touched at once) cost ~100 kB of RSS per connection, most of an idle stream's. */
  if (deflateInit2(&s->deflate, Z_BEST_COMPRESSION, Z_DEFLATED, DEFLATE_WINDOW_BITS,
                   DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) == Z_OK) {
    s->deflate_ok = true;
    deflateSetDictionary(&s->deflate, (const Bytef *)dictionary, sizeof(dictionary) - 1);
  }
  if (inflateInit(&s->inflate) == Z_OK)
    s->inflate_ok = true;
  return s;
}

void mascri_spdy_free(struct mascri_spdy *s)
{
  if (s == NULL)
    return;
  if (s->deflate_ok)
    deflateEnd(&s->deflate);
  if (s->inflate_ok)
    inflateEnd(&s->inflate);
  mascri_buf_free(&s->out);
  mascri_buf_free(&s->ctrl);
  free(s->streams);
  free(s);
}

struct mascri_buf *mascri_spdy_out(struct mascri_spdy *s)
{
  return &s->out;
}

bool mascri_spdy_peer_flow_control(struct mascri_spdy *s)
{
  return s->peer_fc;
}

static struct stream *find(struct mascri_spdy *s, uint32_t id)
{
  for (size_t i = 0; i < s->n_streams; i++)
    if (s->streams[i].id == id)
      return &s->streams[i];
  return NULL;
}

static struct stream *add_stream(struct mascri_spdy *s, uint32_t id)
{
  if (s->n_streams == s->cap_streams) {
    s->cap_streams = s->cap_streams ? s->cap_streams * 2 : 8;
    s->streams = xrealloc(s->streams, s->cap_streams * sizeof(*s->streams));
  }
  struct stream *st = &s->streams[s->n_streams++];
  *st = (struct stream){
      .id = id,
      .send_window = s->peer_initial_window,
      .recv_window = MASCRI_SPDY_DEFAULT_WINDOW,
  };
  return st;
}

static void remove_stream(struct mascri_spdy *s, uint32_t id)
{
  struct stream *st = find(s, id);
  if (st == NULL)
    return;
  *st = s->streams[--s->n_streams];
}

/* A stream whose both halves are closed is forgotten. */
static void maybe_done(struct mascri_spdy *s, uint32_t id)
{
  struct stream *st = find(s, id);
  if (st && st->local_fin && st->remote_fin)
    remove_stream(s, id);
}

bool mascri_spdy_stream_exists(struct mascri_spdy *s, uint32_t id)
{
  return find(s, id) != NULL;
}

bool mascri_spdy_stream_writable(struct mascri_spdy *s, uint32_t id)
{
  struct stream *st = find(s, id);
  return st && !st->local_fin;
}

/* ---- frame building ---- */

static uint8_t *control_header(struct mascri_spdy *s, uint16_t type, uint8_t flags, uint32_t len)
{
  uint8_t *p = mascri_buf_reserve(&s->out, 8 + len);
  p[0] = 0x80 | (SPDY_VERSION >> 8);
  p[1] = SPDY_VERSION & 0xff;
  p[2] = (uint8_t)(type >> 8);
  p[3] = (uint8_t)type;
  put32(p + 4, len & 0xffffff);
  p[4] = flags;
  mascri_buf_commit(&s->out, 8 + len);
  return p + 8;
}

/* Compresses the header block into a fresh buffer. */
static int compress_headers(struct mascri_spdy *s, const struct mascri_spdy_headers *h,
                            struct mascri_buf *out, mascri_error_t *err)
{
  if (!s->deflate_ok)
    return mascri_make_error(err, ENOMEM, "spdy: header compressor");
  struct mascri_buf raw = {0};
  uint8_t n[4];
  put32(n, (uint32_t)h->n);
  mascri_buf_append(&raw, n, 4);
  for (size_t i = 0; i < h->n; i++) {
    size_t nl = strlen(h->names[i]), vl = strlen(h->values[i]);
    put32(n, (uint32_t)nl);
    mascri_buf_append(&raw, n, 4);
    mascri_buf_append(&raw, h->names[i], nl);
    put32(n, (uint32_t)vl);
    mascri_buf_append(&raw, n, 4);
    mascri_buf_append(&raw, h->values[i], vl);
  }
  s->deflate.next_in = raw.data;
  s->deflate.avail_in = (uInt)mascri_buf_size(&raw);
  int r;
  do {
    uint8_t *dst = mascri_buf_reserve(out, 1024);
    s->deflate.next_out = dst;
    s->deflate.avail_out = 1024;
    r = deflate(&s->deflate, Z_SYNC_FLUSH);
    mascri_buf_commit(out, 1024 - s->deflate.avail_out);
  } while (r == Z_OK && s->deflate.avail_out == 0);
  mascri_buf_free(&raw);
  if (r != Z_OK && r != Z_BUF_ERROR)
    return mascri_make_error(err, EPROTO, "spdy: header compression failed (%d)", r);
  return 0;
}

/* A control frame of the form: stream id, [extra 4 or 6 bytes], header block. */
static int header_frame(struct mascri_spdy *s, uint16_t type, uint8_t flags, uint32_t id,
                        const uint8_t *extra, size_t extra_len, const struct mascri_spdy_headers *h,
                        mascri_error_t *err)
{
  struct mascri_buf block = {0};
  if (compress_headers(s, h, &block, err) < 0) {
    mascri_buf_free(&block);
    return -1;
  }
  size_t len = 4 + extra_len + mascri_buf_size(&block);
  uint8_t *p = control_header(s, type, flags, (uint32_t)len);
  put32(p, id & 0x7fffffff);
  if (extra_len)
    memcpy(p + 4, extra, extra_len);
  if (mascri_buf_size(&block))
    memcpy(p + 4 + extra_len, block.data, mascri_buf_size(&block));
  mascri_buf_free(&block);
  return 0;
}

int mascri_spdy_syn_stream(struct mascri_spdy *s, const struct mascri_spdy_headers *h, bool fin,
                           uint32_t *id, mascri_error_t *err)
{
  uint32_t sid = s->next_id;
  if (sid > 0x7fffffff)
    return mascri_make_error(err, ERANGE, "spdy: stream ids exhausted");
  uint8_t extra[6] = {0, 0, 0, 0, 0, 0}; /* associated-to 0, priority 0, slot 0 */
  if (header_frame(s, MASCRI_SPDY_SYN_STREAM, fin ? FLAG_FIN : 0, sid, extra, 6, h, err) < 0)
    return -1;
  s->next_id += 2;
  struct stream *st = add_stream(s, sid);
  st->local_fin = fin;
  *id = sid;
  return 0;
}

int mascri_spdy_syn_reply(struct mascri_spdy *s, uint32_t id, const struct mascri_spdy_headers *h,
                          bool fin, mascri_error_t *err)
{
  struct stream *st = find(s, id);
  if (st == NULL || st->local_fin)
    return mascri_make_error(err, EPIPE, "spdy: stream %u is not open", id);
  if (header_frame(s, MASCRI_SPDY_SYN_REPLY, fin ? FLAG_FIN : 0, id, NULL, 0, h, err) < 0)
    return -1;
  if (fin) {
    st->local_fin = true;
    maybe_done(s, id);
  }
  return 0;
}

int mascri_spdy_send_headers(struct mascri_spdy *s, uint32_t id,
                             const struct mascri_spdy_headers *h, bool fin, mascri_error_t *err)
{
  struct stream *st = find(s, id);
  if (st == NULL || st->local_fin)
    return mascri_make_error(err, EPIPE, "spdy: stream %u is not open", id);
  if (header_frame(s, MASCRI_SPDY_HEADERS, fin ? FLAG_FIN : 0, id, NULL, 0, h, err) < 0)
    return -1;
  if (fin) {
    st->local_fin = true;
    maybe_done(s, id);
  }
  return 0;
}

size_t mascri_spdy_send_window(struct mascri_spdy *s, uint32_t id)
{
  struct stream *st = find(s, id);
  if (st == NULL || st->local_fin)
    return 0;
  if (!s->peer_fc)
    return SIZE_MAX;
  int64_t w = st->send_window < s->session_send_window ? st->send_window : s->session_send_window;
  return w > 0 ? (size_t)w : 0;
}

static void data_frame(struct mascri_spdy *s, uint32_t id, const uint8_t *p, size_t n,
                       uint8_t flags)
{
  uint8_t *f = mascri_buf_reserve(&s->out, 8 + n);
  put32(f, id & 0x7fffffff);
  put32(f + 4, (uint32_t)n);
  f[4] = flags;
  if (n) /* a FIN frame may carry no data and no pointer */
    memcpy(f + 8, p, n);
  mascri_buf_commit(&s->out, 8 + n);
}

ssize_t mascri_spdy_send_data(struct mascri_spdy *s, uint32_t id, const uint8_t *p, size_t n,
                              bool fin)
{
  struct stream *st = find(s, id);
  if (st == NULL || st->local_fin)
    return -1;
  size_t allowed = mascri_spdy_send_window(s, id);
  size_t sent = 0;
  while (sent < n && allowed > 0) {
    size_t chunk = n - sent;
    if (chunk > DATA_CHUNK)
      chunk = DATA_CHUNK;
    if (chunk > allowed)
      chunk = allowed;
    bool last = fin && sent + chunk == n;
    data_frame(s, id, p + sent, chunk, last ? FLAG_FIN : 0);
    sent += chunk;
    allowed -= chunk;
    st->send_window -= (int64_t)chunk;
    s->session_send_window -= (int64_t)chunk;
  }
  if (fin && sent == n) {
    if (n == 0)
      data_frame(s, id, NULL, 0, FLAG_FIN);
    st->local_fin = true;
    maybe_done(s, id);
  }
  return (ssize_t)sent;
}

void mascri_spdy_close_stream(struct mascri_spdy *s, uint32_t id)
{
  mascri_spdy_send_data(s, id, NULL, 0, true);
}

static void rst_frame(struct mascri_spdy *s, uint32_t id, uint32_t status)
{
  uint8_t *p = control_header(s, MASCRI_SPDY_RST_STREAM, 0, 8);
  put32(p, id & 0x7fffffff);
  put32(p + 4, status);
}

void mascri_spdy_rst_stream(struct mascri_spdy *s, uint32_t id, uint32_t status)
{
  rst_frame(s, id, status);
  remove_stream(s, id);
}

void mascri_spdy_ping(struct mascri_spdy *s, uint32_t id)
{
  put32(control_header(s, MASCRI_SPDY_PING, 0, 4), id);
}

void mascri_spdy_settings(struct mascri_spdy *s, uint32_t setting, uint32_t value)
{
  uint8_t *p = control_header(s, MASCRI_SPDY_SETTINGS, 0, 12);
  put32(p, 1);
  put32(p + 4, setting & 0xffffff);
  put32(p + 8, value);
}

void mascri_spdy_goaway(struct mascri_spdy *s, uint32_t status)
{
  uint8_t *p = control_header(s, MASCRI_SPDY_GOAWAY, 0, 8);
  put32(p, s->last_peer_id & 0x7fffffff);
  put32(p + 4, status);
}

static void window_update(struct mascri_spdy *s, uint32_t id, uint32_t delta)
{
  uint8_t *p = control_header(s, MASCRI_SPDY_WINDOW_UPDATE, 0, 8);
  put32(p, id & 0x7fffffff);
  put32(p + 4, delta & 0x7fffffff);
}

static void session_consumed(struct mascri_spdy *s, size_t n)
{
  s->session_unacked += (uint32_t)n;
  if (s->session_unacked >= MASCRI_SPDY_DEFAULT_WINDOW / 2) {
    window_update(s, 0, s->session_unacked);
    s->session_recv_window += s->session_unacked;
    s->session_unacked = 0;
  }
}

void mascri_spdy_consumed(struct mascri_spdy *s, uint32_t id, size_t n)
{
  if (n == 0)
    return;
  session_consumed(s, n);
  struct stream *st = find(s, id);
  if (st == NULL || st->remote_fin)
    return;
  st->recv_unacked += (uint32_t)n;
  if (st->recv_unacked >= MASCRI_SPDY_DEFAULT_WINDOW / 2) {
    window_update(s, id, st->recv_unacked);
    st->recv_window += st->recv_unacked;
    st->recv_unacked = 0;
  }
}

/* ---- parsing ---- */

static int session_error(struct mascri_spdy *s, mascri_error_t *err, const char *what)
{
  if (!s->dead)
    mascri_spdy_goaway(s, 1 /* PROTOCOL_ERROR */);
  s->dead = true;
  mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, EPROTO, "spdy: %s", what);
  return -1;
}

/* The peer's stream error on a stream: reset it and tell the owner. */
static void stream_error(struct mascri_spdy *s, uint32_t id, uint32_t status)
{
  bool known = find(s, id) != NULL;
  mascri_spdy_rst_stream(s, id, status);
  if (known && s->cb->rst)
    s->cb->rst(s->data, id, status);
}

static int inflate_block(struct mascri_spdy *s, const uint8_t *p, size_t n, struct mascri_buf *out,
                         mascri_error_t *err)
{
  if (!s->inflate_ok)
    return session_error(s, err, "header decompressor unavailable");
  s->inflate.next_in = (Bytef *)p;
  s->inflate.avail_in = (uInt)n;
  while (s->inflate.avail_in > 0) {
    if (mascri_buf_size(out) >= MASCRI_SPDY_MAX_HEADER_BLOCK)
      return session_error(s, err, "header block too large");
    uint8_t *dst = mascri_buf_reserve(out, 4096);
    s->inflate.next_out = dst;
    s->inflate.avail_out = 4096;
    int r = inflate(&s->inflate, Z_SYNC_FLUSH);
    if (r == Z_NEED_DICT)
      r = inflateSetDictionary(&s->inflate, (const Bytef *)dictionary, sizeof(dictionary) - 1);
    mascri_buf_commit(out, 4096 - s->inflate.avail_out);
    if (r == Z_BUF_ERROR && s->inflate.avail_out > 0)
      break;
    if (r != Z_OK && r != Z_BUF_ERROR)
      return session_error(s, err, "bad compressed header block");
  }
  return 0;
}

static bool has_upper(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] >= 'A' && p[i] <= 'Z')
      return true;
  return false;
}

/* Decompresses and splits a header block. Session errors only (a broken compression
 * context cannot be recovered). */
static int parse_headers(struct mascri_spdy *s, const uint8_t *p, size_t n,
                         struct mascri_spdy_headers *h, mascri_error_t *err)
{
  struct mascri_buf raw = {0};
  int r = inflate_block(s, p, n, &raw, err);
  const uint8_t *q = raw.data, *end = raw.data + raw.len;
  if (r < 0)
    goto out;
  r = -1;
  if (end - q < 4) {
    session_error(s, err, "short header block");
    goto out;
  }
  uint32_t count = get32(q);
  q += 4;
  if (count > (size_t)(end - q) / 8) {
    session_error(s, err, "header count larger than the block");
    goto out;
  }
  for (uint32_t i = 0; i < count; i++) {
    uint32_t len[2];
    const uint8_t *str[2];
    for (int k = 0; k < 2; k++) {
      if (end - q < 4 || (len[k] = get32(q)) > (size_t)(end - q - 4)) {
        session_error(s, err, "truncated header block");
        goto out;
      }
      str[k] = q + 4;
      q += 4 + len[k];
    }
    if (len[0] == 0 || memchr(str[0], 0, len[0]) || has_upper((const char *)str[0], len[0])) {
      session_error(s, err, "invalid header name");
      goto out;
    }
    _cleanup_free_ char *name = xstrndup((const char *)str[0], len[0]);
    if (mascri_spdy_headers_get(h, name)) {
      session_error(s, err, "duplicate header name");
      goto out;
    }
    h->names = xrealloc(h->names, (h->n + 1) * sizeof(char *));
    h->values = xrealloc(h->values, (h->n + 1) * sizeof(char *));
    h->names[h->n] = TAKE_PTR(name);
    h->values[h->n] = xstrndup((const char *)str[1], len[1]);
    h->n++;
  }
  r = 0;
out:
  mascri_buf_free(&raw);
  return r;
}

static int on_syn_stream(struct mascri_spdy *s, const uint8_t *p, size_t n, mascri_error_t *err)
{
  if (n < 10)
    return session_error(s, err, "short SYN_STREAM");
  uint32_t id = get32(p) & 0x7fffffff;
  struct mascri_spdy_headers h = {0};
  if (parse_headers(s, p + 10, n - 10, &h, err) < 0) {
    mascri_spdy_headers_clear(&h);
    return -1;
  }
  bool peer_parity = s->server ? (id & 1) == 1 : (id & 1) == 0;
  if (id == 0 || !peer_parity || id <= s->last_peer_id) {
    mascri_spdy_headers_clear(&h);
    return session_error(s, err, "SYN_STREAM with a bad stream id");
  }
  s->last_peer_id = id;
  if (s->n_streams >= MASCRI_SPDY_MAX_STREAMS) {
    mascri_spdy_headers_clear(&h);
    rst_frame(s, id, MASCRI_SPDY_REFUSED_STREAM);
    return 0;
  }
  struct stream *st = add_stream(s, id);
  bool fin = s->ctrl_flags & FLAG_FIN;
  st->remote_fin = fin;
  if (s->ctrl_flags & FLAG_UNIDIRECTIONAL)
    st->local_fin = true;
  if (s->cb->syn_stream)
    s->cb->syn_stream(s->data, id, &h, fin);
  mascri_spdy_headers_clear(&h);
  return 0;
}

/* SYN_REPLY and HEADERS: stream id then a header block. */
static int on_reply_or_headers(struct mascri_spdy *s, bool reply, const uint8_t *p, size_t n,
                               mascri_error_t *err)
{
  if (n < 4)
    return session_error(s, err, "short SYN_REPLY/HEADERS");
  uint32_t id = get32(p) & 0x7fffffff;
  struct mascri_spdy_headers h = {0};
  if (parse_headers(s, p + 4, n - 4, &h, err) < 0) {
    mascri_spdy_headers_clear(&h);
    return -1;
  }
  struct stream *st = find(s, id);
  bool fin = s->ctrl_flags & FLAG_FIN;
  if (st == NULL || st->remote_fin) {
    mascri_spdy_headers_clear(&h);
    if (id > 0 && st == NULL)
      rst_frame(s, id, MASCRI_SPDY_INVALID_STREAM);
    else if (st)
      stream_error(s, id, MASCRI_SPDY_STREAM_ALREADY_CLOSED);
    return 0;
  }
  if (reply && s->cb->syn_reply)
    s->cb->syn_reply(s->data, id, &h, fin);
  mascri_spdy_headers_clear(&h);
  if (fin && (st = find(s, id)) != NULL) {
    st->remote_fin = true;
    if (s->cb->fin)
      s->cb->fin(s->data, id);
    maybe_done(s, id);
  }
  return 0;
}

static int on_window_update(struct mascri_spdy *s, const uint8_t *p, size_t n, mascri_error_t *err)
{
  if (n != 8)
    return session_error(s, err, "WINDOW_UPDATE of a bad length");
  uint32_t id = get32(p) & 0x7fffffff, delta = get32(p + 4) & 0x7fffffff;
  s->peer_fc = true;
  if (id == 0) {
    if (delta == 0 || s->session_send_window + delta > MAX_WINDOW)
      return session_error(s, err, "bad session WINDOW_UPDATE");
    s->session_send_window += delta;
  } else {
    struct stream *st = find(s, id);
    if (st == NULL)
      return 0; /* a stream that just closed */
    if (delta == 0 || st->send_window + delta > MAX_WINDOW) {
      stream_error(s, id, MASCRI_SPDY_FLOW_CONTROL_ERROR);
      return 0;
    }
    st->send_window += delta;
  }
  if (s->cb->window)
    s->cb->window(s->data, id);
  return 0;
}

static int on_settings(struct mascri_spdy *s, const uint8_t *p, size_t n, mascri_error_t *err)
{
  if (n < 4 || get32(p) > (n - 4) / 8 || 4 + (size_t)get32(p) * 8 != n)
    return session_error(s, err, "SETTINGS of a bad length");
  uint32_t count = get32(p);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t id = get32(p + 4 + i * 8) & 0xffffff, value = get32(p + 8 + i * 8);
    if (id != MASCRI_SPDY_SETTINGS_INITIAL_WINDOW_SIZE)
      continue;
    if (value > MAX_WINDOW)
      return session_error(s, err, "INITIAL_WINDOW_SIZE too large");
    int64_t delta = (int64_t)value - s->peer_initial_window;
    s->peer_initial_window = value;
    s->peer_fc = true;
    for (size_t k = 0; k < s->n_streams; k++)
      s->streams[k].send_window += delta;
    if (s->cb->window)
      s->cb->window(s->data, 0);
  }
  return 0;
}

static int on_control(struct mascri_spdy *s, mascri_error_t *err)
{
  const uint8_t *p = s->ctrl.data;
  size_t n = mascri_buf_size(&s->ctrl);
  if (s->ctrl_version != SPDY_VERSION) {
    if (s->ctrl_type == MASCRI_SPDY_SYN_STREAM && n >= 4) {
      rst_frame(s, get32(p) & 0x7fffffff, MASCRI_SPDY_UNSUPPORTED_VERSION);
      return 0;
    }
    return session_error(s, err, "unsupported SPDY version");
  }
  switch (s->ctrl_type) {
  case MASCRI_SPDY_SYN_STREAM:
    return on_syn_stream(s, p, n, err);
  case MASCRI_SPDY_SYN_REPLY:
    return on_reply_or_headers(s, true, p, n, err);
  case MASCRI_SPDY_HEADERS:
    return on_reply_or_headers(s, false, p, n, err);
  case MASCRI_SPDY_RST_STREAM: {
    if (n != 8)
      return session_error(s, err, "RST_STREAM of a bad length");
    uint32_t id = get32(p) & 0x7fffffff;
    bool known = find(s, id) != NULL;
    remove_stream(s, id);
    if (known && s->cb->rst)
      s->cb->rst(s->data, id, get32(p + 4));
    return 0;
  }
  case MASCRI_SPDY_SETTINGS:
    return on_settings(s, p, n, err);
  case MASCRI_SPDY_PING: {
    if (n != 4)
      return session_error(s, err, "PING of a bad length");
    uint32_t id = get32(p);
    bool from_peer = s->server ? (id & 1) == 1 : (id & 1) == 0;
    if (from_peer)
      mascri_spdy_ping(s, id);
    return 0;
  }
  case MASCRI_SPDY_GOAWAY:
    if (n != 8)
      return session_error(s, err, "GOAWAY of a bad length");
    if (s->cb->goaway)
      s->cb->goaway(s->data, get32(p) & 0x7fffffff, get32(p + 4));
    return 0;
  case MASCRI_SPDY_WINDOW_UPDATE:
    return on_window_update(s, p, n, err);
  default:
    return 0; /* unknown control frames are ignored (spec 2.2.1) */
  }
}

/* Checks a data frame's header against the stream; false when the frame is dropped. */
static bool data_begin(struct mascri_spdy *s)
{
  struct stream *st = find(s, s->data_id);
  bool ours = s->server ? (s->data_id & 1) == 0 : (s->data_id & 1) == 1;
  bool opened = ours ? s->data_id < s->next_id : s->data_id <= s->last_peer_id;
  s->session_recv_window -= (int64_t)s->data_left;
  if (st == NULL) {
    /* Data racing a reset or close is dropped quietly; data for a stream never opened
     * is an error. */
    if (s->data_id == 0 || !opened)
      rst_frame(s, s->data_id, MASCRI_SPDY_INVALID_STREAM);
    session_consumed(s, s->data_left);
    return false;
  }
  if (st->remote_fin) {
    session_consumed(s, s->data_left);
    stream_error(s, s->data_id, MASCRI_SPDY_STREAM_ALREADY_CLOSED);
    return false;
  }
  st->recv_window -= (int64_t)s->data_left;
  if (s->peer_fc && (st->recv_window < 0 || s->session_recv_window < 0)) {
    stream_error(s, s->data_id, MASCRI_SPDY_FLOW_CONTROL_ERROR);
    session_consumed(s, s->data_left);
    return false;
  }
  return true;
}

static void data_end(struct mascri_spdy *s)
{
  struct stream *st = find(s, s->data_id);
  if (st == NULL || !(s->data_flags & FLAG_FIN))
    return;
  st->remote_fin = true;
  if (s->cb->fin)
    s->cb->fin(s->data, s->data_id);
  maybe_done(s, s->data_id);
}

/* Starts a frame from its 8-byte header. */
static int frame_begin(struct mascri_spdy *s, mascri_error_t *err)
{
  const uint8_t *h = s->hdr;
  size_t len = get32(h + 4) & 0xffffff;
  if (h[0] & 0x80) {
    s->ctrl_version = (uint16_t)(((h[0] & 0x7f) << 8) | h[1]);
    s->ctrl_type = (uint16_t)((h[2] << 8) | h[3]);
    s->ctrl_flags = h[4];
    if (len > MASCRI_SPDY_MAX_CONTROL_FRAME)
      return session_error(s, err, "control frame too large");
    s->ctrl_left = len;
    s->ctrl.off = s->ctrl.len = 0;
    return len == 0 ? on_control(s, err) : 0;
  }
  s->data_id = get32(h) & 0x7fffffff;
  s->data_flags = h[4];
  s->data_left = len;
  s->in_data = data_begin(s) || len > 0;
  /* in_data with a dropped stream: the payload is skipped below (stream gone). */
  if (len == 0) {
    s->in_data = false;
    data_end(s);
  }
  return 0;
}

int mascri_spdy_feed(struct mascri_spdy *s, const uint8_t *p, size_t n, mascri_error_t *err)
{
  while (n > 0) {
    if (s->dead) {
      mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, EPROTO,
                             "spdy: session closed after a protocol error");
      return -1;
    }
    if (s->in_data) {
      size_t k = n < s->data_left ? n : s->data_left;
      if (find(s, s->data_id) && s->cb->data)
        s->cb->data(s->data, s->data_id, p, k);
      p += k;
      n -= k;
      s->data_left -= k;
      if (s->data_left == 0) {
        s->in_data = false;
        data_end(s);
      }
      continue;
    }
    if (s->ctrl_left > 0) {
      size_t k = n < s->ctrl_left ? n : s->ctrl_left;
      mascri_buf_append(&s->ctrl, p, k);
      p += k;
      n -= k;
      s->ctrl_left -= k;
      if (s->ctrl_left == 0 && on_control(s, err) < 0)
        return -1;
      continue;
    }
    size_t k = 8 - s->hdr_len;
    if (k > n)
      k = n;
    memcpy(s->hdr + s->hdr_len, p, k);
    s->hdr_len += k;
    p += k;
    n -= k;
    if (s->hdr_len == 8) {
      s->hdr_len = 0;
      if (frame_begin(s, err) < 0)
        return -1;
    }
  }
  return 0;
}
