/* veth pairs: one end on the host bridge, the other created directly inside the pod's
 * network namespace. */
#ifndef MASCRI_NETNS_VETH_H
#define MASCRI_NETNS_VETH_H

#include "netns/nl.h"

/* Creates host_name <-> peer_name in one request: the peer is created in the namespace
 * nsfd refers to (so it never appears in the host), both ends get mtu, the host end is
 * enslaved to master (if > 0). Both ends are left down, for the caller to finish before
 * they come up. Fails with EEXIST if host_name exists. */
int mascri_veth_create(struct mascri_nl *nl, const char *host_name, const char *peer_name, int nsfd,
                       unsigned mtu, int master, mascri_error_t *err);

#endif
