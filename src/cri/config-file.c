/* mascrid's configuration file read into option arguments (config-file.h). */
#include "cri/config-file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"

const char *mascri_config_file_default_path(void)
{
  /* /etc whatever the install prefix, where CRI-O and containerd keep theirs */
  return "/etc/mascri/mascri.conf";
}

static int bad(const char *path, const char *key, const char *why, mascri_error_t *err)
{
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s: \"%s\": %s", path, key,
                                why);
}

static int add_value(const char *path, const char *key, yajl_val v, char ***args,
                     mascri_error_t *err)
{
  if (YAJL_IS_STRING(v)) {
    mascri_strv_push(args, xasprintf("--%s=%s", key, YAJL_GET_STRING(v)));
    return 0;
  }
  if (!YAJL_IS_ARRAY(v))
    return bad(path, key, "must be a string or an array of strings", err);
  for (size_t i = 0; i < mascri_json_array_len(v); i++) {
    yajl_val e = mascri_json_array_at(v, i);
    if (!YAJL_IS_STRING(e))
      return bad(path, key, "must be a string or an array of strings", err);
    mascri_strv_push(args, xasprintf("--%s=%s", key, YAJL_GET_STRING(e)));
  }
  return 0;
}

int mascri_config_file_args(const char *path, bool must_exist, char ***args, mascri_error_t *err)
{
  *args = NULL;
  if (!must_exist && access(path, F_OK) < 0 && errno == ENOENT)
    return 0;
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse_file(path, &root, err) < 0)
    return mascri_error_wrap(err, "configuration file");
  if (!YAJL_IS_OBJECT(root))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "%s: must hold a JSON object of option names and values", path);
  _cleanup_strv_ char **out = NULL;
  for (size_t i = 0; i < root->u.object.len; i++) {
    const char *key = root->u.object.keys[i];
    if (strcmp(key, "config") == 0 || strcmp(key, "help") == 0 || strcmp(key, "version") == 0)
      return bad(path, key, "is a command-line option only", err);
    if (add_value(path, key, root->u.object.values[i], &out, err) < 0)
      return -1;
  }
  *args = TAKE_PTR(out);
  return 0;
}
