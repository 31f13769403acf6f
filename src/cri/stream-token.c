/* The streaming request cache (see stream-token.h): a small array scanned under a mutex;
 * at most `max` entries, expired ones dropped on every access. */
#include "common/clock.h"
#include "cri/stream-token.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/strv.h"
#include "common/xalloc.h"

#define TOKEN_BYTES 24

struct entry {
  char token[MASCRI_STREAM_TOKEN_LEN + 1];
  uint64_t expires_ms;
  struct mascri_stream_req *req;
};

struct mascri_stream_tokens {
  pthread_mutex_t lock;
  uint64_t ttl_ms;
  size_t max, n;
  struct entry *v;
};

void mascri_stream_req_free(struct mascri_stream_req *r)
{
  if (r == NULL)
    return;
  free(r->id);
  mascri_strv_free(r->cmd);
  free(r->ports);
  free(r);
}

struct mascri_stream_tokens *mascri_stream_tokens_new(uint64_t ttl_ms, size_t max)
{
  struct mascri_stream_tokens *t = xmalloc0(sizeof(*t));
  pthread_mutex_init(&t->lock, NULL);
  t->ttl_ms = ttl_ms;
  t->max = max;
  t->v = xcalloc(max ? max : 1, sizeof(*t->v));
  return t;
}

void mascri_stream_tokens_free(struct mascri_stream_tokens *t)
{
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->n; i++)
    mascri_stream_req_free(t->v[i].req);
  free(t->v);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

static void drop_expired(struct mascri_stream_tokens *t, uint64_t now)
{
  for (size_t i = 0; i < t->n;) {
    if (t->v[i].expires_ms <= now) {
      mascri_stream_req_free(t->v[i].req);
      t->v[i] = t->v[--t->n];
    } else {
      i++;
    }
  }
}

static void base64url(const uint8_t *in, size_t n, char *out)
{
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  for (size_t i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = abc[(v >> 18) & 63];
    out[o++] = abc[(v >> 12) & 63];
    out[o++] = abc[(v >> 6) & 63];
    out[o++] = abc[v & 63];
  }
  out[o] = '\0';
}

static int random_token(char out[MASCRI_STREAM_TOKEN_LEN + 1], mascri_error_t *err)
{
  uint8_t raw[TOKEN_BYTES];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return mascri_make_error(err, errno, "getrandom");
    got += (size_t)r;
  }
  base64url(raw, sizeof(raw), out);
  return 0;
}

int mascri_stream_tokens_insert(struct mascri_stream_tokens *t, struct mascri_stream_req *req,
                                char token[MASCRI_STREAM_TOKEN_LEN + 1], mascri_error_t *err)
{
  if (random_token(token, err) < 0) {
    mascri_stream_req_free(req);
    return -1;
  }
  pthread_mutex_lock(&t->lock);
  uint64_t now = mascri_clock_monotonic_ms();
  drop_expired(t, now);
  if (t->n >= t->max) {
    pthread_mutex_unlock(&t->lock);
    mascri_stream_req_free(req);
    return mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                                  "too many streaming requests in flight (%zu)", t->max);
  }
  struct entry *e = &t->v[t->n++];
  memcpy(e->token, token, MASCRI_STREAM_TOKEN_LEN + 1);
  e->expires_ms = now + t->ttl_ms;
  e->req = req;
  pthread_mutex_unlock(&t->lock);
  return 0;
}

struct mascri_stream_req *mascri_stream_tokens_take(struct mascri_stream_tokens *t,
                                                    const char *token, mascri_stream_kind_t kind)
{
  struct mascri_stream_req *req = NULL;
  if (strlen(token) != MASCRI_STREAM_TOKEN_LEN)
    return NULL;
  pthread_mutex_lock(&t->lock);
  drop_expired(t, mascri_clock_monotonic_ms());
  for (size_t i = 0; i < t->n; i++) {
    if (strcmp(t->v[i].token, token) == 0 && t->v[i].req->kind == kind) {
      req = t->v[i].req;
      t->v[i] = t->v[--t->n];
      break;
    }
  }
  pthread_mutex_unlock(&t->lock);
  return req;
}

size_t mascri_stream_tokens_count(struct mascri_stream_tokens *t)
{
  pthread_mutex_lock(&t->lock);
  drop_expired(t, mascri_clock_monotonic_ms());
  size_t n = t->n;
  pthread_mutex_unlock(&t->lock);
  return n;
}
