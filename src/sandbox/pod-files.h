/* The files a pod hands its containers: resolv.conf, hostname, hosts, and the pod's
 * /dev/shm tmpfs, all under the pod's directory. */
#ifndef MASCRI_SANDBOX_POD_FILES_H
#define MASCRI_SANDBOX_POD_FILES_H

#include <stdbool.h>

#include "common/error.h"
#include "sandbox/pod-config.h"
#include "sandbox/pods.h"

#define MASCRI_POD_SHM_SIZE (64ULL << 20)

/* Writes <dir>/resolv.conf (from the DNS config, else a copy of the host's) and
 * <dir>/hostname; mounts a tmpfs at <dir>/shm unless with_shm is false. Notes them in
 * info->paths (dir is the pod's directory, <info->files_dir>/<id>). */
int mascri_pod_files_create(const char *dir, const struct mascri_pod_config *config, bool with_shm,
                            struct mascri_pod_info *info, mascri_error_t *err);
/* Writes <dir>/hosts naming info->hostname at info->ipv4 (or ipv6). */
int mascri_pod_files_hosts(const char *dir, struct mascri_pod_info *info, mascri_error_t *err);
/* Unmounts the shm tmpfs at shm (NULL: none); not mounted is fine. */
int mascri_pod_files_unmount_shm(const char *shm, mascri_error_t *err);

#endif
