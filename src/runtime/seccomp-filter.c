/* linux.seccomp → libseccomp. */
#include "runtime/seccomp-filter.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

uint32_t mascri_seccomp_scmp_action(mascri_seccomp_action_t action, bool has_errno,
                                    uint32_t errno_ret)
{
  switch (action) {
  case MASCRI_SECCOMP_KILL:
  case MASCRI_SECCOMP_KILL_THREAD:
    return SCMP_ACT_KILL_THREAD;
  case MASCRI_SECCOMP_KILL_PROCESS:
    return SCMP_ACT_KILL_PROCESS;
  case MASCRI_SECCOMP_TRAP:
    return SCMP_ACT_TRAP;
  case MASCRI_SECCOMP_ERRNO:
    return SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
  case MASCRI_SECCOMP_TRACE:
    return SCMP_ACT_TRACE(has_errno ? errno_ret : EPERM);
  case MASCRI_SECCOMP_ALLOW:
    return SCMP_ACT_ALLOW;
  case MASCRI_SECCOMP_LOG:
    return SCMP_ACT_LOG;
  case MASCRI_SECCOMP_NOTIFY:
    return SCMP_ACT_NOTIFY;
  }
  return SCMP_ACT_KILL_PROCESS;
}

uint32_t mascri_seccomp_scmp_arch(const char *name)
{
  if (strncmp(name, "SCMP_ARCH_", 10) != 0)
    return 0;
  _cleanup_free_ char *lower = xstrdup(name + 10);
  for (char *p = lower; *p; p++)
    *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  return seccomp_arch_resolve_name(lower);
}

static enum scmp_compare scmp_op(mascri_seccomp_op_t op)
{
  static const enum scmp_compare ops[] = {
      [MASCRI_SECCOMP_OP_NE] = SCMP_CMP_NE,
      [MASCRI_SECCOMP_OP_LT] = SCMP_CMP_LT,
      [MASCRI_SECCOMP_OP_LE] = SCMP_CMP_LE,
      [MASCRI_SECCOMP_OP_EQ] = SCMP_CMP_EQ,
      [MASCRI_SECCOMP_OP_GE] = SCMP_CMP_GE,
      [MASCRI_SECCOMP_OP_GT] = SCMP_CMP_GT,
      [MASCRI_SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
  };
  return ops[op];
}

static int add_rule(scmp_filter_ctx ctx, const mascri_spec_seccomp_rule_t *rule, uint32_t def,
                    mascri_error_t *err)
{
  uint32_t action = mascri_seccomp_scmp_action(rule->action, rule->has_errno_ret, rule->errno_ret);
  if (action == def)
    return 0;
  struct scmp_arg_cmp cmps[6];
  size_t n = rule->n_args > 6 ? 6 : rule->n_args;
  for (size_t i = 0; i < n; i++) {
    cmps[i].arg = rule->args[i].index;
    cmps[i].op = scmp_op(rule->args[i].op);
    cmps[i].datum_a = rule->args[i].value;
    cmps[i].datum_b = rule->args[i].value_two;
  }
  for (size_t i = 0; rule->names && rule->names[i]; i++) {
    int nr = seccomp_syscall_resolve_name(rule->names[i]);
    if (nr == __NR_SCMP_ERROR) {
      log_debug("seccomp: unknown syscall %s skipped", rule->names[i]);
      continue;
    }
    int r = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, cmps);
    if (r == -EINVAL && n > 1) {
      /* several conditions on the same argument: add one rule per condition (OR) like runc */
      for (size_t j = 0; j < n && r < 0; j++)
        r = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[j]);
    }
    if (r < 0 && r != -EEXIST)
      return mascri_make_error(err, -r, "seccomp: add rule for %s", rule->names[i]);
  }
  return 0;
}

/* The filter flags of linux.seccomp.flags this runtime sets (as libseccomp attributes). */
static const struct {
  const char *name;
  enum scmp_filter_attr attr;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
};

/* The libseccomp attribute of a flag, 0 when unknown. */
static enum scmp_filter_attr flag_attr(const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
    if (strcmp(flags[i].name, name) == 0)
      return flags[i].attr;
  return 0;
}

static int set_flags(scmp_filter_ctx ctx, char *const *names, mascri_error_t *err)
{
  for (size_t i = 0; names && names[i]; i++) {
    enum scmp_filter_attr attr = flag_attr(names[i]);
    if (!attr)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.seccomp.flags: unknown flag \"%s\"", names[i]);
    if (seccomp_attr_set(ctx, attr, 1) < 0)
      log_warning("seccomp flag %s is not supported here", names[i]);
  }
  return 0;
}

int mascri_seccomp_validate(yajl_val v, const char *where, mascri_error_t *err)
{
  _cleanup_(spec_seccomp_clear) mascri_spec_seccomp_t s = {0};
  if (spec_parse_seccomp(v, where, &s, err) < 0)
    return -1;
  for (size_t i = 0; s.architectures && s.architectures[i]; i++)
    if (mascri_seccomp_scmp_arch(s.architectures[i]) == 0)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "%s.architectures[%zu]: unknown architecture \"%s\"", where, i,
                                    s.architectures[i]);
  for (size_t i = 0; s.flags && s.flags[i]; i++)
    if (!flag_attr(s.flags[i]))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "%s.flags[%zu]: unknown flag \"%s\"", where, i, s.flags[i]);
  return 0;
}

int mascri_seccomp_build(const mascri_spec_seccomp_t *s, scmp_filter_ctx *out, mascri_error_t *err)
{
  uint32_t def =
      mascri_seccomp_scmp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx)
    return mascri_make_error(err, EINVAL, "seccomp_init");
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
    uint32_t arch = mascri_seccomp_scmp_arch(s->architectures[i]);
    if (arch == 0) {
      seccomp_release(ctx);
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.seccomp.architectures: unknown \"%s\"",
                                    s->architectures[i]);
    }
    int r = seccomp_arch_add(ctx, arch);
    if (r < 0 && r != -EEXIST) {
      seccomp_release(ctx);
      return mascri_make_error(err, -r, "seccomp: add architecture %s", s->architectures[i]);
    }
  }
  if (set_flags(ctx, s->flags, err) < 0) {
    seccomp_release(ctx);
    return -1;
  }
  for (size_t i = 0; i < s->n_rules; i++)
    if (add_rule(ctx, &s->rules[i], def, err) < 0) {
      seccomp_release(ctx);
      return -1;
    }
  *out = ctx;
  return 0;
}

int mascri_seccomp_load(const mascri_spec_seccomp_t *s, mascri_error_t *err)
{
  scmp_filter_ctx ctx = NULL;
  if (mascri_seccomp_build(s, &ctx, err) < 0)
    return -1;
  int r = seccomp_load(ctx);
  seccomp_release(ctx);
  if (r < 0)
    return mascri_make_error(err, -r, "load the seccomp filter");
  return 0;
}
