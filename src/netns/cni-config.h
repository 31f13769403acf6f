/* CNI network configuration: finding the conf file and normalizing .conf/.conflist into
 * one network config list. */
#ifndef MASCRI_NETNS_CNI_CONFIG_H
#define MASCRI_NETNS_CNI_CONFIG_H

#include <stdbool.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"

struct netns_cni_netconf {
  char *path;    /* where it came from (NULL for parsed text) */
  char *text;    /* the normalized list as JSON text (what the pod record caches) */
  char *name;    /* network name */
  char *version; /* cniVersion */
  bool disable_check;
  yajl_val tree; /* parsed text: {"cniVersion","name","plugins":[...]} */
  yajl_val plugins;
};
void netns_cni_netconf_clear(struct netns_cni_netconf *nc);
static inline void cleanup_netconfp(struct netns_cni_netconf *nc)
{
  netns_cni_netconf_clear(nc);
}
#define _cleanup_netconf_ _cleanup_(cleanup_netconfp)

/* Path of the lexically first *.conflist, *.conf or *.json in dir; NULL when none. */
char *netns_cni_first_config(const char *dir);

/* Parses a network config list, or a single network config (which becomes a list of one
 * plugin). Requires name, cniVersion and plugins that each have a type. */
int netns_cni_netconf_parse(const char *text, size_t len, const char *what,
                            struct netns_cni_netconf *out, mascri_error_t *err);
int netns_cni_netconf_load(const char *path, struct netns_cni_netconf *out, mascri_error_t *err);

#endif
