/* PodSandboxConfig (protobuf) to sandbox's plain pod config (sandbox/pod-config.h), for
 * RunPodSandbox and for the config of version 1 pod records. */
#ifndef MASCRI_CRI_RPC_POD_CONV_H
#define MASCRI_CRI_RPC_POD_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "common/error.h"
#include "sandbox/pod-config.h"

/* Fills dst (which must be cleared) from src. INVALID_ARGUMENT, dst cleared, when src has no
 * metadata or an enum value CRI does not define (what sandbox's types cannot hold). */
int mascri_pod_config_from_pb(const Runtime__V1__PodSandboxConfig *src,
                              struct mascri_pod_config *dst, mascri_error_t *err);

/* mascri_pods_config.legacy_config: unpacks a packed PodSandboxConfig and converts it. */
int mascri_pod_config_legacy(const uint8_t *buf, size_t len, struct mascri_pod_config *out,
                             mascri_error_t *err);

#endif
