#include "netns/cni-config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "netns/cni-json.h"

void netns_cni_netconf_clear(struct netns_cni_netconf *nc)
{
  free(nc->path);
  free(nc->text);
  free(nc->name);
  free(nc->version);
  if (nc->tree)
    yajl_tree_free(nc->tree);
  memset(nc, 0, sizeof(*nc));
}

static bool has_suffix(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *netns_cni_first_config(const char *dir)
{
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (d == NULL)
    return NULL;
  _cleanup_strv_ char **names = xmalloc0(sizeof(char *));
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    if (has_suffix(de->d_name, ".conflist") || has_suffix(de->d_name, ".conf") ||
        has_suffix(de->d_name, ".json"))
      mascri_strv_append(&names, de->d_name);
  }
  size_t n = mascri_strv_length(names);
  if (n == 0)
    return NULL;
  qsort(names, n, sizeof(char *), cmp_str);
  return mascri_path_join(dir, names[0]);
}

/* Wraps a single network config into a list: {cniVersion, name, plugins: [conf]}. */
static char *wrap_single(yajl_val conf, const char *name, const char *version)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "cniVersion", version);
  mascri_json_gen_kv_string(g, "name", name);
  mascri_json_gen_key(g, "plugins");
  yajl_gen_array_open(g);
  netns_json_gen_value(g, conf);
  yajl_gen_array_close(g);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

static int validate(struct netns_cni_netconf *out, const char *what, mascri_error_t *err)
{
  out->plugins = mascri_json_get(out->tree, "plugins");
  size_t n = mascri_json_array_len(out->plugins);
  if (!YAJL_IS_ARRAY(out->plugins) || n == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "CNI config %s: no plugins",
                                  what);
  for (size_t i = 0; i < n; i++) {
    const char *type = mascri_json_get_string(mascri_json_array_at(out->plugins, i), "type");
    if (type == NULL || *type == '\0' || strchr(type, '/'))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "CNI config %s: plugin %zu has no valid type", what, i);
  }
  bool b = false;
  if (mascri_json_get_bool(out->tree, "disableCheck", &b) == 1)
    out->disable_check = b;
  return 0;
}

int netns_cni_netconf_parse(const char *text, size_t len, const char *what,
                            struct netns_cni_netconf *out, mascri_error_t *err)
{
  _cleanup_json_ yajl_val v = NULL;
  memset(out, 0, sizeof(*out));
  if (mascri_json_parse(text, len, what, &v, err) < 0)
    return -1;
  const char *name = mascri_json_get_string(v, "name");
  const char *version = mascri_json_get_string(v, "cniVersion");
  if (name == NULL || *name == '\0')
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "CNI config %s: no network name", what);
  if (version == NULL)
    version = "0.2.0"; /* what libcni assumes when absent */
  out->name = xstrdup(name);
  out->version = xstrdup(version);
  if (mascri_json_get(v, "plugins"))
    out->text = xstrndup(text, len);
  else
    out->text = wrap_single(v, name, version);
  if (mascri_json_parse(out->text, strlen(out->text), what, &out->tree, err) < 0 ||
      validate(out, what, err) < 0) {
    netns_cni_netconf_clear(out);
    return -1;
  }
  return 0;
}

int netns_cni_netconf_load(const char *path, struct netns_cni_netconf *out, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  memset(out, 0, sizeof(*out));
  if (mascri_read_file(path, &buf, &len, err) < 0)
    return mascri_error_wrap(err, "CNI config");
  if (netns_cni_netconf_parse(buf, len, path, out, err) < 0)
    return -1;
  out->path = xstrdup(path);
  return 0;
}
