/* Interface addresses over rtnetlink. */
#ifndef MASCRI_NETNS_ADDR_H
#define MASCRI_NETNS_ADDR_H

#include <stdbool.h>

#include "netns/cidr.h"
#include "netns/nl.h"

/* Adds ip/prefix to the link (IPv6 without duplicate address detection). An address that
 * is already there is fine. */
int mascri_addr_add(struct mascri_nl *nl, int index, const struct mascri_ip *ip, int prefix,
                    mascri_error_t *err);

#endif
