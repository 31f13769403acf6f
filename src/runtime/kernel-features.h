/* Newer kernel interfaces the runtime uses where the kernel has them, each with its
 * fallback: probed once at daemon start (lazily probed kernel features) so mascrid can say
 * which are missing and what that costs. The probe calls are harmless (bad arguments that a
 * kernel with the interface rejects with a different errno than one without it). */
#ifndef MASCRI_RUNTIME_KERNEL_FEATURES_H
#define MASCRI_RUNTIME_KERNEL_FEATURES_H

#include <stdbool.h>

typedef enum {
  MASCRI_KFEAT_CLONE_INTO_CGROUP,   /* clone3 + CLONE_INTO_CGROUP, 5.7 */
  MASCRI_KFEAT_OPENAT2,             /* openat2 + RESOLVE_IN_ROOT, 5.6 */
  MASCRI_KFEAT_MOUNT_SETATTR,       /* mount_setattr, 5.12 */
  MASCRI_KFEAT_CLOSE_RANGE_CLOEXEC, /* close_range(CLOSE_RANGE_CLOEXEC), 5.11 */
  MASCRI_KFEAT_PIDFD,               /* pidfd_open + pidfd_send_signal, 5.3 */
  MASCRI_KFEAT_COUNT,
} mascri_kernel_feature_t;

struct mascri_kernel_feature_info {
  const char *name;  /* "clone3 CLONE_INTO_CGROUP" */
  const char *since; /* first Linux version with it */
  const char *cost;  /* what its absence costs, or that it is required */
};

const struct mascri_kernel_feature_info *mascri_kernel_feature_info(mascri_kernel_feature_t f);
/* The decision, pure: whether probe call ret (>= 0 success) with errno e means present. */
bool mascri_kernel_feature_decide(mascri_kernel_feature_t f, long ret, int e);
/* Runs the probe (once per process; cached). */
bool mascri_kernel_feature_present(mascri_kernel_feature_t f);
/* Logs one info line per missing feature; returns how many are missing. */
int mascri_kernel_features_report(void);

#endif
