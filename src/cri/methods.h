/* The method table of the CRI (runtime.v1 RuntimeService and ImageService). */
#ifndef MASCRI_CRI_METHODS_H
#define MASCRI_CRI_METHODS_H

#include <stddef.h>

#include "cri/server.h"

/* The mascri_rpc_lookup_fn of mascrid: the method behind a path or NULL. */
const struct mascri_rpc_method *mascri_cri_lookup(void *ctx, const char *path);

/* The whole table (for tests and --help listings). */
const struct mascri_rpc_method *mascri_cri_methods(size_t *n);

#endif
