/* The kernel-feature decisions (kernel-features.c) from the probe results an old and a new
 * kernel give, without either kernel; and the live probes on this host agree with them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime/kernel-features.h"

static void test_clone_into_cgroup(void **state)
{
  (void)state;
  assert_true(mascri_kernel_feature_decide(MASCRI_KFEAT_CLONE_INTO_CGROUP, -1, EBADF));   /* 5.7+ */
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_CLONE_INTO_CGROUP, -1, EINVAL)); /* 5.3 */
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_CLONE_INTO_CGROUP, -1, E2BIG));  /* 5.5 */
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_CLONE_INTO_CGROUP, -1, ENOSYS));
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_CLONE_INTO_CGROUP, -1, EPERM));
}

static void test_close_range_cloexec(void **state)
{
  (void)state;
  assert_true(mascri_kernel_feature_decide(MASCRI_KFEAT_CLOSE_RANGE_CLOEXEC, 0, 0)); /* 5.11+ */
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_CLOSE_RANGE_CLOEXEC, -1, EINVAL));
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_CLOSE_RANGE_CLOEXEC, -1, ENOSYS));
}

static void test_syscalls_with_bad_arguments(void **state)
{
  (void)state;
  assert_true(mascri_kernel_feature_decide(MASCRI_KFEAT_OPENAT2, -1, EINVAL));
  assert_true(mascri_kernel_feature_decide(MASCRI_KFEAT_OPENAT2, -1, EFAULT));
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_OPENAT2, -1, ENOSYS));
  assert_true(mascri_kernel_feature_decide(MASCRI_KFEAT_MOUNT_SETATTR, -1, EBADF));
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_MOUNT_SETATTR, -1, ENOSYS));
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_MOUNT_SETATTR, -1, EPERM));
  assert_true(mascri_kernel_feature_decide(MASCRI_KFEAT_PIDFD, 5, 0));
  assert_false(mascri_kernel_feature_decide(MASCRI_KFEAT_PIDFD, -1, ENOSYS));
}

static void test_every_feature_is_described(void **state)
{
  (void)state;
  for (int f = 0; f < MASCRI_KFEAT_COUNT; f++) {
    const struct mascri_kernel_feature_info *i = mascri_kernel_feature_info(f);
    assert_non_null(i);
    assert_non_null(i->name);
    assert_non_null(i->since);
    assert_non_null(i->cost);
  }
  assert_null(mascri_kernel_feature_info(MASCRI_KFEAT_COUNT));
}

/* The development host runs a kernel newer than 5.12 and no seccomp filter: every live probe
 * must find its feature (a probe that misreads its errno fails here). */
static void test_live_probes_on_a_new_kernel(void **state)
{
  (void)state;
  for (int f = 0; f < MASCRI_KFEAT_COUNT; f++)
    assert_true(mascri_kernel_feature_present(f));
  assert_int_equal(mascri_kernel_features_report(), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clone_into_cgroup),
      cmocka_unit_test(test_close_range_cloexec),
      cmocka_unit_test(test_syscalls_with_bad_arguments),
      cmocka_unit_test(test_every_feature_is_described),
      cmocka_unit_test(test_live_probes_on_a_new_kernel),
  };
  return cmocka_run_group_tests_name("runtime-kernel-features", tests, NULL, NULL);
}
