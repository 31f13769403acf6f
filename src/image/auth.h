/* Registry authentication: WWW-Authenticate challenges, Bearer tokens (cached per realm,
 * service and scope), Basic credentials from the request, mascri's config or a Docker
 * config.json. */
#ifndef MASCRI_IMAGE_AUTH_H
#define MASCRI_IMAGE_AUTH_H

#include <pthread.h>
#include <time.h>

#include "common/error.h"

struct mascri_challenge {
  char *scheme; /* "bearer" or "basic" (lowercase) */
  char *realm;
  char *service;
  char *scope;
};

/* Parses the first challenge of a WWW-Authenticate header value. */
int mascri_challenge_parse(const char *header, struct mascri_challenge *out, mascri_error_t *err);
void mascri_challenge_clear(struct mascri_challenge *c);

struct mascri_credentials {
  char *username;
  char *password;
  char *identity_token; /* OAuth2 refresh token */
  char *registry_token; /* a Bearer token to use as is */
};
void mascri_credentials_clear(struct mascri_credentials *c);
/* Decodes base64 "user:password". */
int mascri_credentials_from_auth(const char *auth, struct mascri_credentials *out,
                                 mascri_error_t *err);
/* Looks host up in a Docker config.json ("auths": {host: {auth|username/password|
 * identitytoken}}); 0 and empty credentials when absent. path NULL: the default places. */
int mascri_credentials_from_docker_config(const char *path, const char *host,
                                          struct mascri_credentials *out, mascri_error_t *err);

struct token_entry;
struct mascri_token_cache {
  pthread_mutex_t lock;
  struct token_entry *entries;
};
void mascri_token_cache_init(struct mascri_token_cache *tc);
void mascri_token_cache_clear(struct mascri_token_cache *tc);
/* A cached, unexpired token for key or NULL (copy). */
char *mascri_token_cache_get(struct mascri_token_cache *tc, const char *key);
void mascri_token_cache_put(struct mascri_token_cache *tc, const char *key, const char *token,
                            time_t expires);

#endif
