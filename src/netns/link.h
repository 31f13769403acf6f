/* Network links over rtnetlink: look up, change (up, MTU, master), delete, list. */
#ifndef MASCRI_NETNS_LINK_H
#define MASCRI_NETNS_LINK_H

#include <stdbool.h>

#include "netns/nl.h"

/* Index of the link called name; fails with MASCRI_ERR_NOT_FOUND (ENODEV) when absent. */
int mascri_link_index(struct mascri_nl *nl, const char *name, int *index, mascri_error_t *err);

struct mascri_link_change {
  bool up;
  unsigned mtu;     /* 0: unchanged */
  int master;       /* 0: unchanged */
  const char *name; /* NULL: unchanged (rename) */
};
int mascri_link_change(struct mascri_nl *nl, int index, const struct mascri_link_change *c,
                       mascri_error_t *err);

/* Stops the kernel from giving the link an IPv6 link-local address when it comes up (address
 * generation mode "none"; call it while the link is down). A link with no IPv6 address
 * sends no duplicate address detection, router solicitation or MLD report: on a bridge with
 * a port per pod each of those is flooded to every pod, a cost of every pod start that grows
 * with the node. A kernel without IPv6 has nothing to stop (not an error). */
int mascri_link_no_ipv6_linklocal(struct mascri_nl *nl, int index, mascri_error_t *err);

/* Deletes the link; an absent link is not an error (returns 0, *deleted false). */
int mascri_link_delete(struct mascri_nl *nl, const char *name, bool *deleted, mascri_error_t *err);

struct mascri_link_info {
  const char *name;
  int index;
  int master;
  unsigned mtu;
  bool up;
};
typedef void (*mascri_link_fn)(const struct mascri_link_info *link, void *data);
/* Calls fn for every link in nl's namespace. */
int mascri_link_list(struct mascri_nl *nl, mascri_link_fn fn, void *data, mascri_error_t *err);

#endif
