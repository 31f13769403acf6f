/* Pure helpers of the pod sandboxes: the CRI pod name, resolv.conf/hosts text, sysctl
 * checks and hex encoding (ids, and the config of version 1 pod records). No I/O:
 * unit-tested alone. */
#ifndef MASCRI_SANDBOX_POD_UTIL_H
#define MASCRI_SANDBOX_POD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "common/error.h"
#include "sandbox/config-types.h"
#include "sandbox/pod-config.h"

/* "k8s_POD_<name>_<namespace>_<uid>_<attempt>"; INVALID_ARGUMENT when the metadata's name,
 * namespace or uid is missing. */
char *mascri_pod_full_name(const struct mascri_metadata *md, mascri_error_t *err);

/* A fresh id: 64 lowercase hex characters from getrandom(2). */
char *mascri_pod_new_id(void);

/* resolv.conf text from the CRI DNS config (nameserver lines, one search line, one options
 * line); INVALID_ARGUMENT on a value holding a newline. */
char *mascri_pod_resolv_conf(const struct mascri_pod_dns *dns, mascri_error_t *err);

/* Whether h may be a pod's hostname: an RFC 1123 subdomain (dot-separated labels of
 * letters, digits and '-', each 1-63 long, starting and ending with a letter or digit) of
 * at most 64 characters (the kernel's HOST_NAME_MAX). It is written into /etc/hostname and
 * /etc/hosts, so nothing else may pass. */
bool mascri_pod_hostname_valid(const char *h);

/* The pod's hostname when the config gives none: metadata.name cut to 63 characters with
 * trailing '-' and '.' dropped, as kubelet derives it; NULL and INVALID_ARGUMENT when that
 * is not a valid hostname. */
char *mascri_pod_hostname_from_name(const char *name, mascri_error_t *err);

/* /etc/hosts text for the pod: localhost lines plus "<ip>\t<hostname>" when ip is set. */
char *mascri_pod_hosts(const char *hostname, const char *ip);

/* Checks a sysctl name and returns its path below /proc/sys ("net/ipv4/ip_forward").
 * Only namespaced sysctls are accepted: net.* needs a private network namespace (!host_net),
 * kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* a private IPC namespace (!host_ipc).
 * INVALID_ARGUMENT otherwise. */
char *mascri_pod_sysctl_path(const char *name, bool host_net, bool host_ipc, mascri_error_t *err);

char *mascri_hex_encode(const uint8_t *data, size_t len);
/* Returns the decoded length, or -1 on malformed input. */
ssize_t mascri_hex_decode(const char *hex, uint8_t **out);

#endif
