/* The container config, protobuf <-> sandbox's plain form (sandbox/ctr-config.h):
 * CreateContainer's ContainerConfig and UpdateContainerResources' resources in, what
 * ContainerStatus reports of them out, and the packed configs of old container records. */
#ifndef MASCRI_CRI_RPC_CTR_CONV_H
#define MASCRI_CRI_RPC_CTR_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "common/error.h"
#include "sandbox/ctr-config.h"

/* dst must be zeroed (or cleared); protobuf's empty strings become NULL. */
void mascri_conv_ctr_config_in(struct mascri_ctr_config *dst,
                               const Runtime__V1__ContainerConfig *src);
void mascri_conv_ctr_resources_in(struct mascri_ctr_resources *dst,
                                  const Runtime__V1__LinuxContainerResources *src);

/* Heap messages for the status answers (rpc.h's heap rule). */
Runtime__V1__LinuxContainerResources *
mascri_conv_ctr_resources_out(const struct mascri_ctr_resources *src);
Runtime__V1__Mount *mascri_conv_ctr_mount_out(const struct mascri_ctr_mount *src);
/* CRI's Signal of a stop_signal name; RUNTIME_DEFAULT for NULL or an unknown name. */
Runtime__V1__Signal mascri_conv_signal_out(const char *name);

/* mascri_containers_config.legacy_config: a version 1 container record's config, the
 * packed ContainerConfig, into *out (cleared first). INVALID_ARGUMENT when buf does not
 * unpack. */
int mascri_conv_ctr_legacy_config(const uint8_t *buf, size_t len, struct mascri_ctr_config *out,
                                  mascri_error_t *err);

#endif
