#include "image/reference.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "common/xalloc.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_hex_lower(char c)
{
  return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

bool mascri_digest_valid(const char *digest)
{
  if (!digest || strncmp(digest, "sha256:", 7) != 0)
    return false;
  const char *h = digest + 7;
  if (strlen(h) != 64)
    return false;
  for (; *h; h++)
    if (!is_hex_lower(*h))
      return false;
  return true;
}

/* path-component: [a-z0-9]+ (separator [a-z0-9]+)*, separator: [_.] | __ | -+ */
static bool valid_component(const char *s, size_t len)
{
  size_t i = 0;
  if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
    return false;
  while (i < len) {
    if (is_lower_alnum(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < len && !is_lower_alnum(s[j]))
      j++;
    size_t n = j - i;
    bool ok =
        (n == 1 && (s[i] == '_' || s[i] == '.')) || (n == 2 && s[i] == '_' && s[i + 1] == '_');
    if (!ok) {
      ok = true;
      for (size_t k = i; k < j; k++)
        if (s[k] != '-')
          ok = false;
    }
    if (!ok)
      return false;
    i = j;
  }
  return true;
}

/* host[:port]: labels of [A-Za-z0-9-] separated by dots, or a bracketed IPv6 address. */
static bool valid_domain(const char *s, size_t len)
{
  size_t hostlen = len;
  const char *colon = NULL;
  if (len == 0)
    return false;
  if (s[0] == '[') {
    const char *end = memchr(s, ']', len);
    if (!end)
      return false;
    hostlen = end - s + 1;
    if (hostlen < len && s[hostlen] != ':')
      return false;
  } else {
    colon = memchr(s, ':', len);
    if (colon)
      hostlen = colon - s;
    for (size_t i = 0; i < hostlen; i++) {
      char c = s[i];
      if (!(isalnum((unsigned char)c) || c == '-' || c == '.'))
        return false;
    }
    if (hostlen == 0 || s[0] == '.' || s[0] == '-' || s[hostlen - 1] == '.' ||
        s[hostlen - 1] == '-')
      return false;
  }
  if (hostlen < len) {
    size_t plen = len - hostlen - 1;
    if (plen == 0 || plen > 5)
      return false;
    for (size_t i = hostlen + 1; i < len; i++)
      if (!isdigit((unsigned char)s[i]))
        return false;
  }
  return true;
}

static bool valid_tag(const char *t)
{
  size_t len = strlen(t);
  if (len == 0 || len > TAG_MAX_LEN)
    return false;
  if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 1; i < len; i++)
    if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

static int bad(mascri_error_t *err, const char *s, const char *why)
{
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                "invalid image reference \"%s\": %s", s, why);
}

/* Splits "name[:tag][@digest]" into its parts (name keeps the domain). */
static int split_ref(const char *s, char **name, char **tag, char **digest, mascri_error_t *err)
{
  _cleanup_free_ char *copy = xstrdup(s);
  char *at = strchr(copy, '@');
  if (at) {
    *at = '\0';
    if (!mascri_digest_valid(at + 1))
      return bad(err, s, "the digest must be sha256:<64 lowercase hex digits>");
    *digest = xstrdup(at + 1);
  }
  char *slash = strrchr(copy, '/');
  char *colon = strrchr(slash ? slash : copy, ':');
  if (colon) {
    *colon = '\0';
    if (!valid_tag(colon + 1))
      return bad(err, s, "invalid tag");
    *tag = xstrdup(colon + 1);
  }
  *name = TAKE_PTR(copy);
  return 0;
}

static bool looks_like_domain(const char *first, size_t len)
{
  if (len == 9 && strncmp(first, "localhost", 9) == 0)
    return true;
  for (size_t i = 0; i < len; i++)
    if (first[i] == '.' || first[i] == ':' || isupper((unsigned char)first[i]))
      return true;
  return false;
}

static int split_name(const char *s, const char *name, struct mascri_reference *ref,
                      mascri_error_t *err)
{
  const char *slash = strchr(name, '/');
  const char *path = name;
  if (slash && looks_like_domain(name, slash - name)) {
    if (!valid_domain(name, slash - name))
      return bad(err, s, "invalid registry host");
    ref->domain = xstrndup(name, slash - name);
    path = slash + 1;
  } else {
    ref->domain = xstrdup("docker.io");
  }
  if (strcmp(ref->domain, "index.docker.io") == 0) {
    free(ref->domain);
    ref->domain = xstrdup("docker.io");
  }
  for (const char *p = path;;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (!valid_component(p, n))
      return bad(err, s, "repository names must be lowercase letters, digits and separators");
    if (!e)
      break;
    p = e + 1;
  }
  if (strcmp(ref->domain, "docker.io") == 0 && !strchr(path, '/'))
    ref->path = xasprintf("library/%s", path);
  else
    ref->path = xstrdup(path);
  return 0;
}

int mascri_reference_parse(const char *s, struct mascri_reference *ref, mascri_error_t *err)
{
  _cleanup_free_ char *name = NULL;
  memset(ref, 0, sizeof(*ref));
  if (!s || !*s)
    return bad(err, s ? s : "", "empty");
  if (strlen(s) > NAME_MAX_LEN + TAG_MAX_LEN + 80)
    return bad(err, s, "too long");
  for (const char *p = s; *p; p++)
    if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
      return bad(err, s, "contains whitespace or control characters");
  if (split_ref(s, &name, &ref->tag, &ref->digest, err) < 0)
    goto fail;
  if (strlen(name) > NAME_MAX_LEN) {
    bad(err, s, "repository name longer than 255 characters");
    goto fail;
  }
  if (split_name(s, name, ref, err) < 0)
    goto fail;
  if (!ref->tag && !ref->digest)
    ref->tag = xstrdup("latest");
  return 0;
fail:
  mascri_reference_clear(ref);
  return -1;
}

void mascri_reference_clear(struct mascri_reference *ref)
{
  free(ref->domain);
  free(ref->path);
  free(ref->tag);
  free(ref->digest);
  memset(ref, 0, sizeof(*ref));
}

char *mascri_reference_name(const struct mascri_reference *ref)
{
  return xasprintf("%s/%s", ref->domain, ref->path);
}

char *mascri_reference_tagged(const struct mascri_reference *ref)
{
  if (!ref->tag)
    return NULL;
  return xasprintf("%s/%s:%s", ref->domain, ref->path, ref->tag);
}

char *mascri_reference_with_digest(const struct mascri_reference *ref, const char *digest)
{
  return xasprintf("%s/%s@%s", ref->domain, ref->path, digest);
}

char *mascri_reference_string(const struct mascri_reference *ref)
{
  if (ref->tag)
    return mascri_reference_tagged(ref);
  return mascri_reference_with_digest(ref, ref->digest);
}

const char *mascri_reference_api_host(const struct mascri_reference *ref)
{
  if (strcmp(ref->domain, "docker.io") == 0)
    return "registry-1.docker.io";
  return ref->domain;
}
