/* IP address management on disk: one file per allocated address (named after it, holding
 * the owner's pod id) in a directory. An address is taken by link()ing a fully written
 * temp file to its name, which fails if it exists: no address is ever handed out twice,
 * even across processes, and no file is ever seen half-written. Thread-safe.
 *
 * Nothing is fsynced: what an address file stands for (a veth in a netns) does not survive
 * a reboot either, and a file that lost its content in a power cut has no owner, which
 * reconciliation frees. Skipping fsync keeps pod setup well under a millisecond of I/O. */
#ifndef MASCRI_NETNS_IPAM_H
#define MASCRI_NETNS_IPAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "netns/cidr.h"

/* The addresses of a CIDR handed out to pods: IPv4 skips the network address, the gateway
 * (first host) and broadcast; IPv6 the subnet-router anycast and the gateway, and is
 * capped at 2^20 addresses. */
struct mascri_ipam_range {
  struct mascri_cidr cidr;
  struct mascri_ip gateway;
  uint64_t first, last; /* offsets from the network address, inclusive */
  uint64_t next;        /* where the next search starts (round robin) */
};
int mascri_ipam_range_init(struct mascri_ipam_range *r, const struct mascri_cidr *c,
                           mascri_error_t *err);

struct mascri_ipam;
int mascri_ipam_open(const char *dir, struct mascri_ipam **out, mascri_error_t *err);
void mascri_ipam_close(struct mascri_ipam *ipam);
static inline void cleanup_ipamp(struct mascri_ipam **p)
{
  if (*p)
    mascri_ipam_close(*p);
}
#define _cleanup_ipam_ _cleanup_(cleanup_ipamp)

/* Takes a free address of range for owner; MASCRI_ERR_RESOURCE_EXHAUSTED when none is left. */
int mascri_ipam_allocate(struct mascri_ipam *ipam, struct mascri_ipam_range *range,
                         const char *owner, struct mascri_ip *out, mascri_error_t *err);
/* Takes exactly ip for owner; MASCRI_ERR_ALREADY_EXISTS when another owner has it. */
int mascri_ipam_reserve(struct mascri_ipam *ipam, const struct mascri_ip *ip, const char *owner,
                        mascri_error_t *err);
/* Frees ip if owner holds it (owner NULL: whoever holds it). Absent is not an error. */
int mascri_ipam_release(struct mascri_ipam *ipam, const struct mascri_ip *ip, const char *owner,
                        mascri_error_t *err);
/* Frees every address owner holds; *released (may be NULL) counts them. */
int mascri_ipam_release_owner(struct mascri_ipam *ipam, const char *owner, size_t *released,
                              mascri_error_t *err);

typedef void (*mascri_ipam_fn)(const struct mascri_ip *ip, const char *owner, void *data);
int mascri_ipam_list(struct mascri_ipam *ipam, mascri_ipam_fn fn, void *data, mascri_error_t *err);

/* Frees every address whose owner is not in live (NULL-terminated, may be NULL), and
 * removes leftover temp files; *released (may be NULL) counts the freed addresses. */
int mascri_ipam_reconcile(struct mascri_ipam *ipam, const char *const *live, size_t *released,
                          mascri_error_t *err);

#endif
