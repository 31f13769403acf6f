/* The last steps before exec, shared by the container init and `exec`: working directory
 * (verified inside the root), rlimits, oom_score_adj, user and groups, capabilities,
 * noNewPrivileges, seccomp, fd hygiene, and the exec itself. */
#ifndef MASCRI_RUNTIME_PROCESS_H
#define MASCRI_RUNTIME_PROCESS_H

#include <stdbool.h>

#include "common/error.h"
#include "runtime/spec.h"

/* Steps that need privileges: cwd, rlimits, oom_score_adj (warning when refused), and
 * seccomp when noNewPrivileges is not set (loading it later would need CAP_SYS_ADMIN). */
int process_prepare(const mascri_spec_process_t *p, const mascri_spec_seccomp_t *seccomp,
                    mascri_error_t *err);
/* Bounding set, groups, gid, uid, the capability sets, noNewPrivileges, umask. */
int process_set_identity(const mascri_spec_process_t *p, mascri_error_t *err);
/* Marks every fd from 3 + preserve_fds on close-on-exec (CVE-2024-21626). */
int process_close_fds(unsigned preserve_fds, mascri_error_t *err);
/* Loads seccomp (when noNewPrivileges is set) and execs args[0] looked up in the
 * process's PATH. Returns only on failure. */
/* Whether args[0] names an existing file (looked up in the process's PATH when it has no
 * slash), so a missing command fails `create` as with runc rather than after `start`.
 * Only "does not exist" is an error: anything else is left for execve to report. */
int process_check_command(const mascri_spec_process_t *p, mascri_error_t *err);
int process_exec(const mascri_spec_process_t *p, const mascri_spec_seccomp_t *seccomp,
                 mascri_error_t *err);

#endif
