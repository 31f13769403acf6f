#include "image/config.h"

#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/reference.h"

static char *opt_string(yajl_val obj, const char *key)
{
  const char *s = mascri_json_get_string(obj, key);
  return s ? xstrdup(s) : NULL;
}

/* Keys of an object ({"8080/tcp": {}}) as a vector. */
static char **object_keys(yajl_val obj)
{
  char **v = NULL;
  v = xcalloc(1, sizeof(char *));
  if (obj && YAJL_IS_OBJECT(obj))
    for (size_t i = 0; i < obj->u.object.len; i++)
      mascri_strv_append(&v, obj->u.object.keys[i]);
  return v;
}

static bool clean_absolute(const char *p)
{
  if (p[0] != '/')
    return false;
  for (const char *c = p; *c;) {
    while (*c == '/')
      c++;
    const char *e = strchrnul(c, '/');
    if (e - c == 2 && c[0] == '.' && c[1] == '.')
      return false;
    c = e;
  }
  return true;
}

static int parse_container_config(yajl_val cc, struct mascri_image_info *info, mascri_error_t *err)
{
  if (!(info->env = mascri_json_string_array(mascri_json_get(cc, "Env"), "Env", err)) ||
      !(info->entrypoint =
            mascri_json_string_array(mascri_json_get(cc, "Entrypoint"), "Entrypoint", err)) ||
      !(info->cmd = mascri_json_string_array(mascri_json_get(cc, "Cmd"), "Cmd", err)))
    return -1;
  info->user = opt_string(cc, "User");
  info->working_dir = opt_string(cc, "WorkingDir");
  info->stop_signal = opt_string(cc, "StopSignal");
  info->exposed_ports = object_keys(mascri_json_get(cc, "ExposedPorts"));
  info->volumes = object_keys(mascri_json_get(cc, "Volumes"));
  for (char **v = info->volumes; *v; v++)
    if (!clean_absolute(*v))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "image config: volume path \"%s\" is not a clean absolute "
                                    "path",
                                    *v);
  yajl_val labels = mascri_json_get(cc, "Labels");
  info->labels = NULL;
  info->labels = xcalloc(1, sizeof(char *));
  if (labels && YAJL_IS_OBJECT(labels))
    for (size_t i = 0; i < labels->u.object.len; i++) {
      yajl_val v = labels->u.object.values[i];
      mascri_strv_push(&info->labels, xasprintf("%s=%s", labels->u.object.keys[i],
                                                YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : ""));
    }
  return 0;
}

int mascri_image_config_parse(const char *buf, size_t len, struct mascri_image_info *info,
                              char ***diff_ids, mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(buf, len, "image config", &root, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT(root))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "image config is not a JSON object");
  info->os = opt_string(root, "os");
  info->architecture = opt_string(root, "architecture");
  info->created = opt_string(root, "created");
  yajl_val cc = mascri_json_get(root, "config");
  if (parse_container_config(cc, info, err) < 0)
    return mascri_error_wrap(err, "image config");
  const char *path[] = {"rootfs", "diff_ids", NULL};
  char **ids = mascri_json_string_array(mascri_json_get_path(root, path), "rootfs.diff_ids", err);
  if (!ids)
    return -1;
  for (char **d = ids; *d; d++) {
    if (!mascri_digest_valid(*d)) {
      mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                             "image config: bad diff ID \"%s\"", *d);
      mascri_strv_free(ids);
      return -1;
    }
  }
  *diff_ids = ids;
  return 0;
}

char **mascri_chain_ids(char *const *diff_ids)
{
  char **out = NULL;
  out = xcalloc(1, sizeof(char *));
  _cleanup_free_ char *prev = NULL;
  for (size_t i = 0; diff_ids[i]; i++) {
    char *cur;
    if (!prev) {
      cur = xstrdup(diff_ids[i]);
    } else {
      _cleanup_free_ char *s = xasprintf("%s %s", prev, diff_ids[i]);
      cur = mascri_digest_buffer(s, strlen(s));
    }
    mascri_strv_append(&out, cur);
    free(prev);
    prev = cur;
  }
  return out;
}
