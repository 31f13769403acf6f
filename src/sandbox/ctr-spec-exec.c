/* The OCI process of an ExecSync/Exec command: the container's own user, environment,
 * working directory, capabilities, no_new_privs and AppArmor profile (read back from its
 * config.json), with the command's args and terminal. */
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-spec.h"

static int gen_strings(yajl_gen g, yajl_val obj, const char *key, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(obj, key);
  if (!v)
    return 0;
  _cleanup_strv_ char **s = mascri_json_string_array(v, key, err);
  if (!s)
    return -1;
  mascri_json_gen_kv_strv(g, key, s);
  return 0;
}

static int gen_user(yajl_gen g, yajl_val user, mascri_error_t *err)
{
  int64_t uid = 0, gid = 0;
  if (mascri_json_get_int64(user, "uid", &uid) < 0 || mascri_json_get_int64(user, "gid", &gid) < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "container spec: process.user.uid/gid are not integers");
  mascri_json_gen_key(g, "user");
  yajl_gen_map_open(g);
  mascri_json_gen_kv_int(g, "uid", uid);
  mascri_json_gen_kv_int(g, "gid", gid);
  yajl_val extra = mascri_json_get(user, "additionalGids");
  mascri_json_gen_key(g, "additionalGids");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < mascri_json_array_len(extra); i++) {
    yajl_val e = mascri_json_array_at(extra, i);
    if (YAJL_IS_INTEGER(e))
      yajl_gen_integer(g, YAJL_GET_INTEGER(e));
  }
  yajl_gen_array_close(g);
  yajl_gen_map_close(g);
  return 0;
}

static int gen_caps(yajl_gen g, yajl_val caps, mascri_error_t *err)
{
  static const char *const sets[] = {"bounding", "effective", "permitted", "inheritable",
                                     "ambient"};
  mascri_json_gen_key(g, "capabilities");
  yajl_gen_map_open(g);
  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
    if (gen_strings(g, caps, sets[i], err) < 0)
      return -1;
  yajl_gen_map_close(g);
  return 0;
}

static int gen_process(yajl_gen g, yajl_val proc, const char *const *cmd, bool tty,
                       mascri_error_t *err)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_bool(g, "terminal", tty);
  if (gen_user(g, mascri_json_get(proc, "user"), err) < 0)
    return -1;
  mascri_json_gen_kv_strv(g, "args", (char *const *)cmd);
  if (gen_strings(g, proc, "env", err) < 0)
    return -1;
  const char *cwd = mascri_json_get_string(proc, "cwd");
  mascri_json_gen_kv_string(g, "cwd", cwd ? cwd : "/");
  yajl_val caps = mascri_json_get(proc, "capabilities");
  if (caps && gen_caps(g, caps, err) < 0)
    return -1;
  bool nnp = false;
  mascri_json_get_bool(proc, "noNewPrivileges", &nnp);
  mascri_json_gen_kv_bool(g, "noNewPrivileges", nnp);
  const char *aa = mascri_json_get_string(proc, "apparmorProfile");
  if (aa)
    mascri_json_gen_kv_string(g, "apparmorProfile", aa);
  yajl_gen_map_close(g);
  return 0;
}

int mascri_ctr_exec_process_json(const char *spec_json, const char *const *cmd, bool tty,
                                 char **json, mascri_error_t *err)
{
  if (!cmd || !cmd[0] || !*cmd[0])
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "cmd is empty");
  _cleanup_json_ yajl_val spec = NULL;
  if (mascri_json_parse(spec_json, strlen(spec_json), "container spec", &spec, err) < 0)
    return -1;
  yajl_val proc = mascri_json_get(spec, "process");
  if (!proc || !YAJL_IS_OBJECT(proc))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "container spec has no process object");
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  if (gen_process(g, proc, cmd, tty, err) < 0)
    return -1;
  *json = mascri_json_gen_take(g, NULL);
  return 0;
}
