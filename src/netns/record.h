/* Per-pod network records: one JSON file per pod (<state>/pods/<id>.json) written
 * atomically (temp file + rename) before anything is created for the pod, so that teardown
 * and crash recovery always know what to undo. Not fsynced, as the IPAM files (ipam.h):
 * what a record describes dies with the kernel, and a lost record is recovered by
 * teardown's owner scan and open's reconciliation. */
#ifndef MASCRI_NETNS_RECORD_H
#define MASCRI_NETNS_RECORD_H

#include <stddef.h>

#include "common/error.h"
#include "netns/network.h"

struct netns_record {
  char *id;
  char *netns;     /* netns path at setup */
  char *host_veth; /* built-in: host end of the veth pair */
  char *ipv4, *ipv6, *gateway4, *gateway6;
  int prefix4, prefix6;
  struct mascri_port_mapping *ports; /* host_ip strings owned */
  size_t n_ports;
  /* CNI mode */
  char *cni_ifname;
  char *cni_config;  /* the network config list (JSON text) used for ADD */
  char *cni_runtime; /* runtimeConfig (JSON text) given at ADD */
  char *cni_args;    /* CNI_ARGS given at ADD */
  char *cni_result;  /* final ADD result (JSON text) */
};

void netns_record_clear(struct netns_record *r);
static inline void cleanup_recordp(struct netns_record *r)
{
  netns_record_clear(r);
}
#define _cleanup_record_ _cleanup_(cleanup_recordp)

/* Copies ports (with their host_ip strings) into the record. */
void netns_record_set_ports(struct netns_record *r, const struct mascri_port_mapping *ports,
                            size_t n);

char *netns_record_to_json(const struct netns_record *r);
int netns_record_from_json(const char *text, size_t len, struct netns_record *r,
                           mascri_error_t *err);

/* dirfd is the pods directory. read fails with MASCRI_ERR_NOT_FOUND when absent. */
int netns_record_write(int dirfd, const struct netns_record *r, mascri_error_t *err);
int netns_record_read(int dirfd, const char *id, struct netns_record *r, mascri_error_t *err);
int netns_record_remove(int dirfd, const char *id, mascri_error_t *err);
/* Ids of all records (NULL-terminated, allocated). Also removes temp files a crash left
 * behind, so call it only while no record can be being written (at open). */
int netns_record_scan(int dirfd, char ***ids, mascri_error_t *err);

/* Called for a recorded pod that is no longer live: rec is what could be read of its record;
 * *read_err is set when reading failed (the callee may release it; the walk releases what is
 * left). Return < 0 with err to stop the walk. */
typedef int (*netns_dead_pod_fn)(void *arg, const char *id, struct netns_record *rec,
                                 mascri_error_t *read_err, mascri_error_t *err);
/* The reconciliation both network backends run at open: fn for every recorded pod whose id
 * is not in live (NULL-terminated). Scans like netns_record_scan, so the same caveat holds. */
int netns_record_for_each_dead(int dirfd, const char *const *live, netns_dead_pod_fn fn, void *arg,
                               mascri_error_t *err);

#endif
