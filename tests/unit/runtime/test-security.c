/* Capability and seccomp translation; a built filter is loaded in a forked child to check
 * it really returns the configured errno. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/lsm.h"
#include "runtime/seccomp-filter.h"
#include "runtime/spec.h"

static void caps_from_names(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  uint64_t mask = 0;
  char *names[] = {"CAP_CHOWN", "net_admin", "cap_sys_admin", NULL};
  assert_int_equal(mascri_caps_from_names(names, &mask, &err), 0);
  assert_int_equal(mask, (1ULL << CAP_CHOWN) | (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_SYS_ADMIN));
  char *bad[] = {"CAP_FLY", NULL};
  assert_true(mascri_caps_from_names(bad, &mask, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "CAP_FLY"));
  assert_true(mascri_caps_last_cap() >= CAP_AUDIT_READ);
}

static void seccomp_actions(void **state)
{
  assert_int_equal(mascri_seccomp_scmp_action(MASCRI_SECCOMP_ALLOW, false, 0), SCMP_ACT_ALLOW);
  assert_int_equal(mascri_seccomp_scmp_action(MASCRI_SECCOMP_ERRNO, true, 38), SCMP_ACT_ERRNO(38));
  assert_int_equal(mascri_seccomp_scmp_action(MASCRI_SECCOMP_ERRNO, false, 0),
                   SCMP_ACT_ERRNO(EPERM));
  assert_int_equal(mascri_seccomp_scmp_action(MASCRI_SECCOMP_KILL, false, 0), SCMP_ACT_KILL_THREAD);
  assert_int_equal(mascri_seccomp_scmp_action(MASCRI_SECCOMP_KILL_PROCESS, false, 0),
                   SCMP_ACT_KILL_PROCESS);
  assert_int_equal(mascri_seccomp_scmp_arch("SCMP_ARCH_X86_64"), SCMP_ARCH_X86_64);
  assert_int_equal(mascri_seccomp_scmp_arch("SCMP_ARCH_AARCH64"), SCMP_ARCH_AARCH64);
  assert_int_equal(mascri_seccomp_scmp_arch("x86_64"), 0);
}

static void seccomp_filter_enforced(void **state)
{
  char *names[] = {"mkdir", "mkdirat", "not_a_syscall", NULL};
  mascri_spec_seccomp_rule_t rule = {
      .names = names, .action = MASCRI_SECCOMP_ERRNO, .has_errno_ret = true, .errno_ret = ENOSYS};
  mascri_spec_seccomp_t s = {.default_action = MASCRI_SECCOMP_ALLOW, .rules = &rule, .n_rules = 1};
  scmp_filter_ctx ctx = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_seccomp_build(&s, &ctx, &err), 0);
  seccomp_release(ctx);
  pid_t pid = fork();
  if (pid == 0) {
    mascri_error_t e = NULL;
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (mascri_seccomp_load(&s, &e) < 0)
      _exit(10);
    if (mkdir("/tmp/mascri-seccomp-test-should-not-exist", 0700) == 0)
      _exit(11);
    _exit(errno == ENOSYS ? 0 : 12);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void seccomp_rejects_unknown_arch(void **state)
{
  char *arches[] = {"SCMP_ARCH_PDP11", NULL};
  mascri_spec_seccomp_t s = {.default_action = MASCRI_SECCOMP_ALLOW, .architectures = arches};
  scmp_filter_ctx ctx = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(mascri_seccomp_build(&s, &ctx, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "SCMP_ARCH_PDP11"));
}

/* The attr/exec file and text that make the next execve enter a label. */
static void lsm_exec_attr_text(void **state)
{
  const char *file = NULL;
  char *text = NULL;
  mascri_lsm_exec_attr(MASCRI_LSM_APPARMOR, "my-profile", true, &file, &text);
  assert_string_equal(file, "thread-self/attr/apparmor/exec");
  assert_string_equal(text, "exec my-profile");
  free(text);
  mascri_lsm_exec_attr(MASCRI_LSM_APPARMOR, "my-profile", false, &file, &text);
  assert_string_equal(file, "thread-self/attr/exec");
  assert_string_equal(text, "exec my-profile");
  free(text);
  mascri_lsm_exec_attr(MASCRI_LSM_SELINUX, "system_u:system_r:container_t:s0:c1,c2", true, &file,
                       &text);
  assert_string_equal(file, "thread-self/attr/exec");
  assert_string_equal(text, "system_u:system_r:container_t:s0:c1,c2");
  free(text);
}

/* A label for a module the host does not run is reported, not applied (nor an error). */
static void lsm_label_without_the_module(void **state)
{
  if (mascri_lsm_enabled(MASCRI_LSM_APPARMOR) || mascri_lsm_enabled(MASCRI_LSM_SELINUX))
    skip(); /* this host runs one: the integration tests cover it */
  mascri_spec_process_t p = {.apparmor_profile = (char *)"p", .selinux_label = (char *)"l"};
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_lsm_apply(&p, &err), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(caps_from_names),
      cmocka_unit_test(lsm_exec_attr_text),
      cmocka_unit_test(lsm_label_without_the_module),
      cmocka_unit_test(seccomp_actions),
      cmocka_unit_test(seccomp_filter_enforced),
      cmocka_unit_test(seccomp_rejects_unknown_arch),
  };
  return cmocka_run_group_tests_name("runtime-security", tests, NULL, NULL);
}
