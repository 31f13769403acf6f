/* JSON plumbing for CNI: re-emitting parsed trees, building a plugin's stdin. */
#ifndef MASCRI_NETNS_CNI_JSON_H
#define MASCRI_NETNS_CNI_JSON_H

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"

/* Emits v (any JSON value) into g. */
void netns_json_gen_value(yajl_gen g, yajl_val v);

/* The stdin of one plugin of a list: the plugin's own object, plus "name" and
 * "cniVersion" of the list, "runtimeConfig" holding only the runtime keys the plugin
 * declares in "capabilities", and "prevResult" when given. runtime and prev_result may be
 * NULL. Keys the plugin object already has for these are replaced. */
char *netns_cni_plugin_stdin(yajl_val plugin, const char *name, const char *version,
                             yajl_val runtime, yajl_val prev_result);

#endif
