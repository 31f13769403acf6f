/* PodSandboxConfig to the plain pod config. Validation of the values is sandbox's (pod-run.c);
 * here only what the plain types cannot express: an absent message, an undefined enum. */
#include "cri/rpc-pod-conv.h"

#include <string.h>

#include "common/xalloc.h"
#include "cri/rpc-conv.h"

_Static_assert((int)MASCRI_PROTO_TCP == RUNTIME__V1__PROTOCOL__TCP, "protocol");
_Static_assert((int)MASCRI_PROTO_UDP == RUNTIME__V1__PROTOCOL__UDP, "protocol");
_Static_assert((int)MASCRI_PROTO_SCTP == RUNTIME__V1__PROTOCOL__SCTP, "protocol");

static int check_mode(int mode, const char *what, mascri_error_t *err)
{
  if (mode < RUNTIME__V1__NAMESPACE_MODE__POD || mode > RUNTIME__V1__NAMESPACE_MODE__TARGET)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "namespace_options.%s: unknown mode %d", what, mode);
  return 0;
}

static int check_ns_options(const Runtime__V1__NamespaceOption *ns, mascri_error_t *err)
{
  if (!ns)
    return 0;
  if (check_mode(ns->network, "network", err) < 0 || check_mode(ns->pid, "pid", err) < 0 ||
      check_mode(ns->ipc, "ipc", err) < 0)
    return -1;
  return ns->userns_options ? check_mode(ns->userns_options->mode, "userns_options.mode", err) : 0;
}

static int check_profile(const Runtime__V1__SecurityProfile *p, const char *what,
                         mascri_error_t *err)
{
  if (p && (p->profile_type < RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault ||
            p->profile_type > RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "security_context.%s: unknown profile type %d", what,
                                  (int)p->profile_type);
  return 0;
}

static char **strv_or_null(char *const *v, size_t n)
{
  return n ? mascri_conv_strv(v, n) : NULL;
}

static void convert_ports(const Runtime__V1__PodSandboxConfig *src, struct mascri_pod_config *dst)
{
  size_t n = src->n_port_mappings;
  dst->port_mappings = xcalloc(n + 1, sizeof(*dst->port_mappings));
  for (size_t i = 0; i < n; i++) {
    const Runtime__V1__PortMapping *pm = src->port_mappings[i];
    struct mascri_pod_port_mapping *d = &dst->port_mappings[i];
    /* as before the plain config: an unknown protocol is TCP */
    d->protocol = pm->protocol == RUNTIME__V1__PROTOCOL__UDP    ? MASCRI_PROTO_UDP
                  : pm->protocol == RUNTIME__V1__PROTOCOL__SCTP ? MASCRI_PROTO_SCTP
                                                                : MASCRI_PROTO_TCP;
    d->container_port = pm->container_port;
    d->host_port = pm->host_port;
    d->host_ip = mascri_conv_str(pm->host_ip);
  }
  dst->n_port_mappings = n;
}

static int convert_security(const Runtime__V1__LinuxSandboxSecurityContext *sc,
                            struct mascri_pod_security *dst, mascri_error_t *err)
{
  const Runtime__V1__NamespaceOption *ns = sc ? sc->namespace_options : NULL;
  if (check_ns_options(ns, err) < 0 || (sc && (check_profile(sc->seccomp, "seccomp", err) < 0 ||
                                               check_profile(sc->apparmor, "apparmor", err) < 0)))
    return -1;
  mascri_conv_ns_options_in(&dst->namespace_options, ns);
  /* without namespace options a pod has no PID namespace of its own (pod-config.h) */
  if (!ns)
    dst->namespace_options.pid = MASCRI_NS_MODE_CONTAINER;
  if (!sc)
    return 0;
  dst->privileged = sc->privileged;
  dst->readonly_rootfs = sc->readonly_rootfs;
  dst->has_run_as_user = sc->run_as_user != NULL;
  dst->run_as_user = sc->run_as_user ? sc->run_as_user->value : 0;
  dst->has_run_as_group = sc->run_as_group != NULL;
  dst->run_as_group = sc->run_as_group ? sc->run_as_group->value : 0;
  size_t n = sc->n_supplemental_groups;
  dst->supplemental_groups = n ? xcalloc(n, sizeof(int64_t)) : NULL;
  if (n)
    memcpy(dst->supplemental_groups, sc->supplemental_groups, n * sizeof(int64_t));
  dst->n_supplemental_groups = n;
  mascri_conv_profile_in(&dst->seccomp, sc->seccomp);
  mascri_conv_profile_in(&dst->apparmor, sc->apparmor);
  return 0;
}

int mascri_pod_config_from_pb(const Runtime__V1__PodSandboxConfig *src,
                              struct mascri_pod_config *dst, mascri_error_t *err)
{
  if (!src->metadata)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "pod sandbox metadata is required");
  const Runtime__V1__LinuxPodSandboxConfig *lx = src->linux;
  if (convert_security(lx ? lx->security_context : NULL, &dst->security, err) < 0) {
    mascri_pod_config_clear(dst);
    return -1;
  }
  mascri_conv_pod_metadata_in(&dst->metadata, src->metadata);
  dst->hostname = mascri_conv_str(src->hostname);
  dst->log_directory = mascri_conv_str(src->log_directory);
  const Runtime__V1__DNSConfig *dns = src->dns_config;
  if (dns) {
    dst->dns.servers = strv_or_null(dns->servers, dns->n_servers);
    dst->dns.searches = strv_or_null(dns->searches, dns->n_searches);
    dst->dns.options = strv_or_null(dns->options, dns->n_options);
  }
  convert_ports(src, dst);
  mascri_conv_kv_in(&dst->labels, (void *const *)src->labels, src->n_labels);
  mascri_conv_kv_in(&dst->annotations, (void *const *)src->annotations, src->n_annotations);
  if (lx) {
    dst->cgroup_parent = mascri_conv_str(lx->cgroup_parent);
    mascri_conv_kv_in(&dst->sysctls, (void *const *)lx->sysctls, lx->n_sysctls);
  }
  return 0;
}

int mascri_pod_config_legacy(const uint8_t *buf, size_t len, struct mascri_pod_config *out,
                             mascri_error_t *err)
{
  mascri_pod_config_clear(out);
  Runtime__V1__PodSandboxConfig *c = runtime__v1__pod_sandbox_config__unpack(NULL, len, buf);
  if (!c)
    return mascri_make_error(err, 0, "not a packed PodSandboxConfig");
  int ret = mascri_pod_config_from_pb(c, out, err);
  runtime__v1__pod_sandbox_config__free_unpacked(c, NULL);
  return ret;
}
