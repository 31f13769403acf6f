/* An image's configuration as JSON, the part `mascri image inspect` and ImageStatus's
 * verbose "info" both show. */
#pragma once

#include <yajl/yajl_gen.h>

#include "image/image.h"

/* Adds the configuration's keys (os, architecture, created, user, env, entrypoint, cmd,
 * workingDir, exposedPorts, volumes, labels, stopSignal; "" or [] when unset) to the map g
 * has open, so each caller frames them with its own keys. */
void mascri_image_info_gen_config(yajl_gen g, const struct mascri_image_info *info);
