/* Routes over rtnetlink. */
#ifndef MASCRI_NETNS_ROUTE_H
#define MASCRI_NETNS_ROUTE_H

#include "netns/cidr.h"
#include "netns/nl.h"

/* Adds (or replaces) the default route of gw's family via gw on link index. */
int mascri_route_add_default(struct mascri_nl *nl, const struct mascri_ip *gw, int index,
                             mascri_error_t *err);

#endif
