/* Builds the heap messages of the container RPCs from container snapshots (rpc.h's heap
 * rule). image_ref: what ContainerStatus.image_ref shows (a repo digest when the image has
 * one), NULL for the image id. */
#ifndef MASCRI_CRI_RPC_CTR_MSG_H
#define MASCRI_CRI_RPC_CTR_MSG_H

#include "api.pb-c.h"
#include "cri/rpc-packed.h"
#include "sandbox/containers.h"

Runtime__V1__ContainerMetadata *mascri_ctr_metadata_msg(const struct mascri_ctr_info *in);
/* A ListContainers item appended to l, borrowing in's strings for the packing (its maps'
 * entries in blocks freed before it returns), for ListContainers under the store's lock. */
void mascri_ctr_list_item_add(struct mascri_packed_list *l, const struct mascri_ctr_info *in,
                              const char *image_ref);
Runtime__V1__ContainerAttributes *mascri_ctr_attributes_msg(const struct mascri_ctr_info *in);
Runtime__V1__ContainerStatus *mascri_ctr_status_msg(const struct mascri_ctr_info *in,
                                                    const char *image_ref);
/* ContainerStatus's verbose "info": sandboxID, pid, monitorPid, name, logPath, bundle and
 * the OCI spec as "runtimeSpec". */
char *mascri_ctr_verbose_info(const struct mascri_ctr_info *in, const char *bundle_dir);
Runtime__V1__ContainerStats *mascri_ctr_stats_msg(const struct mascri_ctr_info *in,
                                                  const struct mascri_ctr_usage *u, int64_t now);
/* Sets cpu and memory from u's cgroup figures (nothing when it has none). */
void mascri_ctr_stats_msg_set_cgroup(Runtime__V1__ContainerStats *s,
                                     const struct mascri_ctr_usage *u, int64_t now);

#endif
