/* The network handle's insides, shared by the facade and its two backends. */
#ifndef MASCRI_NETNS_NETWORK_INTERNAL_H
#define MASCRI_NETNS_NETWORK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "netns/cidr.h"
#include "netns/ipam.h"
#include "netns/network.h"
#include "netns/record.h"

struct netns_cni_cache; /* cni.c: the loaded config, reloaded when the conf dir changes */

struct mascri_network {
  mascri_network_mode_t mode; /* resolved: never AUTO */
  /* Owned copies of the configuration. */
  char *bridge, *state_dir, *nft_table, *cni_conf_dir, *cni_cache_dir;
  char **cni_bin_dirs;
  unsigned mtu, plugin_timeout_ms;
  bool masquerade;

  int pods_dirfd;           /* <state_dir>/pods: one record per pod */
  struct mascri_ipam *ipam; /* <state_dir>/ips */
  char *nft;                /* path of the nft program */
  int helpers_fd;           /* the helpers lock, held by every helper run (network.c) */

  pthread_mutex_t lock; /* guards everything below */
  struct mascri_ipam_range range4, range6;
  bool has4, has6;
  struct mascri_cidr *cidrs; /* every CIDR configured since open (masquerade sets) */
  size_t n_cidrs;
  char **in_flight; /* pod ids with a setup or teardown under way */
  struct netns_cni_cache *cni;
};

/* Host end of a pod's veth: "mv" + 12 hex digits of a hash of bridge and pod id. */
void netns_veth_name(const struct mascri_network *net, const char *pod_id, char name[16]);

/* Built-in backend (builtin.c). */
int netns_builtin_open(struct mascri_network *net, const char *const *live, mascri_error_t *err);
int netns_builtin_setup(struct mascri_network *net, const struct mascri_network_pod *pod,
                        struct netns_record *rec, mascri_error_t *err);
/* Undoes whatever rec says exists; rec may be partial. */
int netns_builtin_teardown(struct mascri_network *net, const struct netns_record *rec,
                           mascri_error_t *err);
int netns_builtin_check(struct mascri_network *net, const struct netns_record *rec,
                        mascri_error_t *err);
int netns_builtin_add_cidr(struct mascri_network *net, const struct mascri_cidr *c,
                           mascri_error_t *err);

/* CNI backend (cni.c). */
int netns_cni_open(struct mascri_network *net, const char *const *live, mascri_error_t *err);
int netns_cni_setup(struct mascri_network *net, const struct mascri_network_pod *pod,
                    struct netns_record *rec, mascri_error_t *err);
/* DEL with the config and runtimeConfig cached at ADD; netns_path may be NULL. */
int netns_cni_teardown(struct mascri_network *net, const char *netns_path,
                       const struct netns_record *rec, mascri_error_t *err);
int netns_cni_check(struct mascri_network *net, const struct mascri_network_pod *pod,
                    const struct netns_record *rec, mascri_error_t *err);
void netns_cni_status(struct mascri_network *net, bool *ready, char **reason);
void netns_cni_cache_free(struct netns_cni_cache *cache);
/* Path of the lexically first .conflist/.conf/.json in dir, or NULL. */
char *netns_cni_first_config(const char *dir);
/* Copies the dns section of a CNI result (JSON text) into res. */
void netns_cni_result_dns(const char *result_json, struct mascri_network_result *res);

#endif
