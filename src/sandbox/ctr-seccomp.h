/* The seccomp section of a CRI container's config.json. */
#ifndef MASCRI_SANDBOX_CTR_SECCOMP_H
#define MASCRI_SANDBOX_CTR_SECCOMP_H

#include <stdbool.h>
#include <yajl/yajl_gen.h>

#include "common/error.h"
#include "sandbox/ctr-config.h"

/* Emits the "seccomp" key and its object into the open "linux" object of g, or nothing when
 * the container runs unconfined. Chooses the profile: privileged or no sc -> none;
 * sc->seccomp (when set): RUNTIME_DEFAULT -> the default profile, UNCONFINED -> none,
 * LOCALHOST -> the JSON file at localhost_ref (absolute path; read, validated as an OCI
 * linux.seccomp object, re-emitted); else the deprecated sc->seccomp_profile_path:
 * "runtime/default" or "docker/default" -> default, "unconfined" or "" -> none,
 * "localhost/<abs path>" -> that file; anything else INVALID_ARGUMENT naming the field.
 * caps: the container's effective capability names ("CAP_SYS_ADMIN", ...), NULL-terminated,
 * so the default profile allows the syscalls those capabilities need, as Docker's does.
 * Errors: NOT_FOUND when a Localhost profile file does not exist, INVALID_ARGUMENT when it is
 * not valid JSON / not an object / has a bad field (name it). */
int mascri_ctr_seccomp_gen(yajl_gen g, const struct mascri_ctr_security *sc, bool privileged,
                           char *const *caps, mascri_error_t *err);

#endif
