/* config.json "linux.seccomp". Syscall names are resolved later, when the filter is
 * built (unknown names are skipped like runc does). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

static const struct {
  const char *name;
  mascri_seccomp_action_t action;
} actions[] = {
    {"SCMP_ACT_KILL", MASCRI_SECCOMP_KILL},
    {"SCMP_ACT_KILL_PROCESS", MASCRI_SECCOMP_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", MASCRI_SECCOMP_KILL_THREAD},
    {"SCMP_ACT_TRAP", MASCRI_SECCOMP_TRAP},
    {"SCMP_ACT_ERRNO", MASCRI_SECCOMP_ERRNO},
    {"SCMP_ACT_TRACE", MASCRI_SECCOMP_TRACE},
    {"SCMP_ACT_ALLOW", MASCRI_SECCOMP_ALLOW},
    {"SCMP_ACT_LOG", MASCRI_SECCOMP_LOG},
    {"SCMP_ACT_NOTIFY", MASCRI_SECCOMP_NOTIFY},
};

static const struct {
  const char *name;
  mascri_seccomp_op_t op;
} ops[] = {
    {"SCMP_CMP_NE", MASCRI_SECCOMP_OP_NE},
    {"SCMP_CMP_LT", MASCRI_SECCOMP_OP_LT},
    {"SCMP_CMP_LE", MASCRI_SECCOMP_OP_LE},
    {"SCMP_CMP_EQ", MASCRI_SECCOMP_OP_EQ},
    {"SCMP_CMP_GE", MASCRI_SECCOMP_OP_GE},
    {"SCMP_CMP_GT", MASCRI_SECCOMP_OP_GT},
    {"SCMP_CMP_MASKED_EQ", MASCRI_SECCOMP_OP_MASKED_EQ},
};

void spec_seccomp_clear(mascri_spec_seccomp_t *s)
{
  mascri_strv_free(s->architectures);
  mascri_strv_free(s->flags);
  for (size_t i = 0; i < s->n_rules; i++) {
    mascri_strv_free(s->rules[i].names);
    free(s->rules[i].args);
  }
  free(s->rules);
}

static int parse_action(yajl_val obj, const char *w, const char *key, bool required,
                        mascri_seccomp_action_t *out, mascri_error_t *err)
{
  _cleanup_free_ char *name = NULL;
  int r = required ? spec_require_string(obj, w, key, &name, err)
                   : spec_get_string(obj, w, key, &name, err);
  if (r <= 0)
    return r;
  for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
    if (strcmp(name, actions[i].name) == 0) {
      *out = actions[i].action;
      return 1;
    }
  return spec_field_error(err, w, key, "unknown seccomp action \"%s\"", name);
}

static int parse_arg(yajl_val e, const char *ew, mascri_spec_seccomp_arg_t *a, mascri_error_t *err)
{
  _cleanup_free_ char *op = NULL;
  uint64_t idx = 0;
  if (spec_check_object(e, ew, err) < 0 || spec_get_uint(e, ew, "index", 5, &idx, err) < 0 ||
      spec_get_u64(e, ew, "value", &a->value, err) < 0 ||
      spec_get_u64(e, ew, "valueTwo", &a->value_two, err) < 0 ||
      spec_require_string(e, ew, "op", &op, err) < 0)
    return -EINVAL;
  a->index = (unsigned)idx;
  for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
    if (strcmp(op, ops[i].name) == 0) {
      a->op = ops[i].op;
      return 0;
    }
  return spec_field_error(err, ew, "op", "unknown comparison \"%s\"", op);
}

static int parse_rule(yajl_val e, const char *ew, mascri_spec_seccomp_rule_t *rule,
                      mascri_error_t *err)
{
  uint64_t n = 0;
  int r;
  if (spec_check_object(e, ew, err) < 0 || spec_get_strv(e, ew, "names", &rule->names, err) < 0)
    return -EINVAL;
  _cleanup_free_ char *name = NULL;
  if (!rule->names) { /* the pre-1.0 "name" field */
    int r0 = spec_get_string(e, ew, "name", &name, err);
    if (r0 < 0)
      return -EINVAL;
    if (r0 == 0)
      return spec_field_error(err, ew, "names", "required but missing");
  }
  if (name)
    mascri_strv_append(&rule->names, name);
  if (parse_action(e, ew, "action", true, &rule->action, err) < 0)
    return -EINVAL;
  if ((r = spec_get_uint(e, ew, "errnoRet", UINT32_MAX, &n, err)) < 0)
    return -EINVAL;
  rule->has_errno_ret = r > 0;
  rule->errno_ret = (uint32_t)n;
  yajl_val args = mascri_json_get(e, "args");
  if (!args || YAJL_IS_NULL(args))
    return 0;
  _cleanup_free_ char *aw = xasprintf("%s.args", ew);
  if (spec_check_array(args, aw, err) < 0)
    return -EINVAL;
  rule->args = xcalloc(args->u.array.len + 1, sizeof(*rule->args));
  for (size_t i = 0; i < args->u.array.len; i++) {
    _cleanup_free_ char *w = xasprintf("%s[%zu]", aw, i);
    if (parse_arg(args->u.array.values[i], w, &rule->args[rule->n_args++], err) < 0)
      return -EINVAL;
  }
  return 0;
}

int spec_parse_seccomp(yajl_val v, const char *w, mascri_spec_seccomp_t *s, mascri_error_t *err)
{
  uint64_t n = 0;
  int r;
  if (spec_check_object(v, w, err) < 0 ||
      parse_action(v, w, "defaultAction", true, &s->default_action, err) < 0 ||
      spec_get_strv(v, w, "architectures", &s->architectures, err) < 0 ||
      spec_get_strv(v, w, "flags", &s->flags, err) < 0)
    return -EINVAL;
  if ((r = spec_get_uint(v, w, "defaultErrnoRet", UINT32_MAX, &n, err)) < 0)
    return -EINVAL;
  s->has_default_errno_ret = r > 0;
  s->default_errno_ret = (uint32_t)n;
  yajl_val sys = mascri_json_get(v, "syscalls");
  if (!sys || YAJL_IS_NULL(sys))
    return 0;
  _cleanup_free_ char *sw = xasprintf("%s.syscalls", w);
  if (spec_check_array(sys, sw, err) < 0)
    return -EINVAL;
  s->rules = xcalloc(sys->u.array.len + 1, sizeof(*s->rules));
  for (size_t i = 0; i < sys->u.array.len; i++) {
    _cleanup_free_ char *ew = xasprintf("%s[%zu]", sw, i);
    if (parse_rule(sys->u.array.values[i], ew, &s->rules[s->n_rules++], err) < 0)
      return -EINVAL;
  }
  return 0;
}
