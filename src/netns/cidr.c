#include "netns/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

int mascri_ip_parse(const char *s, struct mascri_ip *ip)
{
  memset(ip, 0, sizeof(*ip));
  if (s == NULL)
    return -1;
  if (inet_pton(AF_INET, s, ip->b) == 1) {
    ip->family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, s, ip->b) == 1) {
    ip->family = AF_INET6;
    return 0;
  }
  return -1;
}

char *mascri_ip_format(const struct mascri_ip *ip, char *buf)
{
  if (inet_ntop(ip->family, ip->b, buf, MASCRI_IP_STRLEN) == NULL)
    snprintf(buf, MASCRI_IP_STRLEN, "?");
  return buf;
}

bool mascri_ip_equal(const struct mascri_ip *a, const struct mascri_ip *b)
{
  return a->family == b->family && memcmp(a->b, b->b, (size_t)mascri_ip_len(a)) == 0;
}

static void clear_host_bits(struct mascri_ip *ip, int prefix)
{
  int len = mascri_ip_len(ip);
  for (int i = 0; i < len; i++) {
    int bits = prefix - i * 8;
    if (bits >= 8)
      continue;
    ip->b[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
  }
}

int mascri_cidr_parse(const char *s, struct mascri_cidr *c, mascri_error_t *err)
{
  const char *slash = s ? strchr(s, '/') : NULL;
  if (slash == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "invalid CIDR \"%s\": expected address/prefix", s ? s : "");
  _cleanup_free_ char *addr = xstrndup(s, (size_t)(slash - s));
  if (mascri_ip_parse(addr, &c->net) < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "invalid CIDR \"%s\": bad address", s);
  char *end = NULL;
  errno = 0;
  long prefix = strtol(slash + 1, &end, 10);
  int max = mascri_ip_len(&c->net) * 8;
  if (errno || end == slash + 1 || *end || prefix < 0 || prefix > max)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "invalid CIDR \"%s\": bad prefix length", s);
  c->prefix = (int)prefix;
  clear_host_bits(&c->net, c->prefix);
  return 0;
}

void mascri_cidr_from_ip(const struct mascri_ip *ip, int prefix, struct mascri_cidr *out)
{
  out->net = *ip;
  out->prefix = prefix;
  clear_host_bits(&out->net, prefix);
}

bool mascri_cidr_contains(const struct mascri_cidr *c, const struct mascri_ip *ip)
{
  if (ip->family != c->net.family)
    return false;
  struct mascri_ip masked = *ip;
  clear_host_bits(&masked, c->prefix);
  return mascri_ip_equal(&masked, &c->net);
}

uint64_t mascri_cidr_size(const struct mascri_cidr *c)
{
  int host_bits = mascri_ip_len(&c->net) * 8 - c->prefix;
  if (host_bits >= 32)
    return UINT64_C(1) << 32;
  return UINT64_C(1) << host_bits;
}

void mascri_cidr_nth(const struct mascri_cidr *c, uint64_t n, struct mascri_ip *out)
{
  *out = c->net;
  int len = mascri_ip_len(out);
  unsigned carry = 0;
  for (int i = len - 1; i >= 0; i--) {
    unsigned sum = out->b[i] + (unsigned)(n & 0xff) + carry;
    out->b[i] = (uint8_t)sum;
    carry = sum >> 8;
    n >>= 8;
  }
}

uint64_t mascri_cidr_offset(const struct mascri_cidr *c, const struct mascri_ip *ip)
{
  int len = mascri_ip_len(ip);
  int start = len > 8 ? len - 8 : 0;
  uint64_t a = 0, b = 0;
  for (int i = start; i < len; i++) {
    a = (a << 8) | ip->b[i];
    b = (b << 8) | c->net.b[i];
  }
  return a - b;
}

char *mascri_cidr_format(const struct mascri_cidr *c, char *buf)
{
  char ip[MASCRI_IP_STRLEN];
  snprintf(buf, MASCRI_IP_STRLEN + 4, "%s/%d", mascri_ip_format(&c->net, ip), c->prefix);
  return buf;
}
