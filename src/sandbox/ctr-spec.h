/* The OCI runtime spec (config.json) of a CRI container: the CRI ContainerConfig merged
 * with the image's config and the pod's namespaces, files and cgroup parent, the way
 * containerd's CRI plugin and CRI-O do it. Pure translation: no process is started; the
 * only host reads are the container's rootfs (/etc/passwd, /etc/group through
 * mascri_image_resolve_user), device nodes named in config.devices, and Localhost seccomp
 * profile files. */
#ifndef MASCRI_SANDBOX_CTR_SPEC_H
#define MASCRI_SANDBOX_CTR_SPEC_H

#include <stdbool.h>

#include "common/error.h"
#include "image/image.h"
#include "sandbox/ctr-config.h"
#include "sandbox/pods.h"

struct mascri_ctr_spec_input {
  const char *container_id;
  const struct mascri_ctr_config *config; /* the CreateContainer request's */
  const struct mascri_pod_info *pod;      /* read through pods.h's accessors */
  const struct mascri_image_info *image;  /* the image the container runs */
  const char *rootfs;                     /* absolute path of the mounted rootfs (root.path) */
  int rootfs_fd;                          /* O_PATH|O_DIRECTORY fd of rootfs, for resolving users */
  const char *cgroups_path;               /* linux.cgroupsPath, e.g. "/mascri/pod-<id>/ctr-<id>" or
                                             "mascri-pod<id>.slice:mascri:<id>" for systemd */
  /* NamespaceMode TARGET for pid: the target container's pid namespace path
   * ("/proc/<pid>/ns/pid"); NULL otherwise. */
  const char *target_pidns_path;
  /* The capabilities a container gets before add/drop ("CAP_CHOWN", ...); NULL: the
   * built-in set (containerd's defaults). */
  char *const *default_caps;
};

/* Builds config.json's text into *json (malloc'ed). What it does:
 * - process.args: config.command (else image entrypoint) + config.args (else, when command
 *   is unset, image cmd); none at all -> INVALID_ARGUMENT "no command specified".
 *   env: image env overridden by config.envs (by key), PATH defaulted, HOSTNAME=pod hostname.
 *   cwd: config.working_dir, else the image's, else "/". terminal = config.tty.
 *   user: security_context run_as_user / run_as_username / run_as_group, else the image's
 *   USER, resolved in the rootfs; additionalGids = the user's groups + supplemental_groups.
 *   capabilities: containerd's default set, + add_capabilities, - drop_capabilities ("ALL"
 *   honoured, names with or without "CAP_"); privileged: all. noNewPrivileges.
 *   oomScoreAdj from resources.
 * - root.path = rootfs, root.readonly = readonly_rootfs. hostname = the pod's.
 * - mounts: /proc, /dev (tmpfs), /dev/pts, /dev/mqueue, /sys (ro unless privileged),
 *   /sys/fs/cgroup (ro), /dev/shm (the pod's shm_path bind, else a tmpfs), then the pod's
 *   /etc/hosts, /etc/hostname, /etc/resolv.conf binds, then config.mounts in order (bind,
 *   "ro" for readonly, propagation private/rslave/rshared; a missing host path is created
 *   as a directory like the other runtimes do; a container path that is not absolute ->
 *   INVALID_ARGUMENT naming it; a bidirectional host path not on a shared mount, or a
 *   host-to-container one on neither a shared nor a slave mount -> FAILED_PRECONDITION).
 *   Mounts the CRI config gives win over defaults at the same destination.
 * - linux.rootfsPropagation: "rshared" when a mount is bidirectional, else "rslave" when one
 *   is host-to-container, else unset.
 * - linux.namespaces: mount and (on cgroup v2 hosts) cgroup new; network/ipc/uts joined by
 *   the pod's paths (omitted where the pod uses the host's); pid: the pod's pidns_path for
 *   POD, new for CONTAINER, host for NODE, target_pidns_path for TARGET.
 * - linux.resources from config.linux.resources (cpu shares/quota/period/cpuset, memory
 *   limit and swap, hugepages, unified); devices: deny all + the default allowed set (null,
 *   zero, full, random, urandom, tty, ptmx, pts) + config.devices (host path stat'ed for
 *   type/major/minor, permissions "rwm"); privileged: allow all and every host device.
 *   linux.cgroupsPath = cgroups_path.
 * - maskedPaths/readonlyPaths from the security context, the usual defaults when it gives
 *   none, none when privileged. linux.sysctl: none (pod level).
 * - seccomp: security_context.seccomp (RuntimeDefault -> a default profile, Unconfined ->
 *   none, Localhost -> the JSON profile file at localhost_ref), else the deprecated
 *   seccomp_profile_path ("runtime/default", "docker/default", "unconfined",
 *   "localhost/<path>"), else unconfined (the kubelet default); privileged: none.
 * - annotations: io.kubernetes.cri.container-type=container, .container-name,
 *   .sandbox-id, .sandbox-name, .sandbox-namespace, .image-name, plus config.annotations.
 * Errors: INVALID_ARGUMENT naming the bad field; NOT_FOUND for a user/group, device or
 * profile that does not exist. */
int mascri_ctr_spec_build(const struct mascri_ctr_spec_input *in, char **json, mascri_error_t *err);

/* The OCI process JSON (for `mascri-monitor exec --process`) of ExecSync's cmd in a
 * container created from spec_json: the container's env, cwd, user, capabilities,
 * noNewPrivileges, apparmor profile, with args = cmd and terminal = tty. */
int mascri_ctr_exec_process_json(const char *spec_json, const char *const *cmd, bool tty,
                                 char **json, mascri_error_t *err);

#endif
