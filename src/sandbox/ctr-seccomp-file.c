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
static bool is_array(yajl_val v)
{
  return YAJL_IS_ARRAY(v);
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

/* Docker's includes/excludes of a rule: caps, arches, minKernel. */
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

/* Docker's archMap: [{architecture, subArchitectures}], names the runtime knows. */
static int check_arch_map(yajl_val p, mascri_error_t *err)
{
  if (check_type(p, "seccomp", "archMap", is_array, "an array", err) < 0)
    return -1;
  yajl_val map = mascri_json_get(p, "archMap");
  for (size_t i = 0; i < mascri_json_array_len(map); i++) {
    _cleanup_free_ char *aw = xasprintf("seccomp.archMap[%zu]", i);
    yajl_val e = mascri_json_array_at(map, i);
    const char *arch = YAJL_IS_OBJECT(e) ? mascri_json_get_string(e, "architecture") : NULL;
    if (!arch)
      return bad(err, aw, "architecture", "required string missing");
    if (check_type(e, aw, "subArchitectures", is_string_array, "an array of strings", err) < 0)
      return -1;
    yajl_val subs = mascri_json_get(e, "subArchitectures");
    for (size_t j = 0; j < mascri_json_array_len(subs); j++) {
      const char *s = YAJL_GET_STRING(mascri_json_array_at(subs, j));
      if (mascri_seccomp_scmp_arch(s) == 0) {
        _cleanup_free_ char *k = xasprintf("subArchitectures[%zu]", j);
        _cleanup_free_ char *why = xasprintf("unknown architecture \"%s\"", s);
        return bad(err, aw, k, why);
      }
    }
  }
  return 0;
}

/* The OCI part is checked by the runtime's own parser (what it will read when the container
 * starts); here only Docker's extensions, which it ignores. */
static int check_profile(yajl_val p, mascri_error_t *err)
{
  if (!YAJL_IS_OBJECT(p)) {
    _cleanup_free_ char *why = xasprintf("must be an object, not %s", mascri_json_type_name(p));
    return bad(err, "seccomp", "", why);
  }
  if (mascri_seccomp_validate(p, "seccomp", err) < 0 || check_arch_map(p, err) < 0)
    return -1;
  yajl_val sys = mascri_json_get(p, "syscalls");
  for (size_t i = 0; i < mascri_json_array_len(sys); i++) {
    _cleanup_free_ char *rw = xasprintf("seccomp.syscalls[%zu]", i);
    yajl_val r = mascri_json_array_at(sys, i);
    if (check_filter(r, rw, "includes", err) < 0 || check_filter(r, rw, "excludes", err) < 0)
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
