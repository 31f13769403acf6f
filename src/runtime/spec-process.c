/* config.json "process": args, env, cwd, user, capabilities, rlimits, ... */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

void spec_process_clear(mascri_spec_process_t *p)
{
  free(p->user.additional_gids);
  free(p->user.username);
  mascri_strv_free(p->args);
  mascri_strv_free(p->env);
  free(p->cwd);
  free(p->rlimits);
  free(p->apparmor_profile);
  free(p->selinux_label);
  memset(p, 0, sizeof(*p));
}

void mascri_spec_process_free(mascri_spec_process_t *p)
{
  if (!p)
    return;
  spec_process_clear(p);
  free(p);
}

mascri_spec_process_t *mascri_spec_process_dup(const mascri_spec_process_t *p)
{
  mascri_spec_process_t *d = xmalloc(sizeof(*d));
  *d = *p;
  if (p->user.n_additional_gids) {
    d->user.additional_gids = xcalloc(p->user.n_additional_gids, sizeof(gid_t));
    memcpy(d->user.additional_gids, p->user.additional_gids,
           p->user.n_additional_gids * sizeof(gid_t));
  }
  d->user.username = p->user.username ? xstrdup(p->user.username) : NULL;
  d->args = mascri_strv_dup(p->args);
  d->env = mascri_strv_dup(p->env);
  d->cwd = p->cwd ? xstrdup(p->cwd) : NULL;
  if (p->n_rlimits) {
    d->rlimits = xcalloc(p->n_rlimits, sizeof(*p->rlimits));
    memcpy(d->rlimits, p->rlimits, p->n_rlimits * sizeof(*p->rlimits));
  }
  d->apparmor_profile = p->apparmor_profile ? xstrdup(p->apparmor_profile) : NULL;
  d->selinux_label = p->selinux_label ? xstrdup(p->selinux_label) : NULL;
  return d;
}

static int parse_user(yajl_val v, const char *where, mascri_spec_user_t *u, mascri_error_t *err)
{
  uint64_t n = 0;
  if (spec_check_object(v, where, err) < 0)
    return -EINVAL;
  if (!v)
    return 0;
  if (spec_get_uint(v, where, "uid", UINT32_MAX, &n, err) < 0)
    return -EINVAL;
  u->uid = (uid_t)n;
  n = 0;
  if (spec_get_uint(v, where, "gid", UINT32_MAX, &n, err) < 0)
    return -EINVAL;
  u->gid = (gid_t)n;
  int r = spec_get_uint(v, where, "umask", 07777, &n, err);
  if (r < 0)
    return -EINVAL;
  u->has_umask = r > 0;
  u->umask = (mode_t)n;
  if (spec_get_string(v, where, "username", &u->username, err) < 0)
    return -EINVAL;
  yajl_val g = mascri_json_get(v, "additionalGids");
  if (!g || YAJL_IS_NULL(g))
    return 0;
  _cleanup_free_ char *gw = xasprintf("%s.additionalGids", where);
  if (spec_check_array(g, gw, err) < 0)
    return -EINVAL;
  u->additional_gids = xcalloc(g->u.array.len + 1, sizeof(gid_t));
  for (size_t i = 0; i < g->u.array.len; i++) {
    yajl_val e = g->u.array.values[i];
    if (!YAJL_IS_INTEGER(e) || YAJL_GET_INTEGER(e) < 0 || YAJL_GET_INTEGER(e) > UINT32_MAX)
      return spec_field_error(err, gw, NULL, "element %zu: expected a gid", i);
    u->additional_gids[u->n_additional_gids++] = (gid_t)YAJL_GET_INTEGER(e);
  }
  return 0;
}

/* Capability name list → mask; unknown names are skipped with a warning like runc. */
static int parse_cap_set(yajl_val caps, const char *where, const char *key, uint64_t *out,
                         mascri_error_t *err)
{
  _cleanup_strv_ char **names = NULL;
  int r = spec_get_strv(caps, where, key, &names, err);
  if (r <= 0)
    return r;
  for (size_t i = 0; names[i]; i++) {
    cap_value_t cap;
    if (cap_from_name(names[i], &cap) < 0 || cap > 63) {
      log_warning("%s.%s: unknown capability \"%s\" ignored", where, key, names[i]);
      continue;
    }
    *out |= 1ULL << cap;
  }
  return 0;
}

static int parse_caps(yajl_val v, const char *where, mascri_spec_process_t *p, mascri_error_t *err)
{
  yajl_val caps = mascri_json_get(v, "capabilities");
  if (!caps || YAJL_IS_NULL(caps))
    return 0;
  _cleanup_free_ char *w = xasprintf("%s.capabilities", where);
  if (spec_check_object(caps, w, err) < 0)
    return -EINVAL;
  p->has_caps = true;
  if (parse_cap_set(caps, w, "bounding", &p->caps.bounding, err) < 0 ||
      parse_cap_set(caps, w, "effective", &p->caps.effective, err) < 0 ||
      parse_cap_set(caps, w, "inheritable", &p->caps.inheritable, err) < 0 ||
      parse_cap_set(caps, w, "permitted", &p->caps.permitted, err) < 0 ||
      parse_cap_set(caps, w, "ambient", &p->caps.ambient, err) < 0)
    return -EINVAL;
  return 0;
}

static int parse_rlimit(yajl_val e, const char *where, mascri_spec_rlimit_t *rl,
                        mascri_error_t *err)
{
  _cleanup_free_ char *type = NULL;
  if (spec_check_object(e, where, err) < 0 || spec_require_string(e, where, "type", &type, err) < 0)
    return -EINVAL;
  rl->resource = -1;
  for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
    if (strcmp(type, rlimit_names[i].name) == 0)
      rl->resource = rlimit_names[i].resource;
  if (rl->resource < 0)
    return spec_field_error(err, where, "type", "unknown rlimit \"%s\"", type);
  if (spec_get_u64(e, where, "soft", &rl->soft, err) < 0 ||
      spec_get_u64(e, where, "hard", &rl->hard, err) < 0)
    return -EINVAL;
  return 0;
}

static int parse_rlimits(yajl_val v, const char *where, mascri_spec_process_t *p,
                         mascri_error_t *err)
{
  yajl_val arr = mascri_json_get(v, "rlimits");
  if (!arr || YAJL_IS_NULL(arr))
    return 0;
  _cleanup_free_ char *w = xasprintf("%s.rlimits", where);
  if (spec_check_array(arr, w, err) < 0)
    return -EINVAL;
  p->rlimits = xcalloc(arr->u.array.len + 1, sizeof(*p->rlimits));
  for (size_t i = 0; i < arr->u.array.len; i++) {
    _cleanup_free_ char *ew = xasprintf("%s[%zu]", w, i);
    if (parse_rlimit(arr->u.array.values[i], ew, &p->rlimits[p->n_rlimits++], err) < 0)
      return -EINVAL;
  }
  return 0;
}

static int parse_console(yajl_val v, const char *where, mascri_spec_process_t *p,
                         mascri_error_t *err)
{
  yajl_val cs = mascri_json_get(v, "consoleSize");
  if (!cs || YAJL_IS_NULL(cs))
    return 0;
  _cleanup_free_ char *w = xasprintf("%s.consoleSize", where);
  uint64_t h = 0, wd = 0;
  if (spec_check_object(cs, w, err) < 0 || spec_get_uint(cs, w, "height", 65535, &h, err) < 0 ||
      spec_get_uint(cs, w, "width", 65535, &wd, err) < 0)
    return -EINVAL;
  p->console_height = (unsigned)h;
  p->console_width = (unsigned)wd;
  return 0;
}

int spec_parse_process(yajl_val v, const char *where, mascri_spec_process_t *p, mascri_error_t *err)
{
  int64_t oom = 0;
  if (spec_check_object(v, where, err) < 0)
    return -EINVAL;
  _cleanup_free_ char *uw = xasprintf("%s.user", where);
  if (spec_get_bool(v, where, "terminal", &p->terminal, err) < 0 ||
      parse_console(v, where, p, err) < 0 ||
      parse_user(mascri_json_get(v, "user"), uw, &p->user, err) < 0 ||
      spec_get_strv(v, where, "args", &p->args, err) < 0 ||
      spec_get_strv(v, where, "env", &p->env, err) < 0 ||
      spec_get_string(v, where, "cwd", &p->cwd, err) < 0 || parse_caps(v, where, p, err) < 0 ||
      parse_rlimits(v, where, p, err) < 0 ||
      spec_get_bool(v, where, "noNewPrivileges", &p->no_new_privileges, err) < 0 ||
      spec_get_string(v, where, "apparmorProfile", &p->apparmor_profile, err) < 0 ||
      spec_get_string(v, where, "selinuxLabel", &p->selinux_label, err) < 0)
    return -EINVAL;
  int r = spec_get_i64(v, where, "oomScoreAdj", &oom, err);
  if (r < 0)
    return -EINVAL;
  if (r > 0 && (oom < -1000 || oom > 1000))
    return spec_field_error(err, where, "oomScoreAdj", "must be within -1000..1000, got %lld",
                            (long long)oom);
  p->has_oom_score_adj = r > 0;
  p->oom_score_adj = (int)oom;
  if (p->cwd && p->cwd[0] != '/')
    return spec_field_error(err, where, "cwd", "must be an absolute path, got \"%s\"", p->cwd);
  return 0;
}

int mascri_spec_process_parse(const char *json, size_t len, mascri_spec_process_t **out,
                              mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(json, len, "process", &root, err) < 0)
    return -EINVAL;
  mascri_spec_process_t *p = xmalloc0(sizeof(*p));
  if (spec_parse_process(root, "process", p, err) < 0) {
    mascri_spec_process_free(p);
    return -EINVAL;
  }
  *out = p;
  return 0;
}
