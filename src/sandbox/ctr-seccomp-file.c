/* Localhost seccomp profiles: a JSON file on the node, validated as OCI linux.seccomp and
 * re-emitted. Docker's profile format (archMap, includes/excludes by capability, arch and
 * kernel) is accepted too and resolved here, as containerd and CRI-O do. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/fs.h"
#include "common/json-emit.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "runtime/seccomp-filter.h"
#include "sandbox/ctr-seccomp-internal.h"

static const char *const actions[] = {"SCMP_ACT_KILL",        "SCMP_ACT_KILL_PROCESS",
                                      "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                                      "SCMP_ACT_ERRNO",       "SCMP_ACT_TRACE",
                                      "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
                                      "SCMP_ACT_NOTIFY",      NULL};
/* the flags mascri's runtime knows (seccomp-filter.c) */
static const char *const flags[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                    "SECCOMP_FILTER_FLAG_TSYNC", NULL};
static const char *const ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
                                  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL};

static bool in_list(const char *const *list, const char *s)
{
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i], s) == 0)
      return true;
  return false;
}

static int bad(mascri_error_t *err, const char *where, const char *key, const char *why)
{
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s%s%s: %s", where,
                                key[0] ? "." : "", key, why);
}

/* An optional member, when present and not null, is of the wanted type; else -1 and an
 * error naming it. */
static int check_type(yajl_val obj, const char *where, const char *key, bool (*is)(yajl_val),
                      const char *type, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(obj, key);
  if (v == NULL || YAJL_IS_NULL(v) || is(v))
    return 0;
  _cleanup_free_ char *why = xasprintf("must be %s, not %s", type, mascri_json_type_name(v));
  return bad(err, where, key, why);
}
static bool is_string(yajl_val v)
{
  return YAJL_IS_STRING(v);
}
static bool is_object(yajl_val v)
{
  return YAJL_IS_OBJECT(v);
}
static bool is_array(yajl_val v)
{
  return YAJL_IS_ARRAY(v);
}

static bool is_uint(yajl_val v)
{
  if (!YAJL_IS_NUMBER(v))
    return false;
  const char *s = YAJL_GET_NUMBER(v);
  char *end = NULL;
  errno = 0;
  (void)strtoull(s, &end, 10);
  return s[0] >= '0' && s[0] <= '9' && errno == 0 && *end == '\0';
}

static bool is_string_array(yajl_val v)
{
  if (!YAJL_IS_ARRAY(v))
    return false;
  for (size_t i = 0; i < v->u.array.len; i++)
    if (!YAJL_IS_STRING(v->u.array.values[i]))
      return false;
  return true;
}

static int check_action(yajl_val obj, const char *where, const char *key, mascri_error_t *err)
{
  const char *a = mascri_json_get_string(obj, key);
  if (a == NULL)
    return bad(err, where, key, "required string missing");
  if (!in_list(actions, a)) {
    _cleanup_free_ char *why = xasprintf("unknown action \"%s\"", a);
    return bad(err, where, key, why);
  }
  return 0;
}

/* Every string of an (already type-checked) array passes ok(), else an error naming it. */
static int check_each(yajl_val obj, const char *where, const char *key, bool (*ok)(const char *),
                      const char *what, mascri_error_t *err)
{
  yajl_val arr = mascri_json_get(obj, key);
  for (size_t i = 0; i < mascri_json_array_len(arr); i++) {
    const char *s = YAJL_GET_STRING(mascri_json_array_at(arr, i));
    if (s && !ok(s)) {
      _cleanup_free_ char *k = xasprintf("%s[%zu]", key, i);
      _cleanup_free_ char *why = xasprintf("unknown %s \"%s\"", what, s);
      return bad(err, where, k, why);
    }
  }
  return 0;
}
static bool known_arch(const char *s)
{
  return mascri_seccomp_scmp_arch(s) != 0;
}
static bool known_flag(const char *s)
{
  return in_list(flags, s);
}

static int check_arg(yajl_val a, const char *where, mascri_error_t *err)
{
  if (!YAJL_IS_OBJECT(a))
    return bad(err, where, "", "must be an object");
  if (check_type(a, where, "index", is_uint, "a non-negative integer", err) < 0 ||
      check_type(a, where, "value", is_uint, "a non-negative integer", err) < 0 ||
      check_type(a, where, "valueTwo", is_uint, "a non-negative integer", err) < 0)
    return -1;
  int64_t idx = 0;
  if (mascri_json_get_int64(a, "index", &idx) != 1 || idx > 5)
    return bad(err, where, "index", "required, 0 to 5");
  const char *op = mascri_json_get_string(a, "op");
  if (op == NULL || !in_list(ops, op)) {
    _cleanup_free_ char *why = xasprintf("unknown comparison \"%s\"", op ? op : "");
    return bad(err, where, "op", why);
  }
  return 0;
}

static int check_filter(yajl_val rule, const char *where, const char *key, mascri_error_t *err)
{
  yajl_val f = mascri_json_get(rule, key);
  if (f == NULL || YAJL_IS_NULL(f))
    return 0;
  _cleanup_free_ char *w = xasprintf("%s.%s", where, key);
  if (!YAJL_IS_OBJECT(f))
    return bad(err, where, key, "must be an object");
  if (check_type(f, w, "caps", is_string_array, "an array of strings", err) < 0 ||
      check_type(f, w, "arches", is_string_array, "an array of strings", err) < 0 ||
      check_type(f, w, "minKernel", is_string, "a string", err) < 0)
    return -1;
  return 0;
}

static int check_rule(yajl_val r, const char *where, mascri_error_t *err)
{
  if (!YAJL_IS_OBJECT(r))
    return bad(err, where, "", "must be an object");
  yajl_val names = mascri_json_get(r, "names");
  if (check_type(r, where, "names", is_string_array, "an array of strings", err) < 0 ||
      check_type(r, where, "name", is_string, "a string", err) < 0 ||
      check_type(r, where, "errnoRet", is_uint, "a non-negative integer", err) < 0 ||
      check_action(r, where, "action", err) < 0 || check_filter(r, where, "includes", err) < 0 ||
      check_filter(r, where, "excludes", err) < 0)
    return -1;
  if (mascri_json_array_len(names) == 0 && !mascri_json_get_string(r, "name"))
    return bad(err, where, "names", "required, at least one syscall name");
  yajl_val args = mascri_json_get(r, "args");
  if (args == NULL || YAJL_IS_NULL(args))
    return 0;
  if (!YAJL_IS_ARRAY(args))
    return bad(err, where, "args", "must be an array");
  for (size_t i = 0; i < args->u.array.len; i++) {
    _cleanup_free_ char *w = xasprintf("%s.args[%zu]", where, i);
    if (check_arg(args->u.array.values[i], w, err) < 0)
      return -1;
  }
  return 0;
}

static int check_profile(yajl_val p, mascri_error_t *err)
{
  const char *w = "seccomp";
  if (!YAJL_IS_OBJECT(p)) {
    _cleanup_free_ char *why = xasprintf("must be an object, not %s", mascri_json_type_name(p));
    return bad(err, w, "", why);
  }
  if (check_action(p, w, "defaultAction", err) < 0 ||
      check_type(p, w, "defaultErrnoRet", is_uint, "a non-negative integer", err) < 0 ||
      check_type(p, w, "architectures", is_string_array, "an array of strings", err) < 0 ||
      check_type(p, w, "flags", is_string_array, "an array of strings", err) < 0 ||
      check_type(p, w, "listenerPath", is_string, "a string", err) < 0 ||
      check_type(p, w, "listenerMetadata", is_string, "a string", err) < 0 ||
      check_each(p, w, "architectures", known_arch, "architecture", err) < 0 ||
      check_each(p, w, "flags", known_flag, "flag", err) < 0)
    return -1;
  if (check_type(p, w, "archMap", is_array, "an array", err) < 0)
    return -1;
  yajl_val map = mascri_json_get(p, "archMap");
  for (size_t i = 0; i < mascri_json_array_len(map); i++) {
    _cleanup_free_ char *aw = xasprintf("seccomp.archMap[%zu]", i);
    yajl_val e = mascri_json_array_at(map, i);
    if (!is_object(e) || !mascri_json_get_string(e, "architecture"))
      return bad(err, aw, "architecture", "required string missing");
    if (check_type(e, aw, "subArchitectures", is_string_array, "an array of strings", err) < 0 ||
        check_each(e, aw, "subArchitectures", known_arch, "architecture", err) < 0)
      return -1;
  }
  yajl_val sys = mascri_json_get(p, "syscalls");
  if (sys == NULL || YAJL_IS_NULL(sys))
    return 0;
  if (!YAJL_IS_ARRAY(sys))
    return bad(err, w, "syscalls", "must be an array");
  for (size_t i = 0; i < sys->u.array.len; i++) {
    _cleanup_free_ char *rw = xasprintf("seccomp.syscalls[%zu]", i);
    if (check_rule(sys->u.array.values[i], rw, err) < 0)
      return -1;
  }
  return 0;
}

/* Docker's default profile is ~20 KiB; a profile of a MiB is already absurd. */
#define SECCOMP_PROFILE_MAX (1024 * 1024)

/* The path comes from the request: it must not be able to name /dev/zero, a FIFO or a
 * huge file and so hold a worker or the daemon's memory. */
int ctr_seccomp_load_file(const char *path, const char *field, yajl_val *out, mascri_error_t *err)
{
  _cleanup_json_ yajl_val p = NULL;
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  if (mascri_read_regular_file(path, SECCOMP_PROFILE_MAX, &buf, &len, err) < 0 ||
      mascri_json_parse(buf, len, path, &p, err) < 0 || check_profile(p, err) < 0)
    return mascri_error_wrap(err, "%s: seccomp profile `%s`", field, path);
  *out = TAKE_PTR(p);
  return 0;
}

/* Docker's includes.minKernel: the running kernel is at least "major.minor". */
static bool kernel_at_least(const char *min)
{
  struct utsname u;
  unsigned a = 0, b = 0, x = 0, y = 0;
  if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &x, &y) != 2 || sscanf(min, "%u.%u", &a, &b) < 1)
    return true;
  return x > a || (x == a && y >= b);
}

static bool any_in(yajl_val arr, char *const *caps, const char *arch)
{
  for (size_t i = 0; i < mascri_json_array_len(arr); i++) {
    const char *s = YAJL_GET_STRING(mascri_json_array_at(arr, i));
    if (arch ? strcmp(s, arch) == 0 : ctr_seccomp_has_cap(caps, s))
      return true;
  }
  return false;
}

static bool rule_applies(yajl_val rule, char *const *caps)
{
  const char *arch = ctr_seccomp_native_arch();
  yajl_val inc = mascri_json_get(rule, "includes"), exc = mascri_json_get(rule, "excludes");
  yajl_val icaps = mascri_json_get(inc, "caps"), iarches = mascri_json_get(inc, "arches");
  for (size_t i = 0; i < mascri_json_array_len(icaps); i++)
    if (!ctr_seccomp_has_cap(caps, YAJL_GET_STRING(mascri_json_array_at(icaps, i))))
      return false;
  if (mascri_json_array_len(iarches) > 0 && !any_in(iarches, NULL, arch))
    return false;
  const char *min = mascri_json_get_string(inc, "minKernel");
  if (min && !kernel_at_least(min))
    return false;
  return !any_in(mascri_json_get(exc, "caps"), caps, NULL) &&
         !any_in(mascri_json_get(exc, "arches"), NULL, arch);
}

static void gen_rule(yajl_gen g, yajl_val rule)
{
  yajl_gen_map_open(g);
  mascri_json_gen_key(g, "names");
  yajl_val names = mascri_json_get(rule, "names");
  if (mascri_json_array_len(names) > 0) {
    mascri_json_gen_value(g, names);
  } else {
    yajl_gen_array_open(g);
    mascri_json_gen_string(g, mascri_json_get_string(rule, "name"));
    yajl_gen_array_close(g);
  }
  static const char *const keep[] = {"action", "errnoRet", "args"};
  for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
    yajl_val v = mascri_json_get(rule, keep[i]);
    if (v && !YAJL_IS_NULL(v)) {
      mascri_json_gen_key(g, keep[i]);
      mascri_json_gen_value(g, v);
    }
  }
  yajl_gen_map_close(g);
}

/* Docker's archMap: the host's entry, as an architectures list. */
static void gen_arch_map(yajl_gen g, yajl_val map)
{
  const char *const *host = ctr_seccomp_host_architectures();
  for (size_t i = 0; host && i < mascri_json_array_len(map); i++) {
    yajl_val e = mascri_json_array_at(map, i);
    if (strcmp(mascri_json_get_string(e, "architecture"), host[0]) != 0)
      continue;
    mascri_json_gen_key(g, "architectures");
    yajl_gen_array_open(g);
    mascri_json_gen_string(g, host[0]);
    yajl_val subs = mascri_json_get(e, "subArchitectures");
    for (size_t j = 0; j < mascri_json_array_len(subs); j++)
      mascri_json_gen_value(g, mascri_json_array_at(subs, j));
    yajl_gen_array_close(g);
    return;
  }
}

void ctr_seccomp_gen_loaded(yajl_gen g, yajl_val p, char *const *caps)
{
  static const char *const keep[] = {"defaultAction", "defaultErrnoRet", "architectures",
                                     "flags",         "listenerPath",    "listenerMetadata"};
  yajl_gen_map_open(g);
  for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
    yajl_val v = mascri_json_get(p, keep[i]);
    if (v && !YAJL_IS_NULL(v)) {
      mascri_json_gen_key(g, keep[i]);
      mascri_json_gen_value(g, v);
    }
  }
  yajl_val arches = mascri_json_get(p, "architectures");
  if (arches == NULL || YAJL_IS_NULL(arches))
    gen_arch_map(g, mascri_json_get(p, "archMap"));
  yajl_val sys = mascri_json_get(p, "syscalls");
  if (sys && YAJL_IS_ARRAY(sys)) {
    mascri_json_gen_key(g, "syscalls");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < sys->u.array.len; i++)
      if (rule_applies(sys->u.array.values[i], caps))
        gen_rule(g, sys->u.array.values[i]);
    yajl_gen_array_close(g);
  }
  yajl_gen_map_close(g);
}
