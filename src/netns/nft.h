/* nftables through the nft command (see network.c's header note on why not libnftnl).
 *
 * One table, family inet (default name "mascri"):
 *   set  cidr4 / cidr6            pod CIDRs (masquerade sources)
 *   map  hp4 / hp6                proto . port          -> pod addr . port (any host IP)
 *   map  hp4ip / hp6ip            proto . hostIP . port -> pod addr . port
 *   chain prerouting/output (nat) fib daddr type local jump hostports
 *   chain hostports               dnat through the maps
 *   chain postrouting (nat)       masquerade pod CIDR -> outside
 * Per pod only map elements change, so setup/teardown never touch rules or handles. */
#ifndef MASCRI_NETNS_NFT_H
#define MASCRI_NETNS_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "netns/cidr.h"
#include "netns/network.h"

/* Finds the nft program ($PATH, /usr/sbin, /sbin); NULL when not installed. */
char *mascri_nft_find(void);
/* Runs `nft -f -` with script (keep_fd: see mascri_exec_keeping); a failure carries nft's
 * own message. */
int mascri_nft_run(const char *nft, int keep_fd, const char *script, mascri_error_t *err);

/* Script that (re)creates the table from scratch with cidrs (n of them) in its sets. */
char *mascri_nft_table_script(const char *table, const struct mascri_cidr *cidrs, size_t n,
                              bool masquerade);
/* Script deleting the table (ignored if absent). */
char *mascri_nft_delete_table_script(const char *table);

/* Script adding (add=true) or deleting one pod's port mappings. ip4/ip6 may be NULL. Fails
 * (NULL and err) for mappings that cannot apply: SCTP, a hostIP of a family the pod lacks. */
char *mascri_nft_ports_script(const char *table, bool add, const struct mascri_ip *ip4,
                              const struct mascri_ip *ip6, const struct mascri_port_mapping *ports,
                              size_t n, mascri_error_t *err);

#endif
