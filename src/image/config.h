/* Image configs (OCI image config / Docker container config): the fields containers
 * need, validated (diff IDs, clean volume paths). */
#ifndef MASCRI_IMAGE_CONFIG_H
#define MASCRI_IMAGE_CONFIG_H

#include <stddef.h>

#include "common/error.h"
#include "image/image.h"

/* Fills info's config fields (os, architecture, created, user, env, entrypoint, cmd,
 * working_dir, exposed_ports, volumes, labels, stop_signal) and *diff_ids. Refuses
 * volume paths that are relative or contain "..". */
int mascri_image_config_parse(const char *buf, size_t len, struct mascri_image_info *info,
                              char ***diff_ids, mascri_error_t *err);
/* Chain IDs (sha256 "sha256:<hex>") from diff IDs: chain[0] = diff[0],
 * chain[i] = sha256(chain[i-1] + " " + diff[i]). */
char **mascri_chain_ids(char *const *diff_ids);

#endif
