#include "image/registry-http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "mascri-config.h"

struct mascri_http_share {
  CURLSH *sh;
  pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *p)
{
  struct mascri_http_share *s = p;
  pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *p)
{
  struct mascri_http_share *s = p;
  pthread_mutex_unlock(&s->locks[data]);
}

struct mascri_http_share *mascri_http_share_new(void)
{
  struct mascri_http_share *s = xmalloc0(sizeof(*s));
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&s->locks[i], NULL);
  s->sh = curl_share_init();
  if (!s->sh)
    abort();
  curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock);
  curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
  curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
  curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  return s;
}

void mascri_http_share_free(struct mascri_http_share *s)
{
  if (!s)
    return;
  curl_share_cleanup(s->sh);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&s->locks[i]);
  free(s);
}

void mascri_http_response_reset(struct mascri_http_response *r)
{
  free(r->content_type);
  free(r->www_authenticate);
  free(r->body);
  r->content_type = r->www_authenticate = r->body = NULL;
  r->len = r->cap = 0;
  r->code = 0;
  r->skipped = 0;
  r->sink_failed = r->too_big = false;
}

void mascri_http_response_clear(struct mascri_http_response *r)
{
  mascri_http_response_reset(r);
}

static char *header_value(const char *line, size_t n, const char *name)
{
  size_t k = strlen(name);
  if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
    return NULL;
  const char *v = line + k + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return xstrndup(v, end - v);
}

static size_t on_header(char *line, size_t size, size_t n, void *data)
{
  struct mascri_http_response *r = data;
  size_t len = size * n;
  char *v;
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    /* a new response (redirect or 100-continue): forget the previous headers */
    free(r->content_type);
    free(r->www_authenticate);
    r->content_type = r->www_authenticate = NULL;
  } else if ((v = header_value(line, len, "content-type"))) {
    free(r->content_type);
    r->content_type = v;
  } else if ((v = header_value(line, len, "www-authenticate"))) {
    if (!r->www_authenticate)
      r->www_authenticate = v;
    else
      free(v);
  }
  return len;
}

struct write_ctx {
  CURL *curl;
  struct mascri_http_response *r;
};

static size_t on_body(char *buf, size_t size, size_t n, void *data)
{
  struct write_ctx *w = data;
  struct mascri_http_response *r = w->r;
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
  if (r->sink && (code == 200 || (code == 206 && r->offset > 0))) {
    if (code == 200 && r->skipped < r->offset) { /* Range ignored: drop what we have */
      size_t drop = r->offset - r->skipped < len ? r->offset - r->skipped : len;
      r->skipped += drop;
      buf += drop;
      len -= drop;
      if (len == 0)
        return size * n;
    }
    r->delivered = true;
    if (r->sink(r->sink_data, buf, len) < 0) {
      r->sink_failed = true;
      return 0;
    }
    return size * n;
  }
  if (r->len + len > r->max) {
    if (code == 200) {
      r->too_big = true;
      return 0;
    }
    len = r->max > r->len ? r->max - r->len : 0; /* keep the start of error bodies */
    if (len == 0)
      return size * n;
  }
  if (!r->body || r->len + len + 1 > r->cap) { /* doubling: a 4 MiB body is not copied per chunk */
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + len + 1)
      cap *= 2;
    r->body = xrealloc(r->body, cap);
    r->cap = cap;
  }
  memcpy(r->body + r->len, buf, len);
  r->len += len;
  r->body[r->len] = '\0';
  return size * n;
}

static void setup_tls(CURL *curl, const struct mascri_http_target *t)
{
  if (t->ca_file) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, t->ca_file);
    curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  if (t->insecure) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

static int on_xferinfo(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
  const volatile int *cancel = data;
  return *cancel ? 1 : 0;
}

static CURL *new_handle(const struct mascri_http_target *t, const char *url)
{
  CURL *curl = curl_easy_init();
  if (!curl)
    abort();
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "mascri/" MASCRI_VERSION);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (t->share)
    curl_easy_setopt(curl, CURLOPT_SHARE, t->share->sh);
  if (t->cancel) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)t->cancel);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  setup_tls(curl, t);
  return curl;
}

static int perform(CURL *curl, const char *url, struct mascri_http_response *resp,
                   mascri_error_t *err)
{
  struct write_ctx w = {curl, resp};
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &w);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->code);
  if (rc == CURLE_OK)
    return 0;
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    return mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0, "%s: cancelled", url);
  if (resp->sink_failed)
    return mascri_make_error_kind(err, MASCRI_ERR_INTERNAL, 0, "%s: transfer aborted by receiver",
                                  url);
  if (resp->too_big)
    return mascri_make_error_kind(err, MASCRI_ERR_RESOURCE_EXHAUSTED, 0,
                                  "%s: answer larger than %zu bytes", url, resp->max);
  return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "%s: %s", url,
                                *errbuf ? errbuf : curl_easy_strerror(rc));
}

int mascri_http_get(const struct mascri_http_target *t, const char *url, const char *accept,
                    const char *authorization, struct mascri_http_response *resp,
                    mascri_error_t *err)
{
  CURL *curl = new_handle(t, url);
  struct curl_slist *h = NULL;
  _cleanup_free_ char *ah = accept ? xasprintf("Accept: %s", accept) : NULL;
  _cleanup_free_ char *auth = authorization ? xasprintf("Authorization: %s", authorization) : NULL;
  _cleanup_free_ char *range =
      resp->offset ? xasprintf("Range: bytes=%llu-", (unsigned long long)resp->offset) : NULL;
  if (range)
    h = curl_slist_append(h, range);
  if (ah)
    h = curl_slist_append(h, ah);
  if (auth)
    h = curl_slist_append(h, auth);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  int r = perform(curl, url, resp, err);
  curl_slist_free_all(h);
  curl_easy_cleanup(curl);
  return r;
}

static char *token_url(CURL *curl, const char *realm, const char *service, const char *scope)
{
  char *s = service ? curl_easy_escape(curl, service, 0) : NULL;
  char *sc = curl_easy_escape(curl, scope, 0);
  char *url = xasprintf("%s%sscope=%s%s%s", realm, strchr(realm, '?') ? "&" : "?", sc,
                        s ? "&service=" : "", s ? s : "");
  curl_free(s);
  curl_free(sc);
  return url;
}

static char *refresh_form(CURL *curl, const char *service, const char *scope, const char *rt)
{
  char *s = curl_easy_escape(curl, service ? service : "", 0);
  char *sc = curl_easy_escape(curl, scope, 0);
  char *t = curl_easy_escape(curl, rt, 0);
  char *form = xasprintf("grant_type=refresh_token&client_id=mascri&service=%s&scope=%s&"
                         "refresh_token=%s",
                         s, sc, t);
  curl_free(s);
  curl_free(sc);
  curl_free(t);
  return form;
}

static int parse_token(const struct mascri_http_response *resp, const char *realm, char **token,
                       int64_t *expires_in, mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(resp->body ? resp->body : "", resp->len, "token answer", &root, err) < 0)
    return mascri_error_wrap(err, "%s", realm);
  const char *tok = mascri_json_get_string(root, "token");
  if (!tok || !*tok)
    tok = mascri_json_get_string(root, "access_token");
  if (!tok || !*tok)
    return mascri_make_error_kind(err, MASCRI_ERR_PERMISSION_DENIED, 0, "%s: no token in answer",
                                  realm);
  *token = xstrdup(tok);
  if (mascri_json_get_int64(root, "expires_in", expires_in) != 1)
    *expires_in = 60;
  return 0;
}

int mascri_http_fetch_token(const struct mascri_http_target *t, const char *realm,
                            const char *service, const char *scope,
                            const struct mascri_credentials *creds, char **token,
                            int64_t *expires_in, mascri_error_t *err)
{
  CURL *curl = new_handle(t, realm);
  _cleanup_free_ char *url = NULL, *form = NULL;
  _cleanup_(mascri_http_response_clear) struct mascri_http_response resp = {.max = 1 << 20};
  if (creds->identity_token) {
    url = xstrdup(realm);
    form = refresh_form(curl, service, scope, creds->identity_token);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
  } else {
    url = token_url(curl, realm, service, scope);
    if (creds->username) {
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
      curl_easy_setopt(curl, CURLOPT_USERNAME, creds->username);
      curl_easy_setopt(curl, CURLOPT_PASSWORD, creds->password ? creds->password : "");
    }
  }
  curl_easy_setopt(curl, CURLOPT_URL, url);
  int r = perform(curl, url, &resp, err);
  curl_easy_cleanup(curl);
  if (r < 0)
    return mascri_error_wrap(err, "token request");
  if (resp.code == 401 || resp.code == 403)
    return mascri_make_error_kind(err, MASCRI_ERR_PERMISSION_DENIED, 0,
                                  "%s: credentials refused (HTTP %ld)", realm, resp.code);
  if (resp.code != 200)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "%s: token request HTTP %ld",
                                  realm, resp.code);
  return parse_token(&resp, realm, token, expires_in, err);
}
