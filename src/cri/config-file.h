/* mascrid's optional configuration file: a JSON object whose keys are mascrid's long option
 * names, e.g. {"log-level": "debug", "cni-bin-dir": ["/opt/cni/bin"]}. It is read as if its
 * settings came before the command line's, so flags override it. */
#ifndef MASCRI_CRI_CONFIG_FILE_H
#define MASCRI_CRI_CONFIG_FILE_H

#include <stdbool.h>

#include "common/error.h"

/* The default path: /etc/mascri/mascri.conf. */
const char *mascri_config_file_default_path(void);

/* Turns the file into "--key=value" arguments (an array value repeats its key, in order).
 * A missing file is fine (no arguments) unless must_exist. INVALID_ARGUMENT names the file
 * and the key for anything that is not a string or an array of strings. */
int mascri_config_file_args(const char *path, bool must_exist, char ***args, mascri_error_t *err);

#endif
