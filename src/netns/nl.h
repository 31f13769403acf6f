/* A thin wrapper over libmnl for rtnetlink: sockets (in this netns or in another one),
 * requests answered by an ack, and dumps run through a callback. Errors come back as values
 * ("netlink: <what>: <strerror>"), never exit(). */
#ifndef MASCRI_NETNS_NL_H
#define MASCRI_NETNS_NL_H

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdint.h>

#include "common/error.h"

/* Buffer large enough for any request we build and for one batch of dump replies. */
#define MASCRI_NL_BUFSIZE 16384

struct mascri_nl {
  struct mnl_socket *sock;
  unsigned portid;
  unsigned seq;
};

/* An rtnetlink socket in the caller's network namespace. */
int mascri_nl_open(struct mascri_nl **out, mascri_error_t *err);
/* An rtnetlink socket bound to the network namespace nsfd refers to: a short-lived thread
 * joins the namespace, opens the socket and exits; the socket keeps the namespace. */
int mascri_nl_open_in_netns(int nsfd, struct mascri_nl **out, mascri_error_t *err);
void mascri_nl_close(struct mascri_nl *nl);
static inline void cleanup_nlp(struct mascri_nl **nl)
{
  if (*nl)
    mascri_nl_close(*nl);
}
#define _cleanup_nl_ _cleanup_(cleanup_nlp)

/* Puts a header of the given type in buf (MASCRI_NL_BUFSIZE bytes) with NLM_F_REQUEST |
 * flags and the next sequence number. Add NLM_F_ACK for requests, NLM_F_DUMP for dumps. */
struct nlmsghdr *mascri_nl_request(struct mascri_nl *nl, void *buf, uint16_t type, uint16_t flags);
/* A request (with NLM_F_ACK) about the link index, its ifinfomsg of family put; *ifm is
 * it, for flags. */
struct nlmsghdr *mascri_nl_link_request(struct mascri_nl *nl, void *buf, uint16_t type,
                                        unsigned char family, int index, struct ifinfomsg **ifm);

/* Sends nlh and runs replies through cb (may be NULL) until the ack or the end of the dump.
 * A netlink error becomes "netlink: <what>: <strerror>" with the kernel's errno. */
int mascri_nl_talk(struct mascri_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
                   const char *what, mascri_error_t *err);

#endif
