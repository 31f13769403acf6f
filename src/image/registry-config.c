#include "image/registry-config.h"

#include <stddef.h>
#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "mascri-config.h"

struct owned_config {
  struct mascri_registry_config pub; /* first: the public part */
  yajl_val root;                     /* the strings point into it */
  struct mascri_registry_host *hosts;
};

const char *mascri_registry_config_default_path(void)
{
  return MASCRI_SYSCONFDIR "/mascri/registries.json";
}

static const char *str_or_null(yajl_val v, const char *key, bool *bad)
{
  yajl_val m = mascri_json_get(v, key);
  if (m && !YAJL_IS_STRING(m))
    *bad = true;
  return m ? YAJL_GET_STRING(m) : NULL;
}

static int parse_host(const char *name, yajl_val v, struct mascri_registry_host *h,
                      mascri_error_t *err)
{
  bool bad = !YAJL_IS_OBJECT(v), insecure = false;
  h->host = name;
  h->ca_file = str_or_null(v, "ca_file", &bad);
  h->username = str_or_null(v, "username", &bad);
  h->password = str_or_null(v, "password", &bad);
  if (mascri_json_get_bool(v, "insecure", &insecure) < 0)
    bad = true;
  h->insecure = insecure;
  yajl_val m = mascri_json_get(v, "mirrors");
  size_t n = mascri_json_array_len(m);
  const char **mirrors = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    yajl_val e = mascri_json_array_at(m, i);
    if (!YAJL_IS_STRING(e))
      bad = true;
    else
      mirrors[i] = YAJL_GET_STRING(e);
  }
  h->mirrors = mirrors;
  if (bad || (m && !YAJL_IS_ARRAY(m)))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "registry \"%s\": mirrors must be strings, insecure a bool, "
                                  "ca_file/username/password strings",
                                  name);
  return 0;
}

int mascri_registry_config_load(const char *path, bool optional,
                                struct mascri_registry_config **out, mascri_error_t *err)
{
  struct owned_config *c = xmalloc0(sizeof(*c));
  int64_t par = 0;
  if (!path)
    path = mascri_registry_config_default_path();
  if (optional && !mascri_path_exists(path)) {
    *out = &c->pub;
    return 0;
  }
  if (mascri_json_parse_file(path, &c->root, err) < 0)
    goto fail;
  yajl_val regs = mascri_json_get(c->root, "registries");
  if (regs && !YAJL_IS_OBJECT(regs)) {
    mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "\"registries\" is not an object");
    goto fail;
  }
  size_t n = regs ? regs->u.object.len : 0;
  c->hosts = xcalloc(n + 1, sizeof(*c->hosts));
  for (size_t i = 0; i < n; i++) {
    c->pub.n_hosts = i + 1;
    if (parse_host(regs->u.object.keys[i], regs->u.object.values[i], &c->hosts[i], err) < 0)
      goto fail;
  }
  c->pub.hosts = c->hosts;
  c->pub.docker_config = mascri_json_get_string(c->root, "docker_config");
  if (mascri_json_get_int64(c->root, "max_parallel", &par) == 1 && par > 0 && par <= 64)
    c->pub.max_parallel = (unsigned)par;
  *out = &c->pub;
  return 0;
fail:
  mascri_registry_config_free(&c->pub);
  return mascri_error_wrap(err, "registry config %s", path);
}

void mascri_registry_config_free(struct mascri_registry_config *pub)
{
  if (!pub)
    return;
  struct owned_config *c =
      (struct owned_config *)((char *)pub - offsetof(struct owned_config, pub));
  for (size_t i = 0; i < c->pub.n_hosts; i++)
    free((void *)c->hosts[i].mirrors);
  free(c->hosts);
  if (c->root)
    yajl_tree_free(c->root);
  free(c);
}
