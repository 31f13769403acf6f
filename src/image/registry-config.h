/* mascri's own registry configuration, a JSON file (default
 * MASCRI_SYSCONFDIR/mascri/registries.json):
 *   {"registries": {"registry.k8s.io": {"mirrors": ["mirror.local:5000", "https://m2"],
 *                                       "insecure": false, "ca_file": "/etc/...pem",
 *                                       "username": "u", "password": "p"}},
 *    "docker_config": "/root/.docker/config.json", "max_parallel": 4}
 */
#ifndef MASCRI_IMAGE_REGISTRY_CONFIG_H
#define MASCRI_IMAGE_REGISTRY_CONFIG_H

#include "common/error.h"
#include "image/image.h"

/* Loads path; a missing file gives an empty configuration when optional is true. */
int mascri_registry_config_load(const char *path, bool optional,
                                struct mascri_registry_config **out, mascri_error_t *err);
void mascri_registry_config_free(struct mascri_registry_config *c);
/* The default file's path. */
const char *mascri_registry_config_default_path(void);

#endif
