/* The pod bridge: created when missing, MTU set, brought up. */
#ifndef MASCRI_NETNS_BRIDGE_H
#define MASCRI_NETNS_BRIDGE_H

#include "netns/nl.h"

/* Creates bridge name if it does not exist, sets its MTU and brings it up; *index is its
 * interface index. */
int mascri_bridge_ensure(struct mascri_nl *nl, const char *name, unsigned mtu, int *index,
                         mascri_error_t *err);

/* Turns hairpin mode on for a bridge port, so a frame can leave by the port it came in:
 * needed when br_netfilter DNATs a pod's packet (to a hostPort) back to the same pod. */
int mascri_bridge_port_hairpin(struct mascri_nl *nl, int port_index, mascri_error_t *err);

#endif
