/* The seccomp section of CRI container specs: profile choice, the default profile (and that
 * mascri's runtime accepts and builds it), Localhost profiles in OCI and Docker format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"
#include "common/json-emit.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "runtime/seccomp-filter.h"
#include "runtime/spec.h"
#include "sandbox/ctr-seccomp.h"

static char *const default_caps[] = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SYS_CHROOT",
                                     NULL};
static char *const admin_caps[] = {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", NULL};

struct fixture {
  char dir[64];
  struct mascri_ctr_security sc; /* borrows everything: never cleared */
};

static int setup(void **state)
{
  struct fixture *f = xcalloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/mascri-ctr-seccomp-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static char *write_profile(struct fixture *f, const char *name, const char *text)
{
  char *p = mascri_path_join(f->dir, name);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_write_file_atomic(p, text, strlen(text), 0644, &err), 0);
  return p;
}

/* Runs the generator inside an object; returns the parsed object ({} when unconfined), or
 * NULL with *err set. */
static yajl_val gen(const struct mascri_ctr_security *sc, bool privileged, char *const *caps,
                    mascri_error_t *err)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  if (mascri_ctr_seccomp_gen(g, sc, privileged, caps, err) < 0)
    return NULL;
  yajl_gen_map_close(g);
  size_t len = 0;
  _cleanup_free_ char *text = mascri_json_gen_take(g, &len);
  yajl_val v = NULL;
  _cleanup_error_ mascri_error_t perr = NULL;
  assert_int_equal(mascri_json_parse(text, len, "generated", &v, &perr), 0);
  return v;
}

static yajl_val gen_ok(const struct mascri_ctr_security *sc, bool privileged, char *const *caps)
{
  _cleanup_error_ mascri_error_t err = NULL;
  yajl_val v = gen(sc, privileged, caps, &err);
  if (v == NULL)
    fail_msg("unexpected error: %s", mascri_error_message(&err));
  return v;
}

static void expect_error(const struct mascri_ctr_security *sc, mascri_error_kind_t kind,
                         const char *needle)
{
  _cleanup_error_ mascri_error_t err = NULL;
  yajl_val v = gen(sc, false, default_caps, &err);
  assert_null(v);
  assert_non_null(err);
  if (!strstr(mascri_error_message(&err), needle))
    fail_msg("error \"%s\" does not mention \"%s\"", mascri_error_message(&err), needle);
  assert_int_equal(mascri_error_kind(&err), kind);
}

static const char *str_at(yajl_val arr, size_t i)
{
  const char *s = YAJL_GET_STRING(mascri_json_array_at(arr, i));
  assert_non_null(s);
  return s;
}

/* Rules of the profile naming syscall `name`. */
static size_t count_rules(yajl_val seccomp, const char *name, yajl_val *last)
{
  yajl_val sys = mascri_json_get(seccomp, "syscalls");
  size_t n = 0;
  for (size_t i = 0; i < mascri_json_array_len(sys); i++) {
    yajl_val r = mascri_json_array_at(sys, i);
    yajl_val names = mascri_json_get(r, "names");
    for (size_t j = 0; j < mascri_json_array_len(names); j++)
      if (strcmp(str_at(names, j), name) == 0) {
        n++;
        if (last)
          *last = r;
      }
  }
  return n;
}

static void test_unconfined_choices(void **state)
{
  struct fixture *f = *state;
  _cleanup_json_ yajl_val a = gen_ok(NULL, false, default_caps);
  assert_null(mascri_json_get(a, "seccomp"));
  /* privileged wins over an explicit RuntimeDefault */
  f->sc.seccomp.set = true;
  _cleanup_json_ yajl_val b = gen_ok(&f->sc, true, default_caps);
  assert_null(mascri_json_get(b, "seccomp"));
  f->sc.seccomp.type = MASCRI_PROFILE_UNCONFINED;
  _cleanup_json_ yajl_val c = gen_ok(&f->sc, false, default_caps);
  assert_null(mascri_json_get(c, "seccomp"));
  /* no SecurityProfile: the deprecated path, empty or "unconfined" */
  f->sc.seccomp.set = false;
  _cleanup_json_ yajl_val d = gen_ok(&f->sc, false, default_caps);
  assert_null(mascri_json_get(d, "seccomp"));
  f->sc.seccomp_profile_path = "unconfined";
  _cleanup_json_ yajl_val e = gen_ok(&f->sc, false, default_caps);
  assert_null(mascri_json_get(e, "seccomp"));
}

static void test_default_profile(void **state)
{
  struct fixture *f = *state;
  f->sc.seccomp.set = true; /* RuntimeDefault is 0 */
  _cleanup_json_ yajl_val v = gen_ok(&f->sc, false, default_caps);
  yajl_val s = mascri_json_get(v, "seccomp");
  assert_non_null(s);
  assert_string_equal(mascri_json_get_string(s, "defaultAction"), "SCMP_ACT_ERRNO");
  int64_t n = 0;
  assert_int_equal(mascri_json_get_int64(s, "defaultErrnoRet", &n), 1);
  assert_int_equal(n, EPERM);
#if defined(__x86_64__)
  yajl_val arches = mascri_json_get(s, "architectures");
  assert_int_equal(mascri_json_array_len(arches), 3);
  assert_string_equal(str_at(arches, 0), "SCMP_ARCH_X86_64");
  assert_int_equal(count_rules(s, "arch_prctl", NULL), 1);
#endif
  yajl_val r = NULL;
  assert_int_equal(count_rules(s, "read", &r), 1);
  assert_string_equal(mascri_json_get_string(r, "action"), "SCMP_ACT_ALLOW");
  assert_null(mascri_json_get(r, "args"));
  assert_int_equal(count_rules(s, "execve", NULL), 1);
  assert_int_equal(count_rules(s, "chroot", NULL), 1); /* CAP_SYS_CHROOT is given */
  assert_int_equal(count_rules(s, "personality", NULL), 5);
  const char *absent[] = {"mount", "umount2",     "unshare", "setns",        "reboot",
                          "kcmp",  "init_module", "bpf",     "settimeofday", NULL};
  for (size_t i = 0; absent[i]; i++)
    if (count_rules(s, absent[i], NULL) != 0)
      fail_msg("%s allowed without its capability", absent[i]);
  /* clone only without namespace flags, clone3 -> ENOSYS */
  assert_int_equal(count_rules(s, "clone", &r), 1);
  yajl_val arg = mascri_json_array_at(mascri_json_get(r, "args"), 0);
  assert_string_equal(mascri_json_get_string(arg, "op"), "SCMP_CMP_MASKED_EQ");
  assert_int_equal(mascri_json_get_int64(arg, "value", &n), 1);
  assert_int_equal(n, 0x7E020000); /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
  assert_int_equal(mascri_json_get_int64(arg, "valueTwo", &n), 1);
  assert_int_equal(n, 0);
  assert_int_equal(count_rules(s, "clone3", &r), 1);
  assert_string_equal(mascri_json_get_string(r, "action"), "SCMP_ACT_ERRNO");
  assert_int_equal(mascri_json_get_int64(r, "errnoRet", &n), 1);
  assert_int_equal(n, ENOSYS);
}

static void test_default_profile_caps(void **state)
{
  struct fixture *f = *state;
  f->sc.seccomp_profile_path = "runtime/default"; /* the deprecated field, no seccomp */
  _cleanup_json_ yajl_val v = gen_ok(&f->sc, false, admin_caps);
  yajl_val s = mascri_json_get(v, "seccomp");
  yajl_val r = NULL;
  const char *present[] = {"mount", "umount2", "unshare", "setns", "kcmp", "clone3", NULL};
  for (size_t i = 0; present[i]; i++)
    if (count_rules(s, present[i], NULL) != 1)
      fail_msg("%s not allowed with its capability", present[i]);
  /* clone unconditionally allowed, clone3 allowed (not ENOSYS) */
  assert_int_equal(count_rules(s, "clone", &r), 1);
  assert_null(mascri_json_get(r, "args"));
  assert_int_equal(count_rules(s, "clone3", &r), 1);
  assert_string_equal(mascri_json_get_string(r, "action"), "SCMP_ACT_ALLOW");
  assert_int_equal(count_rules(s, "chroot", NULL), 0); /* no CAP_SYS_CHROOT here */
  f->sc.seccomp_profile_path = "docker/default";
  _cleanup_json_ yajl_val d = gen_ok(&f->sc, false, NULL);
  assert_non_null(mascri_json_get(d, "seccomp"));
}

/* Wraps a seccomp object in a minimal config.json, parses it with the runtime's spec
 * parser and builds (does not load) the libseccomp filter. */
static void runtime_accepts(yajl_val seccomp)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "ociVersion", "1.0.2");
  mascri_json_gen_key(g, "root");
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "path", "rootfs");
  yajl_gen_map_close(g);
  mascri_json_gen_key(g, "linux");
  yajl_gen_map_open(g);
  mascri_json_gen_key(g, "seccomp");
  mascri_json_gen_value(g, seccomp);
  yajl_gen_map_close(g);
  yajl_gen_map_close(g);
  size_t len = 0;
  _cleanup_free_ char *text = mascri_json_gen_take(g, &len);
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_spec_t *spec = NULL;
  if (mascri_spec_parse(text, len, &spec, &err) < 0)
    fail_msg("runtime rejects the profile: %s", mascri_error_message(&err));
  assert_non_null(spec->linux_->seccomp);
  scmp_filter_ctx ctx = NULL;
  if (mascri_seccomp_build(spec->linux_->seccomp, &ctx, &err) < 0)
    fail_msg("runtime cannot build the filter: %s", mascri_error_message(&err));
  seccomp_release(ctx);
  mascri_spec_free(spec);
}

static void test_runtime_accepts_default(void **state)
{
  struct fixture *f = *state;
  f->sc.seccomp.set = true;
  char *const *sets[] = {default_caps, admin_caps, NULL};
  for (size_t i = 0; sets[i]; i++) {
    _cleanup_json_ yajl_val v = gen_ok(&f->sc, false, sets[i]);
    runtime_accepts(mascri_json_get(v, "seccomp"));
  }
}

static const char oci_profile[] =
    "{\"defaultAction\":\"SCMP_ACT_LOG\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
    "\"comment\":\"dropped\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},{\"names\":[\"socket\"],"
    "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,\"value\":18446744073709551615,"
    "\"valueTwo\":2,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";

static void test_localhost(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *p = write_profile(f, "good.json", oci_profile);
  f->sc.seccomp.set = true;
  f->sc.seccomp.type = MASCRI_PROFILE_LOCALHOST;
  f->sc.seccomp.localhost_ref = p;
  _cleanup_json_ yajl_val v = gen_ok(&f->sc, false, default_caps);
  yajl_val s = mascri_json_get(v, "seccomp");
  assert_string_equal(mascri_json_get_string(s, "defaultAction"), "SCMP_ACT_LOG");
  assert_null(mascri_json_get(s, "comment"));
  yajl_val r = NULL;
  assert_int_equal(count_rules(s, "mkdirat", &r), 1);
  int64_t n = 0;
  assert_int_equal(mascri_json_get_int64(r, "errnoRet", &n), 1);
  assert_int_equal(n, 13);
  /* a value past INT64_MAX is re-emitted as written */
  assert_int_equal(count_rules(s, "socket", &r), 1);
  yajl_val arg = mascri_json_array_at(mascri_json_get(r, "args"), 0);
  assert_string_equal(YAJL_GET_NUMBER(mascri_json_get(arg, "value")), "18446744073709551615");
  runtime_accepts(s);
  /* the same file through the deprecated path */
  f->sc.seccomp.set = false;
  _cleanup_free_ char *dep = xasprintf("localhost/%s", p);
  f->sc.seccomp_profile_path = dep;
  _cleanup_json_ yajl_val d = gen_ok(&f->sc, false, default_caps);
  assert_string_equal(mascri_json_get_string(mascri_json_get(d, "seccomp"), "defaultAction"),
                      "SCMP_ACT_LOG");
}

/* Docker's format: archMap and rules with includes/excludes. */
static void test_localhost_docker_format(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *p = write_profile(
      f, "docker.json",
      "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":"
      "\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\"]},{\"architecture\":"
      "\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],\"syscalls\":["
      "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
      "{\"name\":\"write\",\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"old form\"},"
      "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":"
      "[\"CAP_SYS_ADMIN\"]}},"
      "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":"
      "[\"CAP_SYS_ADMIN\"]}},"
      "{\"names\":[\"nosuchkernel\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{"
      "\"minKernel\":\"999.0\"}},"
      "{\"names\":[\"otherarch\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":"
      "[\"nosucharch\"]}}]}");
  f->sc.seccomp.set = true;
  f->sc.seccomp.type = MASCRI_PROFILE_LOCALHOST;
  f->sc.seccomp.localhost_ref = p;
  _cleanup_json_ yajl_val v = gen_ok(&f->sc, false, default_caps);
  yajl_val s = mascri_json_get(v, "seccomp");
  assert_null(mascri_json_get(s, "archMap"));
#if defined(__x86_64__)
  yajl_val arches = mascri_json_get(s, "architectures");
  assert_int_equal(mascri_json_array_len(arches), 2);
  assert_string_equal(str_at(arches, 1), "SCMP_ARCH_X86");
#endif
  yajl_val r = NULL;
  assert_int_equal(count_rules(s, "read", NULL), 1);
  assert_int_equal(count_rules(s, "write", &r), 1);
  assert_null(mascri_json_get(r, "comment"));
  assert_int_equal(count_rules(s, "mount", NULL), 0);
  assert_int_equal(count_rules(s, "clone", NULL), 1);
  assert_int_equal(count_rules(s, "nosuchkernel", NULL), 0);
  assert_int_equal(count_rules(s, "otherarch", NULL), 0);
  runtime_accepts(s);
  _cleanup_json_ yajl_val a = gen_ok(&f->sc, false, admin_caps);
  s = mascri_json_get(a, "seccomp");
  assert_int_equal(count_rules(s, "mount", NULL), 1);
  assert_int_equal(count_rules(s, "clone", NULL), 0);
}

static void test_localhost_errors(void **state)
{
  struct fixture *f = *state;
  f->sc.seccomp.set = true;
  f->sc.seccomp.type = MASCRI_PROFILE_LOCALHOST;
  _cleanup_free_ char *missing = mascri_path_join(f->dir, "missing.json");
  f->sc.seccomp.localhost_ref = missing;
  expect_error(&f->sc, MASCRI_ERR_NOT_FOUND, "security_context.seccomp.localhost_ref");
  f->sc.seccomp.localhost_ref = "relative/profile.json";
  expect_error(&f->sc, MASCRI_ERR_INVALID_ARGUMENT, "not an absolute path");
  static const struct {
    const char *text, *needle;
  } bad[] = {
      {"{\"defaultAction\": ", "parse"},
      {"[1, 2]", "must be an object"},
      {"{}", "seccomp.defaultAction: required"},
      {"{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
       "seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\""},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}", "defaultErrnoRet"},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":\"x86\"}", "architectures"},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}", "seccomp.syscalls"},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\","
       "\"SCMP_ARCH_VAX\"]}",
       "seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\""},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]}",
       "seccomp.flags[0]: unknown flag"},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"action\":\"SCMP_ACT_ALLOW\"}]}",
       "seccomp.syscalls[0].names"},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"]}]}",
       "seccomp.syscalls[0].action"},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
       "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
       "seccomp.syscalls[0].args[0].index"},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
       "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"EQ\"}]}]}",
       "seccomp.syscalls[0].args[0].op: unknown comparison \"EQ\""},
      {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
       "\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":\"CAP_SYS_ADMIN\"}}]}",
       "seccomp.syscalls[0].includes.caps"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    _cleanup_free_ char *name = xasprintf("bad%zu.json", i);
    _cleanup_free_ char *p = write_profile(f, name, bad[i].text);
    f->sc.seccomp.localhost_ref = p;
    expect_error(&f->sc, MASCRI_ERR_INVALID_ARGUMENT, bad[i].needle);
    expect_error(&f->sc, MASCRI_ERR_INVALID_ARGUMENT, "security_context.seccomp.localhost_ref");
  }
}

static void test_deprecated_path_errors(void **state)
{
  struct fixture *f = *state;
  const char *bad[] = {"localhost/relative.json", "runtime/other", "/abs/path.json", "Unconfined",
                       NULL};
  for (size_t i = 0; bad[i]; i++) {
    f->sc.seccomp_profile_path = (char *)bad[i];
    expect_error(&f->sc, MASCRI_ERR_INVALID_ARGUMENT, "security_context.seccomp_profile_path");
  }
  _cleanup_free_ char *missing = mascri_path_join(f->dir, "missing.json");
  _cleanup_free_ char *dep = xasprintf("localhost/%s", missing);
  f->sc.seccomp_profile_path = dep;
  expect_error(&f->sc, MASCRI_ERR_NOT_FOUND, "security_context.seccomp_profile_path");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_unconfined_choices, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default_profile_caps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_runtime_accepts_default, setup, teardown),
      cmocka_unit_test_setup_teardown(test_localhost, setup, teardown),
      cmocka_unit_test_setup_teardown(test_localhost_docker_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_localhost_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deprecated_path_errors, setup, teardown),
  };
  return cmocka_run_group_tests_name("sandbox-ctr-seccomp", tests, NULL, NULL);
}
