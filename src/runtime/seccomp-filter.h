/* linux.seccomp → a libseccomp filter. */
#ifndef MASCRI_RUNTIME_SECCOMP_FILTER_H
#define MASCRI_RUNTIME_SECCOMP_FILTER_H

#include <seccomp.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "common/error.h"
#include "runtime/spec.h"

/* The libseccomp action (SCMP_ACT_*) for an OCI action; errno_ret applies to ERRNO (and
 * TRACE's message); EPERM when has_errno is false. */
uint32_t mascri_seccomp_scmp_action(mascri_seccomp_action_t action, bool has_errno,
                                    uint32_t errno_ret);
/* "SCMP_ARCH_X86_64" → SCMP_ARCH_X86_64; 0 when unknown. */
uint32_t mascri_seccomp_scmp_arch(const char *name);
/* Checks a linux.seccomp object as the runtime will read it (actions, comparisons, argument
 * indexes, types) and that each architecture and flag is one it knows; where names the
 * object in errors. Members it does not know are ignored (OCI), so a Docker profile's
 * archMap and includes/excludes pass through. */
int mascri_seccomp_validate(yajl_val v, const char *where, mascri_error_t *err);
/* Builds the filter (not loaded). Unknown syscall names are skipped (runc does the same). */
int mascri_seccomp_build(const mascri_spec_seccomp_t *s, scmp_filter_ctx *out, mascri_error_t *err);
/* Builds and loads it into the calling thread/process. */
int mascri_seccomp_load(const mascri_spec_seccomp_t *s, mascri_error_t *err);

#endif
