/* CRI containers: the OCI spec built from the CRI config + image config + pod, the
 * overlay rootfs from the image store, one mascri-monitor per container (its parent,
 * writer of the CRI log and of the exit file), records under <root>/containers/<id>/
 * written atomically and restored at open.
 *
 * Thread-safe: every function may be called from any worker thread. */
#ifndef MASCRI_SANDBOX_CONTAINERS_H
#define MASCRI_SANDBOX_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "sandbox/pods.h"

struct mascri_containers;

struct mascri_containers_config {
  const char *root;         /* records in <root>/containers/<id>/ */
  const char *state;        /* <state>/monitors/<id>/, <state>/exits/<id> */
  const char *monitor_path; /* the mascri-monitor binary */
  const char *runtime_root; /* the runtime library's state root */
  mascri_cgroup_manager_t cgroup_manager;
  mascri_image_store_t *images; /* borrowed */
  struct mascri_pods *pods;     /* borrowed */
};

int mascri_containers_open(const struct mascri_containers_config *cfg,
                           struct mascri_containers **out, mascri_error_t *err);
void mascri_containers_close(struct mascri_containers *ctrs);

/* StopPodSandbox: stops every container of the pod (SIGKILL after timeout_s, 0: now).
 * Idempotent; unknown pods have no containers. */
int mascri_containers_stop_pod(struct mascri_containers *ctrs, const char *pod_id,
                               int64_t timeout_s, mascri_error_t *err);
/* RemovePodSandbox: removes every container of the pod (stopping them first). */
int mascri_containers_remove_pod(struct mascri_containers *ctrs, const char *pod_id,
                                 mascri_error_t *err);

#endif
