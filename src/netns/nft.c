#include "netns/nft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "netns/exec.h"

char *mascri_nft_find(void)
{
  const char *path = getenv("PATH");
  _cleanup_strv_ char **dirs = mascri_strv_split(path ? path : "", ':');
  mascri_strv_append(&dirs, "/usr/sbin");
  mascri_strv_append(&dirs, "/sbin");
  for (char **d = dirs; *d; d++) {
    if (**d != '/')
      continue;
    _cleanup_free_ char *p = mascri_path_join(*d, "nft");
    if (access(p, X_OK) == 0)
      return TAKE_PTR(p);
  }
  return NULL;
}

int mascri_nft_run(const char *nft, int keep_fd, const char *script, mascri_error_t *err)
{
  char *argv[] = {(char *)"nft", (char *)"-f", (char *)"-", NULL};
  struct mascri_exec_result res;
  if (mascri_exec_keeping(keep_fd, nft, argv, NULL, script, strlen(script), 30000, &res, err) < 0)
    return mascri_error_wrap(err, "nftables");
  int r = 0;
  if (res.status != 0) {
    size_t n = strlen(res.errout);
    while (n && res.errout[n - 1] == '\n')
      res.errout[--n] = '\0';
    r = mascri_make_error(err, 0, "nftables: nft exited with %d: %s", res.status, res.errout);
  }
  mascri_exec_result_clear(&res);
  return r;
}

char *mascri_nft_delete_table_script(const char *table)
{
  return xasprintf("table inet %s\ndelete table inet %s\n", table, table);
}

static void put_sets(FILE *f, const char *table, const struct mascri_cidr *cidrs, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char buf[MASCRI_IP_STRLEN + 4];
    fprintf(f, "add element inet %s %s { %s }\n", table,
            cidrs[i].net.family == AF_INET ? "cidr4" : "cidr6", mascri_cidr_format(&cidrs[i], buf));
  }
}

char *mascri_nft_table_script(const char *table, const struct mascri_cidr *cidrs, size_t n,
                              bool masquerade)
{
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  /* Create-then-delete makes the deletion valid whether or not the table existed; the whole
   * file is one transaction. */
  fprintf(f, "table inet %s\ndelete table inet %s\n", table, table);
  fprintf(f,
          "table inet %s {\n"
          "  set cidr4 { type ipv4_addr; flags interval; }\n"
          "  set cidr6 { type ipv6_addr; flags interval; }\n"
          "  map hp4 { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
          "  map hp6 { type inet_proto . inet_service : ipv6_addr . inet_service; }\n"
          "  map hp4ip { type inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
          "  map hp6ip { type inet_proto . ipv6_addr . inet_service : ipv6_addr . inet_service; }\n"
          "  chain prerouting {\n"
          "    type nat hook prerouting priority dstnat; policy accept;\n"
          "    fib daddr type local jump hostports\n"
          "  }\n"
          "  chain output {\n"
          "    type nat hook output priority -100; policy accept;\n"
          "    fib daddr type local jump hostports\n"
          "  }\n"
          "  chain hostports {\n"
          /* ::1 cannot leave lo (IPv6 has no route_localnet): DNATed to a pod it would be
           * dropped on the bridge and the client would hang. Not translated, it is refused
           * at once (or reaches whatever listens on the host's [::1]:port). */
          "    ip6 daddr ::1 return\n"
          "    meta nfproto ipv4 dnat ip to meta l4proto . ip daddr . th dport map @hp4ip\n"
          "    meta nfproto ipv4 dnat ip to meta l4proto . th dport map @hp4\n"
          "    meta nfproto ipv6 dnat ip6 to meta l4proto . ip6 daddr . th dport map @hp6ip\n"
          "    meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @hp6\n"
          "  }\n"
          "  chain postrouting {\n"
          "    type nat hook postrouting priority srcnat; policy accept;\n"
          /* A pod reaching a hostPort (its own included: hairpin) must see replies come
           * from the address it talked to: masquerade DNATed pod-to-pod traffic. */
          "    ct status dnat ip saddr @cidr4 ip daddr @cidr4 masquerade\n"
          "    ct status dnat ip6 saddr @cidr6 ip6 daddr @cidr6 masquerade\n"
          /* The node's own 127.0.0.1:hostPort (route_localnet on the bridge lets it out):
           * the pod must answer an address it can reach. */
          "    ct status dnat ip saddr 127.0.0.0/8 ip daddr @cidr4 masquerade\n"
          "%s"
          "  }\n"
          "}\n",
          table,
          masquerade ? "    ip saddr @cidr4 ip daddr != @cidr4 masquerade\n"
                       "    ip6 saddr @cidr6 ip6 daddr != @cidr6 masquerade\n"
                     : "");
  put_sets(f, table, cidrs, n);
  fclose(f);
  return s;
}

static const char *proto_name(mascri_port_proto_t p)
{
  return p == MASCRI_PROTO_UDP ? "udp" : p == MASCRI_PROTO_SCTP ? "sctp" : "tcp";
}

/* One element line; family says which pod address the mapping targets. */
static void put_element(FILE *f, const char *table, bool add, const struct mascri_ip *target,
                        const struct mascri_ip *host, const struct mascri_port_mapping *p)
{
  char t[MASCRI_IP_STRLEN], h[MASCRI_IP_STRLEN];
  bool v4 = target->family == AF_INET;
  const char *map = host ? (v4 ? "hp4ip" : "hp6ip") : (v4 ? "hp4" : "hp6");
  fprintf(f, "%s element inet %s %s { %s . ", add ? "add" : "delete", table, map,
          proto_name(p->protocol));
  if (host)
    fprintf(f, "%s . ", mascri_ip_format(host, h));
  fprintf(f, "%u", p->host_port);
  if (add)
    fprintf(f, " : %s . %u", mascri_ip_format(target, t), p->container_port);
  fprintf(f, " }\n");
}

static int put_mapping(FILE *f, const char *table, bool add, const struct mascri_ip *ip4,
                       const struct mascri_ip *ip6, const struct mascri_port_mapping *p,
                       mascri_error_t *err)
{
  if (p->protocol == MASCRI_PROTO_SCTP)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "hostPort %u: SCTP is not supported by the built-in network",
                                  p->host_port);
  const char *hip = p->host_ip && *p->host_ip ? p->host_ip : NULL;
  struct mascri_ip host;
  if (hip && mascri_ip_parse(hip, &host) < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "hostPort %u: invalid hostIP \"%s\"", p->host_port, hip);
  bool any4 = hip == NULL || strcmp(hip, "0.0.0.0") == 0;
  bool any6 = hip == NULL || strcmp(hip, "::") == 0;
  if (any4 || any6) {
    if (any4 && ip4)
      put_element(f, table, add, ip4, NULL, p);
    if (any6 && ip6)
      put_element(f, table, add, ip6, NULL, p);
    return 0;
  }
  const struct mascri_ip *target = host.family == AF_INET ? ip4 : ip6;
  if (target == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "hostPort %u: hostIP %s but the pod has no address of its family",
                                  p->host_port, hip);
  put_element(f, table, add, target, &host, p);
  return 0;
}

char *mascri_nft_ports_script(const char *table, bool add, const struct mascri_ip *ip4,
                              const struct mascri_ip *ip6, const struct mascri_port_mapping *ports,
                              size_t n, mascri_error_t *err)
{
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    if (ports[i].host_port == 0)
      continue;
    r = put_mapping(f, table, add, ip4, ip6, &ports[i], err);
  }
  fclose(f);
  if (r < 0) {
    free(s);
    return NULL;
  }
  return s;
}
