/* The mount namespace template containers' namespaces are copied from (see
 * runtime/mount-template.h for why): made at each daemon start as a private copy of the
 * daemon's namespace without the mounts below the daemon's own directories (the pods'
 * namespace pins, shm, overlay roots), and kept by an nsfs pin, so it never grows with
 * the node. Being private, it is a snapshot: a container's rootfs and bind mounts are
 * taken from the host when it is created, only what the runtime resolves by path (the
 * rootfs's directory, cgroup hierarchies) comes from the template. */
#ifndef MASCRI_SANDBOX_MNTNS_TEMPLATE_H
#define MASCRI_SANDBOX_MNTNS_TEMPLATE_H

#include "common/error.h"

/* (Re)makes the template pinned at pin (a path in a private mount, replacing an older
 * one), hiding the mounts strictly below each of the NULL-terminated dirs. */
int mascri_mntns_template_make(const char *pin, const char *const *dirs, mascri_error_t *err);

/* Unpins and removes it (errors are logged). */
void mascri_mntns_template_remove(const char *pin);

#endif
