/* Linux security module labels of the container process: an AppArmor profile
 * (process.apparmorProfile) or SELinux label (process.selinuxLabel) entered at its execve,
 * through the kernel's attr/exec interface, where the host runs that module. Elsewhere
 * the label is reported and not applied (as runc and crun do); a label the module refuses
 * (an AppArmor profile that is not loaded) fails the container. */
#ifndef MASCRI_RUNTIME_LSM_H
#define MASCRI_RUNTIME_LSM_H

#include <stdbool.h>

#include "common/error.h"
#include "runtime/spec.h"

typedef enum { MASCRI_LSM_APPARMOR, MASCRI_LSM_SELINUX } mascri_lsm_t;

/* Whether the host runs the module. Probed once per process from the host's /sys (a
 * lazily probed kernel feature): call mascri_lsm_probe() before entering the container's
 * mount namespace, so that its children see the host's answer. */
void mascri_lsm_probe(void);
bool mascri_lsm_enabled(mascri_lsm_t lsm);

/* The /proc file (relative to /proc, for procfs_write) and the text that make this
 * thread's next execve enter label. apparmor_dir: the kernel has attr/apparmor/ (5.8+). */
void mascri_lsm_exec_attr(mascri_lsm_t lsm, const char *label, bool apparmor_dir, const char **file,
                          char **text);

/* Applies p's labels for its execve (after the pivot, before the identity change). */
int mascri_lsm_apply(const mascri_spec_process_t *p, mascri_error_t *err);

#endif
