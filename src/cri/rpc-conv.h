/* Protobuf to sandbox's plain config types and back, for the building blocks both pods and
 * containers use (sandbox/config-types.h). The pod and container configs themselves convert
 * in rpc-pod-msg.c and rpc-ctr-msg.c with these. */
#ifndef MASCRI_CRI_RPC_CONV_H
#define MASCRI_CRI_RPC_CONV_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "api.pb-c.h"
#include "sandbox/config-types.h"

/* A protobuf map (its entries: any *Entry message, all laid out as base, key, value) into
 * dst, which must be empty; NULL keys and values become "". */
void mascri_conv_kv_in(struct mascri_kv_list *dst, void *const *entries, size_t n);
/* A protobuf map of entry type desc from l; *n_out its length. */
void *mascri_conv_kv_out(const ProtobufCMessageDescriptor *desc, const struct mascri_kv_list *l,
                         size_t *n_out);
/* The same map borrowing l's strings, for packing only (never for a message the server
 * frees): one allocation, the pointer array then the entries, freed with free() (none for
 * an empty l: NULL); *n_out its length. Every map<string,string> entry packs to the same bytes, so
 * desc may be any entry type of the same layout. */
void *mascri_conv_kv_borrow(const ProtobufCMessageDescriptor *desc, const struct mascri_kv_list *l,
                            size_t *n_out);
/* Whether every selector entry is among labels (ListPodSandbox/ListContainers filters). */
bool mascri_conv_kv_match(const struct mascri_kv_list *labels, void *const *selector, size_t n);

/* NULL src gives the defaults (POD for network/pid/ipc, userns NODE). */
void mascri_conv_ns_options_in(struct mascri_ns_options *dst,
                               const Runtime__V1__NamespaceOption *src);
Runtime__V1__NamespaceOption *mascri_conv_ns_options_out(const struct mascri_ns_options *src);
/* NULL src gives an unset profile. */
void mascri_conv_profile_in(struct mascri_security_profile *dst,
                            const Runtime__V1__SecurityProfile *src);
/* PodSandboxMetadata (name, uid, namespace, attempt); NULL src gives empty metadata. */
void mascri_conv_pod_metadata_in(struct mascri_metadata *dst,
                                 const Runtime__V1__PodSandboxMetadata *src);
/* ContainerMetadata (name, attempt). */
void mascri_conv_ctr_metadata_in(struct mascri_metadata *dst,
                                 const Runtime__V1__ContainerMetadata *src);

/* A copy of s, NULL for NULL or "" (protobuf's absent string). */
char *mascri_conv_str(const char *s);
/* A NULL-terminated copy of a protobuf repeated string. */
char **mascri_conv_strv(char *const *v, size_t n);

#endif
