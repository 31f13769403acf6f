/* Builds the heap messages of the pod RPCs from pod snapshots (rpc.h's heap rule). */
#ifndef MASCRI_CRI_RPC_POD_MSG_H
#define MASCRI_CRI_RPC_POD_MSG_H

#include "api.pb-c.h"
#include "cri/rpc-packed.h"
#include "sandbox/pods.h"

Runtime__V1__PodSandboxStatus *mascri_pod_status_msg(const struct mascri_pod_info *in);
/* A ListPodSandbox item appended to l, borrowing in's strings for the packing, for
 * ListPodSandbox under the table's lock. */
void mascri_pod_list_item_add(struct mascri_packed_list *l, const struct mascri_pod_info *in);
Runtime__V1__PodSandboxAttributes *mascri_pod_attributes_msg(const struct mascri_pod_info *in);
/* Linux stats from the pod cgroup's numbers (st may be NULL: no cgroup numbers). */
Runtime__V1__LinuxPodSandboxStats *mascri_pod_linux_stats_msg(const mascri_container_stats_t *st,
                                                              int64_t now_ns);
/* NetworkUsage of the pod's eth0 (ns may be NULL: no numbers). */
Runtime__V1__NetworkUsage *mascri_pod_network_usage_msg(const char *ifname,
                                                        const struct mascri_pod_net_stats *ns,
                                                        int64_t now_ns);
/* The verbose "info" JSON of PodSandboxStatus. */
char *mascri_pod_verbose_info(const struct mascri_pod_info *in);
/* Whether every selector entry (map entries of any map<string,string>) is in the pod's
 * labels. */
bool mascri_pod_labels_match(const struct mascri_pod_info *in, void *const *selector, size_t n);

#endif
