/* Internals of the CRI container seccomp section: the default profile's table, the
 * Localhost profile loader, and the conditions both evaluate. */
#ifndef MASCRI_SANDBOX_CTR_SECCOMP_INTERNAL_H
#define MASCRI_SANDBOX_CTR_SECCOMP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"

struct ctr_seccomp_arg {
  unsigned index;
  uint64_t value;
  uint64_t value_two;
  const char *op; /* "SCMP_CMP_..." */
};

/* One rule of the default profile, emitted only when its conditions hold. */
struct ctr_seccomp_group {
  const char *const *names; /* NULL-terminated */
  const char *action;       /* NULL: SCMP_ACT_ALLOW */
  unsigned errno_ret;       /* emitted when not 0 */
  const struct ctr_seccomp_arg *args;
  size_t n_args;
  const char *cap;         /* only when the container has this capability */
  const char *without_cap; /* only when it does not */
  const char *arch;        /* only on this native architecture (Go name: "amd64", "arm64") */
};

extern const struct ctr_seccomp_group ctr_seccomp_default_groups[];
extern const size_t ctr_seccomp_n_default_groups;

/* The host's architecture as Go (and Docker profiles) name it: "amd64", "arm64", ... */
const char *ctr_seccomp_native_arch(void);
/* The libseccomp names of the host's architectures, native first, NULL-terminated; NULL
 * when this build does not know the host (the filter then covers the native one only). */
const char *const *ctr_seccomp_host_architectures(void);
bool ctr_seccomp_has_cap(char *const *caps, const char *cap);

/* The default profile's object (the value of "seccomp"). */
void ctr_seccomp_gen_default(yajl_gen g, char *const *caps);
/* A Localhost profile file: reads and validates it (OCI linux.seccomp, or Docker's format
 * with archMap and includes/excludes). Errors name field and path: NOT_FOUND when the file
 * does not exist, INVALID_ARGUMENT when it is not a valid profile. */
int ctr_seccomp_load_file(const char *path, const char *field, yajl_val *out, mascri_error_t *err);
/* Emits a loaded profile as the OCI object, with Docker's archMap and includes/excludes
 * resolved against caps and the host. */
void ctr_seccomp_gen_loaded(yajl_gen g, yajl_val profile, char *const *caps);

#endif
