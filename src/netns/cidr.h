/* IP addresses and CIDR ranges (IPv4 and IPv6): parse, format, arithmetic. Pure logic. */
#ifndef MASCRI_NETNS_CIDR_H
#define MASCRI_NETNS_CIDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct mascri_ip {
  int family;    /* AF_INET or AF_INET6 */
  uint8_t b[16]; /* network byte order; IPv4 uses b[0..3] */
};

struct mascri_cidr {
  struct mascri_ip net; /* host bits cleared */
  int prefix;
};

#define MASCRI_IP_STRLEN INET6_ADDRSTRLEN

static inline int mascri_ip_len(const struct mascri_ip *ip)
{
  return ip->family == AF_INET ? 4 : 16;
}

int mascri_ip_parse(const char *s, struct mascri_ip *ip);
/* Formats into buf (MASCRI_IP_STRLEN bytes) and returns buf. */
char *mascri_ip_format(const struct mascri_ip *ip, char *buf);
bool mascri_ip_equal(const struct mascri_ip *a, const struct mascri_ip *b);

/* "10.89.0.0/16" or "fd89::/64"; host bits are cleared. */
int mascri_cidr_parse(const char *s, struct mascri_cidr *c, mascri_error_t *err);
/* The network ip/prefix belongs to (host bits cleared). */
void mascri_cidr_from_ip(const struct mascri_ip *ip, int prefix, struct mascri_cidr *out);
bool mascri_cidr_contains(const struct mascri_cidr *c, const struct mascri_ip *ip);
/* Number of addresses, capped at 2^32. */
uint64_t mascri_cidr_size(const struct mascri_cidr *c);
/* The address at offset n from the network address (n < size). */
void mascri_cidr_nth(const struct mascri_cidr *c, uint64_t n, struct mascri_ip *out);
/* Offset of ip inside c (ip must be contained; only the low 64 bits are considered). */
uint64_t mascri_cidr_offset(const struct mascri_cidr *c, const struct mascri_ip *ip);
/* "10.89.0.0/16" into buf (MASCRI_IP_STRLEN + 4 bytes). */
char *mascri_cidr_format(const struct mascri_cidr *c, char *buf);

#endif
