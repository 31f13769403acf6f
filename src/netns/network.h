/* Pod networking facade: the one header the daemon and the sandbox code use.
 *
 * Two backends behind one API:
 *  - built-in: a bridge (default "mascri0") with the pod CIDR's first address as gateway, one
 *    veth pair per pod made through netlink (libmnl), IPAM records on disk, masquerade and
 *    hostPort DNAT through nftables (table "inet mascri" by default);
 *  - CNI: the lexically first .conflist/.conf/.json in the CNI conf dir, plugins run per the
 *    CNI 1.0 spec (ADD/DEL/CHECK/VERSION), results cached for DEL.
 *
 * A struct mascri_network is thread-safe: the daemon may call setup/teardown/status for
 * different pods from several worker threads at once. It holds no global state; two handles
 * with different bridges/CIDRs/state dirs can coexist in one process (the tests do that).
 * hostNetwork pods must simply not call setup/teardown. */
#ifndef MASCRI_NETNS_NETWORK_H
#define MASCRI_NETNS_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum {
  MASCRI_NETWORK_AUTO = 0, /* CNI when a config file is present at open, else built-in */
  MASCRI_NETWORK_BUILTIN,
  MASCRI_NETWORK_CNI,
  MASCRI_NETWORK_NONE, /* pods get only loopback; setup brings lo up, reports no IP */
} mascri_network_mode_t;

/* All pointers are borrowed during mascri_network_open (copied). NULL/0 means the default. */
struct mascri_network_config {
  mascri_network_mode_t mode;
  const char *bridge;              /* default "mascri0" */
  const char *pod_cidr;            /* IPv4 CIDR, default "10.89.0.0/16"; "" disables IPv4 */
  const char *pod_cidr6;           /* optional IPv6 CIDR for dual-stack, e.g. "fd89::/64" */
  unsigned mtu;                    /* default 1500 */
  const char *state_dir;           /* IPAM and pod records, default "/var/lib/mascri/ipam" */
  const char *nft_table;           /* nftables table (family inet), default "mascri" */
  bool no_masquerade;              /* do not masquerade egress traffic from the pod CIDR */
  const char *cni_conf_dir;        /* default "/etc/cni/net.d" */
  const char *const *cni_bin_dirs; /* NULL-terminated; default {"/opt/cni/bin","/usr/lib/cni"} */
  const char *cni_cache_dir;       /* CNI mode's pod records holding the cached ADD results
                                      (config, runtimeConfig, result), default
                                      "/var/lib/mascri/cni" */
  unsigned plugin_timeout_ms;      /* per plugin exec, default 60000 */
};

/* Parses a mode name: "auto", "builtin" (or "bridge"), "cni", "none". -1 when unknown. */
int mascri_network_parse_mode(const char *name);
const char *mascri_network_mode_name(mascri_network_mode_t mode);

typedef enum {
  MASCRI_PROTO_TCP = 0,
  MASCRI_PROTO_UDP,
  MASCRI_PROTO_SCTP, /* CNI mode only; built-in rejects it */
} mascri_port_proto_t;

struct mascri_port_mapping {
  mascri_port_proto_t protocol;
  uint16_t container_port;
  uint16_t host_port;  /* 0: no mapping (skipped, as kubelet does) */
  const char *host_ip; /* NULL or "" or "0.0.0.0"/"::": every host address */
};

/* Optional CNI runtimeConfig extras (ignored by the built-in backend, except bandwidth
 * which it does not implement and reports as an error when set). Rates in bits/s. */
struct mascri_network_bandwidth {
  uint64_t ingress_rate, ingress_burst, egress_rate, egress_burst;
};

/* Everything that describes one pod to the network. Borrowed for the duration of a call. */
struct mascri_network_pod {
  const char *id;         /* sandbox id (required) */
  const char *name;       /* K8S_POD_NAME */
  const char *namespace;  /* K8S_POD_NAMESPACE */
  const char *uid;        /* K8S_POD_UID, may be NULL */
  const char *netns_path; /* pinned pod netns, e.g. /run/mascri/ns/<pod>/net (required) */
  const struct mascri_port_mapping *ports;
  size_t n_ports;
  const struct mascri_network_bandwidth *bandwidth; /* NULL: none */
  const char *const *dns_servers; /* NULL-terminated or NULL (CNI runtimeConfig dns) */
  const char *const *dns_searches;
  const char *const *dns_options;
  const char *const *request_ips; /* CNI runtimeConfig ips, "10.1.2.3/24"; NULL: none */
};

/* What setup hands back. Strings are owned by the result. */
struct mascri_network_result {
  char *ipv4;     /* "10.89.0.5" or NULL */
  char *ipv6;     /* "fd89::5" or NULL */
  char *gateway4; /* NULL when none */
  char *gateway6;
  int prefix4, prefix6;
  char *interface;    /* name inside the pod, normally "eth0" */
  char **dns_servers; /* from a CNI result, NULL-terminated or NULL */
  char **dns_searches;
  char **dns_options;
};
void mascri_network_result_free(struct mascri_network_result *res);
static inline void cleanup_network_resultp(struct mascri_network_result **r)
{
  if (*r)
    mascri_network_result_free(*r);
}
#define _cleanup_network_result_ _cleanup_(cleanup_network_resultp)

struct mascri_network;

/* Opens the network. live_pod_ids (NULL-terminated) are the pods the caller knows to
 * exist: IPs, veths, pod records and port mappings of any other pod are released (crash
 * recovery); an empty list releases everything. NULL skips that reconciliation (tools that
 * do not know the pods). In built-in mode it creates/updates the bridge, its gateway addresses,
 * the nftables table, and enables ip_forward (logged). In CNI mode it only validates the
 * conf dir; a missing config makes status() report not ready rather than failing open. */
int mascri_network_open(const struct mascri_network_config *config, const char *const *live_pod_ids,
                        struct mascri_network **out, mascri_error_t *err);
/* Frees the handle. Leaves the bridge, table and records in place (pods keep running). */
void mascri_network_close(struct mascri_network *net);
static inline void cleanup_networkp(struct mascri_network **n)
{
  if (*n)
    mascri_network_close(*n);
}
#define _cleanup_network_ _cleanup_(cleanup_networkp)

mascri_network_mode_t mascri_network_mode(const struct mascri_network *net);

/* Connects the pod's netns: returns its addresses in *result (allocated). Calling it again
 * for a pod that is already set up fails with MASCRI_ERR_ALREADY_EXISTS. On failure
 * everything done so far for this pod is undone. */
int mascri_network_setup(struct mascri_network *net, const struct mascri_network_pod *pod,
                         struct mascri_network_result **result, mascri_error_t *err);

/* Disconnects the pod and frees its addresses and port mappings. Idempotent: a pod that
 * is not (or no longer) set up, or whose netns is gone, is not an error. netns_path may be
 * NULL (the netns is already gone); only pod->id (and netns_path if known) is required. */
int mascri_network_teardown(struct mascri_network *net, const struct mascri_network_pod *pod,
                            mascri_error_t *err);

/* Verifies the pod's network still matches (CNI CHECK; built-in: host veth exists and the
 * pod's address is recorded). */
int mascri_network_check(struct mascri_network *net, const struct mascri_network_pod *pod,
                         mascri_error_t *err);

/* The addresses recorded for a pod (e.g. for PodSandboxStatus after a daemon restart).
 * Returns 0 and *result, or MASCRI_ERR_NOT_FOUND when the pod has no network. */
int mascri_network_get_pod(struct mascri_network *net, const char *pod_id,
                           struct mascri_network_result **result, mascri_error_t *err);

/* NetworkReady: *ready and, when not ready, *reason (allocated) e.g. "no CNI config in
 * /etc/cni/net.d". Never fails for an open handle. */
void mascri_network_status(struct mascri_network *net, bool *ready, char **reason);

/* UpdateRuntimeConfig's pod CIDR (IPv4 or IPv6 by its syntax; a comma-separated pair for
 * dual-stack). Built-in: new pods get addresses from it, the bridge gets the new gateway,
 * masquerade follows; existing pods keep theirs. CNI mode: accepted and ignored. */
int mascri_network_update_pod_cidr(struct mascri_network *net, const char *cidr,
                                   mascri_error_t *err);

#endif
