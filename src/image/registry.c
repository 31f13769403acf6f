#include "image/registry.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/auth.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "image/registry-http.h"

struct endpoint {
  char *base; /* "https://host:port" */
  char *host;
  bool insecure;
  bool probe; /* scheme not given: ping once, and switch http <-> https if that fails */
  char *ca_file;
  struct mascri_credentials creds;
  bool mirror;
};

struct mascri_registry_client {
  char *repo;
  struct endpoint *eps;
  size_t n_eps;
  size_t preferred; /* guarded by lock */
  pthread_mutex_t lock;
  struct mascri_token_cache tokens;
  struct mascri_http_share *share;
  const volatile int *cancel;
};

/* Only what cannot leave the node is loopback: the name "localhost" and IP literals in
 * 127.0.0.0/8 or ::1. A name such as "127.attacker.example" is an ordinary DNS name. */
bool mascri_registry_host_is_loopback(const char *host)
{
  char name[INET6_ADDRSTRLEN + 1];
  size_t n;
  if (host[0] == '[') { /* [v6]:port */
    const char *end = strchr(host, ']');
    if (end == NULL || (end[1] != '\0' && end[1] != ':'))
      return false;
    host++;
    n = (size_t)(end - host);
  } else if (strchr(host, ':') != strrchr(host, ':')) {
    n = strlen(host); /* a bare v6 literal: more than one ':' and no port */
  } else {
    n = strcspn(host, ":");
  }
  if (n == 0 || n >= sizeof(name))
    return false;
  memcpy(name, host, n);
  name[n] = '\0';
  if (strcmp(name, "localhost") == 0)
    return true;
  struct in_addr a4;
  if (inet_pton(AF_INET, name, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  struct in6_addr a6;
  return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static const struct mascri_registry_host *find_host(const struct mascri_registry_config *cfg,
                                                    const char *host)
{
  for (size_t i = 0; cfg && i < cfg->n_hosts; i++)
    if (cfg->hosts[i].host && strcmp(cfg->hosts[i].host, host) == 0)
      return &cfg->hosts[i];
  return NULL;
}

static char *find_ca_file(const struct mascri_registry_host *hc, const char *host)
{
  if (hc && hc->ca_file)
    return xstrdup(hc->ca_file);
  const char *dirs[] = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
  for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
    char *p = xasprintf("%s/%s/ca.crt", dirs[i], host);
    if (mascri_path_exists(p))
      return p;
    free(p);
  }
  return NULL;
}

static int endpoint_credentials(struct endpoint *ep, const char *ref_host,
                                const struct mascri_registry_auth *auth,
                                const struct mascri_registry_host *hc,
                                const struct mascri_registry_config *cfg, mascri_error_t *err)
{
  struct mascri_credentials *c = &ep->creds;
  if (auth && (auth->username || auth->auth || auth->identity_token || auth->registry_token)) {
    if (auth->auth && *auth->auth && !auth->username) {
      if (mascri_credentials_from_auth(auth->auth, c, err) < 0)
        return -1;
    } else if (auth->username) {
      c->username = xstrdup(auth->username);
      c->password = xstrdup(auth->password ? auth->password : "");
    }
    if (auth->identity_token && *auth->identity_token)
      c->identity_token = xstrdup(auth->identity_token);
    if (auth->registry_token && *auth->registry_token)
      c->registry_token = xstrdup(auth->registry_token);
    return 0;
  }
  if (hc && hc->username) {
    c->username = xstrdup(hc->username);
    c->password = xstrdup(hc->password ? hc->password : "");
    return 0;
  }
  const char *dc = cfg ? cfg->docker_config : NULL;
  if (mascri_credentials_from_docker_config(dc, ep->mirror ? ep->host : ref_host, c, err) < 0)
    mascri_log_error_release(MASCRI_LOG_WARNING, err, "ignoring docker config credentials");
  return 0;
}

/* "host", "http://host:port" or "https://host/..." (a path is ignored). */
static void endpoint_from_mirror(struct endpoint *ep, const char *mirror,
                                 const struct mascri_registry_config *cfg)
{
  const char *h = mirror;
  int scheme = 0; /* 0: decide, 1: http, 2: https */
  if (strncmp(h, "http://", 7) == 0)
    h += 7, scheme = 1;
  else if (strncmp(h, "https://", 8) == 0)
    h += 8, scheme = 2;
  ep->host = xstrndup(h, strcspn(h, "/"));
  const struct mascri_registry_host *mh = find_host(cfg, ep->host);
  ep->ca_file = find_ca_file(mh, ep->host);
  bool loopback =
      mascri_registry_host_is_loopback(ep->host) && !ep->ca_file && !(mh && mh->insecure);
  ep->probe = scheme == 0 && ((mh && mh->insecure) || loopback);
  if (scheme == 0) /* like Docker: loopback speaks HTTP first, insecure hosts HTTPS first */
    scheme = loopback ? 1 : 2;
  ep->insecure = scheme == 1 || (mh && mh->insecure) || loopback;
  ep->base = xasprintf("%s://%s", scheme == 1 ? "http" : "https", ep->host);
  ep->mirror = true;
}

/* libcurl's global state, set up by the first client (not at store open: the store code
 * mascrid links knows nothing of curl). A lazily initialised library, the only static. */
static pthread_once_t curl_init_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

int mascri_registry_client_new(const struct mascri_reference *ref,
                               const struct mascri_registry_auth *auth,
                               const struct mascri_registry_config *cfg,
                               mascri_registry_client_t **out, mascri_error_t *err)
{
  pthread_once(&curl_init_once, curl_init);
  mascri_registry_client_t *c = xmalloc0(sizeof(*c));
  pthread_mutex_init(&c->lock, NULL);
  mascri_token_cache_init(&c->tokens);
  c->share = mascri_http_share_new();
  c->repo = xstrdup(ref->path);
  const struct mascri_registry_host *hc = find_host(cfg, ref->domain);
  size_t n_mirrors = 0;
  while (hc && hc->mirrors && hc->mirrors[n_mirrors])
    n_mirrors++;
  c->eps = xcalloc(n_mirrors + 1, sizeof(*c->eps));
  for (size_t i = 0; i < n_mirrors; i++)
    endpoint_from_mirror(&c->eps[i], hc->mirrors[i], cfg);
  struct endpoint *up = &c->eps[n_mirrors];
  const char *api = mascri_reference_api_host(ref);
  up->host = xstrdup(api);
  up->ca_file = find_ca_file(hc, ref->domain);
  /* loopback speaks plain HTTP first, as with Docker, unless a CA is configured for it;
   * hosts configured insecure speak HTTPS without verification first; both fall back */
  bool loopback = mascri_registry_host_is_loopback(api) && !up->ca_file && !(hc && hc->insecure);
  up->insecure = (hc && hc->insecure) || loopback;
  up->probe = up->insecure;
  up->base = xasprintf("%s://%s", loopback ? "http" : "https", api);
  c->n_eps = n_mirrors + 1;
  for (size_t i = 0; i < c->n_eps; i++) {
    /* a mirror's own entry in the configuration holds its credentials */
    const struct mascri_registry_host *own = c->eps[i].mirror ? find_host(cfg, c->eps[i].host) : hc;
    if (endpoint_credentials(&c->eps[i], ref->domain, auth, own, cfg, err) < 0) {
      mascri_registry_client_free(c);
      return -1;
    }
  }
  *out = c;
  return 0;
}

void mascri_registry_client_free(mascri_registry_client_t *c)
{
  for (size_t i = 0; i < c->n_eps; i++) {
    free(c->eps[i].base);
    free(c->eps[i].host);
    free(c->eps[i].ca_file);
    mascri_credentials_clear(&c->eps[i].creds);
  }
  free(c->eps);
  free(c->repo);
  mascri_token_cache_clear(&c->tokens);
  mascri_http_share_free(c->share);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static struct mascri_http_target target_of(mascri_registry_client_t *c, const struct endpoint *ep)
{
  return (struct mascri_http_target){
      .insecure = ep->insecure, .ca_file = ep->ca_file, .share = c->share, .cancel = c->cancel};
}

/* Gets a Bearer token for the challenge; returns the Authorization value. */
static char *fetch_token(mascri_registry_client_t *c, struct endpoint *ep,
                         const struct mascri_challenge *ch, mascri_error_t *err)
{
  _cleanup_free_ char *scope = xasprintf("repository:%s:pull", c->repo);
  struct mascri_http_target t = target_of(c, ep);
  t.insecure = t.insecure || strncmp(ch->realm, "http://", 7) == 0;
  _cleanup_free_ char *token = NULL;
  int64_t expires_in = 60;
  if (mascri_http_fetch_token(&t, ch->realm, ch->service, scope, &ep->creds, &token, &expires_in,
                              err) < 0)
    return NULL;
  char *value = xasprintf("Bearer %s", token);
  _cleanup_free_ char *key = xasprintf("%s|%s", ep->base, scope);
  mascri_token_cache_put(&c->tokens, key, value, time(NULL) + (expires_in > 0 ? expires_in : 60));
  return value;
}

static char *basic_value(const struct mascri_credentials *cr)
{
  _cleanup_free_ char *plain = xasprintf("%s:%s", cr->username, cr->password ? cr->password : "");
  size_t n = strlen(plain);
  _cleanup_free_ unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock(b64, (unsigned char *)plain, (int)n);
  explicit_bzero(plain, n);
  return xasprintf("Basic %s", b64);
}

/* Answers a 401: a new Authorization value, or NULL with PERMISSION_DENIED. */
static char *answer_challenge(mascri_registry_client_t *c, struct endpoint *ep,
                              const char *www_auth, mascri_error_t *err)
{
  struct mascri_challenge ch;
  if (!www_auth || mascri_challenge_parse(www_auth, &ch, err) < 0) {
    mascri_make_error_kind(err, MASCRI_ERR_PERMISSION_DENIED, 0,
                           "%s: unauthorized and no authentication challenge", ep->base);
    return NULL;
  }
  char *value = NULL;
  _cleanup_free_ char *key = xasprintf("%s|repository:%s:pull", ep->base, c->repo);
  if (strcmp(ch.scheme, "bearer") == 0 && ch.realm) {
    if (ep->creds.registry_token)
      value = xasprintf("Bearer %s", ep->creds.registry_token);
    else
      value = fetch_token(c, ep, &ch, err);
  } else if (strcmp(ch.scheme, "basic") == 0 && ep->creds.username) {
    value = basic_value(&ep->creds);
    mascri_token_cache_put(&c->tokens, key, value, time(NULL) + 24 * 3600);
  } else {
    mascri_make_error_kind(err, MASCRI_ERR_PERMISSION_DENIED, 0,
                           "%s: authentication required (%s) and no credentials", ep->base,
                           ch.scheme);
  }
  mascri_challenge_clear(&ch);
  return value;
}

/* One request with authentication: cached Authorization first, then one answer to a 401. */
static int authed_request(mascri_registry_client_t *c, struct endpoint *ep, const char *path,
                          const char *accept, struct mascri_http_response *resp,
                          mascri_error_t *err)
{
  _cleanup_free_ char *url = xasprintf("%s%s", ep->base, path);
  _cleanup_free_ char *key = xasprintf("%s|repository:%s:pull", ep->base, c->repo);
  _cleanup_free_ char *authz = mascri_token_cache_get(&c->tokens, key);
  struct mascri_http_target t = target_of(c, ep);
  for (int attempt = 0; attempt < 2; attempt++) {
    mascri_http_response_reset(resp);
    if (mascri_http_get(&t, url, accept, authz, resp, err) < 0)
      return -1;
    if (resp->code != 401 || attempt == 1)
      break;
    free(authz);
    authz = answer_challenge(c, ep, resp->www_authenticate, err);
    if (!authz)
      return -1;
  }
  if (resp->code == 401 || resp->code == 403)
    return mascri_make_error_kind(err, MASCRI_ERR_PERMISSION_DENIED, 0,
                                  "%s: access denied (HTTP %ld)", url, resp->code);
  if (resp->code == 404)
    return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0, "%s: not found", url);
  if (resp->code == 429 || resp->code >= 500)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "%s: HTTP %ld", url, resp->code);
  if (resp->code != 200 && !(resp->code == 206 && resp->offset > 0))
    return mascri_make_error_kind(err, MASCRI_ERR_INTERNAL, 0, "%s: unexpected HTTP %ld", url,
                                  resp->code);
  return 0;
}

static size_t preferred(mascri_registry_client_t *c)
{
  pthread_mutex_lock(&c->lock);
  size_t p = c->preferred;
  pthread_mutex_unlock(&c->lock);
  return p;
}

/* Pings /v2/ once on endpoints whose scheme is a guess; any HTTP answer settles it, a
 * transport failure switches to the other scheme. Runs before blobs are fetched in
 * parallel, so ep->base is not yet shared between threads. */
static void probe_scheme(mascri_registry_client_t *c, struct endpoint *ep)
{
  if (!ep->probe)
    return;
  ep->probe = false;
  struct mascri_http_target t = target_of(c, ep);
  for (int attempt = 0; attempt < 2; attempt++) {
    _cleanup_(mascri_http_response_clear) struct mascri_http_response resp = {.max = 4096};
    _cleanup_error_ mascri_error_t e = NULL;
    _cleanup_free_ char *url = xasprintf("%s/v2/", ep->base);
    /* a registry answers /v2/ with 200 or 401; 400 is HTTP spoken to an HTTPS server */
    if (mascri_http_get(&t, url, NULL, NULL, &resp, &e) == 0 &&
        (resp.code == 200 || resp.code == 401))
      return;
    bool https = strncmp(ep->base, "https://", 8) == 0;
    char *other = xasprintf("%s://%s", https ? "http" : "https", ep->host);
    log_debug("%s: %s; trying %s", url, mascri_error_message(&e), other);
    free(ep->base);
    ep->base = other;
  }
}

int mascri_registry_get_manifest(mascri_registry_client_t *c, const char *reference, char **buf,
                                 size_t *len, char **content_type, mascri_error_t *err)
{
  _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", c->repo, reference);
  for (size_t i = 0; i < c->n_eps; i++) {
    _cleanup_(mascri_http_response_clear) struct mascri_http_response resp = {.max = 4 << 20};
    probe_scheme(c, &c->eps[i]);
    if (authed_request(c, &c->eps[i], path, MEDIA_ACCEPT_MANIFESTS, &resp, err) < 0) {
      if (i + 1 < c->n_eps) {
        mascri_log_error_release(MASCRI_LOG_WARNING, err, "mirror %s (trying the next endpoint)",
                                 c->eps[i].base);
        continue;
      }
      return -1;
    }
    pthread_mutex_lock(&c->lock);
    c->preferred = i;
    pthread_mutex_unlock(&c->lock);
    *buf = TAKE_PTR(resp.body);
    *len = resp.len;
    *content_type = resp.content_type ? xstrdup(resp.content_type) : NULL;
    return 0;
  }
  return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "no registry endpoint");
}

int mascri_registry_get_blob(mascri_registry_client_t *c, const char *digest, size_t max,
                             char **buf, size_t *len, mascri_error_t *err)
{
  _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", c->repo, digest);
  size_t first = preferred(c);
  for (size_t k = 0; k < c->n_eps; k++) {
    size_t i = (first + k) % c->n_eps;
    _cleanup_(mascri_http_response_clear) struct mascri_http_response resp = {.max = max};
    if (authed_request(c, &c->eps[i], path, "*/*", &resp, err) < 0) {
      if (k + 1 < c->n_eps) {
        mascri_error_release(err);
        continue;
      }
      return -1;
    }
    *buf = TAKE_PTR(resp.body);
    *len = resp.len;
    return 0;
  }
  return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "no registry endpoint");
}

int mascri_registry_stream_blob(mascri_registry_client_t *c, const char *digest, uint64_t offset,
                                mascri_blob_sink_fn sink, void *data, bool *delivered,
                                mascri_error_t *err)
{
  _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", c->repo, digest);
  size_t first = preferred(c);
  *delivered = false;
  for (size_t k = 0; k < c->n_eps; k++) {
    size_t i = (first + k) % c->n_eps;
    _cleanup_(mascri_http_response_clear) struct mascri_http_response resp = {
        .max = 64 << 10, .sink = sink, .sink_data = data, .offset = offset};
    int r = authed_request(c, &c->eps[i], path, "*/*", &resp, err);
    *delivered = resp.delivered;
    if (r == 0)
      return 0;
    if (resp.delivered || k + 1 == c->n_eps)
      return -1;
    mascri_error_release(err);
  }
  return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "no registry endpoint");
}

void mascri_registry_client_set_cancel(mascri_registry_client_t *c, const volatile int *cancel)
{
  c->cancel = cancel;
}
