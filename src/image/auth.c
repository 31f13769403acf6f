#include "image/auth.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/xalloc.h"

struct token_entry {
  char *key;
  char *token;
  time_t expires;
  struct token_entry *next;
};

void mascri_challenge_clear(struct mascri_challenge *c)
{
  free(c->scheme);
  free(c->realm);
  free(c->service);
  free(c->scope);
  memset(c, 0, sizeof(*c));
}

/* key="value" or key=value; returns the position after it. */
static const char *parse_param(const char *p, char **key, char **value)
{
  while (*p == ' ' || *p == ',')
    p++;
  const char *k = p;
  while (*p && *p != '=' && *p != ' ' && *p != ',')
    p++;
  *key = xstrndup(k, p - k);
  if (*p != '=') {
    *value = xstrdup("");
    return p;
  }
  p++;
  if (*p == '"') {
    char *out = xmalloc(strlen(p) + 1);
    size_t o = 0;
    for (p++; *p && *p != '"'; p++) {
      if (*p == '\\' && p[1])
        p++;
      out[o++] = *p;
    }
    out[o] = '\0';
    if (*p == '"')
      p++;
    *value = out;
  } else {
    const char *v = p;
    while (*p && *p != ',' && *p != ' ')
      p++;
    *value = xstrndup(v, p - v);
  }
  return p;
}

int mascri_challenge_parse(const char *header, struct mascri_challenge *out, mascri_error_t *err)
{
  memset(out, 0, sizeof(*out));
  const char *p = header;
  while (*p == ' ')
    p++;
  const char *s = p;
  while (*p && *p != ' ')
    p++;
  if (p == s)
    return mascri_make_error_kind(err, MASCRI_ERR_UNAVAILABLE, 0, "empty WWW-Authenticate");
  out->scheme = xstrndup(s, p - s);
  for (char *c = out->scheme; *c; c++)
    *c = tolower((unsigned char)*c);
  while (*p) {
    char *k = NULL, *v = NULL;
    const char *next = parse_param(p, &k, &v);
    if (strcasecmp(k, "realm") == 0)
      free(out->realm), out->realm = TAKE_PTR(v);
    else if (strcasecmp(k, "service") == 0)
      free(out->service), out->service = TAKE_PTR(v);
    else if (strcasecmp(k, "scope") == 0)
      free(out->scope), out->scope = TAKE_PTR(v);
    free(k);
    free(v);
    if (next == p)
      break;
    p = next;
  }
  return 0;
}

void mascri_credentials_clear(struct mascri_credentials *c)
{
  if (c->password)
    explicit_bzero(c->password, strlen(c->password));
  free(c->username);
  free(c->password);
  free(c->identity_token);
  free(c->registry_token);
  memset(c, 0, sizeof(*c));
}

int mascri_credentials_from_auth(const char *auth, struct mascri_credentials *out,
                                 mascri_error_t *err)
{
  size_t len = strlen(auth);
  _cleanup_free_ unsigned char *buf = xmalloc(len + 4);
  int n = EVP_DecodeBlock(buf, (const unsigned char *)auth, (int)len);
  if (n < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "registry auth: not base64");
  while (len > 0 && auth[len - 1] == '=' && n > 0)
    len--, n--; /* EVP_DecodeBlock counts padding as zero bytes */
  buf[n] = '\0';
  char *colon = strchr((char *)buf, ':');
  if (!colon)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "registry auth: want base64 of user:password");
  out->username = xstrndup((char *)buf, colon - (char *)buf);
  out->password = xstrdup(colon + 1);
  explicit_bzero(buf, n);
  return 0;
}

static char *default_docker_config(void)
{
  const char *dir = getenv("DOCKER_CONFIG");
  if (dir && *dir)
    return mascri_path_join(dir, "config.json");
  const char *home = getenv("HOME");
  return mascri_path_join(home && *home ? home : "/root", ".docker/config.json");
}

static yajl_val find_auth_entry(yajl_val auths, const char *host)
{
  if (!auths || !YAJL_IS_OBJECT(auths))
    return NULL;
  for (size_t i = 0; i < auths->u.object.len; i++) {
    const char *k = auths->u.object.keys[i];
    if (strncmp(k, "https://", 8) == 0)
      k += 8;
    else if (strncmp(k, "http://", 7) == 0)
      k += 7;
    size_t n = strcspn(k, "/");
    bool hub = strcmp(host, "docker.io") == 0 &&
               ((n == 15 && strncmp(k, "index.docker.io", 15) == 0) ||
                (n == 20 && strncmp(k, "registry-1.docker.io", 20) == 0));
    if (hub || (strlen(host) == n && strncmp(k, host, n) == 0))
      return auths->u.object.values[i];
  }
  return NULL;
}

int mascri_credentials_from_docker_config(const char *path, const char *host,
                                          struct mascri_credentials *out, mascri_error_t *err)
{
  _cleanup_free_ char *p = path ? xstrdup(path) : default_docker_config();
  _cleanup_json_ yajl_val root = NULL;
  memset(out, 0, sizeof(*out));
  if (!*p || !mascri_path_exists(p))
    return 0;
  if (mascri_json_parse_file(p, &root, err) < 0)
    return -1;
  yajl_val e = find_auth_entry(mascri_json_get(root, "auths"), host);
  if (!e)
    return 0;
  const char *auth = mascri_json_get_string(e, "auth");
  const char *user = mascri_json_get_string(e, "username");
  const char *pass = mascri_json_get_string(e, "password");
  const char *idt = mascri_json_get_string(e, "identitytoken");
  if (auth && *auth && mascri_credentials_from_auth(auth, out, err) < 0)
    return mascri_error_wrap(err, "%s", p);
  if (!out->username && user) {
    out->username = xstrdup(user);
    out->password = xstrdup(pass ? pass : "");
  }
  if (idt && *idt)
    out->identity_token = xstrdup(idt);
  return 0;
}

void mascri_token_cache_init(struct mascri_token_cache *tc)
{
  pthread_mutex_init(&tc->lock, NULL);
  tc->entries = NULL;
}

void mascri_token_cache_clear(struct mascri_token_cache *tc)
{
  for (struct token_entry *e = tc->entries, *n; e; e = n) {
    n = e->next;
    free(e->key);
    free(e->token);
    free(e);
  }
  tc->entries = NULL;
  pthread_mutex_destroy(&tc->lock);
}

char *mascri_token_cache_get(struct mascri_token_cache *tc, const char *key)
{
  char *out = NULL;
  time_t now = time(NULL);
  pthread_mutex_lock(&tc->lock);
  for (struct token_entry *e = tc->entries; e; e = e->next)
    if (strcmp(e->key, key) == 0 && e->expires > now + 5)
      out = xstrdup(e->token);
  pthread_mutex_unlock(&tc->lock);
  return out;
}

void mascri_token_cache_put(struct mascri_token_cache *tc, const char *key, const char *token,
                            time_t expires)
{
  struct token_entry *e = xmalloc0(sizeof(*e));
  e->key = xstrdup(key);
  e->token = xstrdup(token);
  e->expires = expires;
  pthread_mutex_lock(&tc->lock);
  e->next = tc->entries;
  tc->entries = e;
  pthread_mutex_unlock(&tc->lock);
}
