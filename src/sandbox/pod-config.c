/* The pod config: clear, deep copy, comparison and its JSON form in pod records. */
#include "sandbox/pod-config.h"

#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"

void mascri_pod_config_clear(struct mascri_pod_config *c)
{
  mascri_metadata_clear(&c->metadata);
  free(c->hostname);
  free(c->log_directory);
  mascri_strv_free(c->dns.servers);
  mascri_strv_free(c->dns.searches);
  mascri_strv_free(c->dns.options);
  for (size_t i = 0; i < c->n_port_mappings; i++)
    free(c->port_mappings[i].host_ip);
  free(c->port_mappings);
  mascri_kv_list_clear(&c->labels);
  mascri_kv_list_clear(&c->annotations);
  free(c->cgroup_parent);
  mascri_kv_list_clear(&c->sysctls);
  mascri_ns_options_clear(&c->security.namespace_options);
  free(c->security.supplemental_groups);
  mascri_security_profile_clear(&c->security.seccomp);
  mascri_security_profile_clear(&c->security.apparmor);
  memset(c, 0, sizeof(*c));
}

void mascri_pod_config_free(struct mascri_pod_config *c)
{
  if (!c)
    return;
  mascri_pod_config_clear(c);
  free(c);
}

/* ---- copy ---------------------------------------------------------------------------- */

static void copy_security(struct mascri_pod_security *dst, const struct mascri_pod_security *src)
{
  *dst = *src;
  dst->namespace_options.target_id = mascri_config_str_copy(src->namespace_options.target_id);
  size_t n = src->n_supplemental_groups;
  dst->supplemental_groups = n ? xcalloc(n, sizeof(int64_t)) : NULL;
  if (n)
    memcpy(dst->supplemental_groups, src->supplemental_groups, n * sizeof(int64_t));
  mascri_security_profile_copy(&dst->seccomp, &src->seccomp);
  mascri_security_profile_copy(&dst->apparmor, &src->apparmor);
}

struct mascri_pod_config *mascri_pod_config_copy(const struct mascri_pod_config *c)
{
  struct mascri_pod_config *d = xmalloc0(sizeof(*d));
  d->metadata = (struct mascri_metadata){
      .name = mascri_config_str_copy(c->metadata.name),
      .uid = mascri_config_str_copy(c->metadata.uid),
      .namespace_ = mascri_config_str_copy(c->metadata.namespace_),
      .attempt = c->metadata.attempt,
  };
  d->hostname = mascri_config_str_copy(c->hostname);
  d->log_directory = mascri_config_str_copy(c->log_directory);
  d->dns.servers = mascri_config_strv_copy(c->dns.servers);
  d->dns.searches = mascri_config_strv_copy(c->dns.searches);
  d->dns.options = mascri_config_strv_copy(c->dns.options);
  d->port_mappings = xcalloc(c->n_port_mappings + 1, sizeof(*d->port_mappings));
  for (size_t i = 0; i < c->n_port_mappings; i++) {
    d->port_mappings[i] = c->port_mappings[i];
    d->port_mappings[i].host_ip = mascri_config_str_copy(c->port_mappings[i].host_ip);
  }
  d->n_port_mappings = c->n_port_mappings;
  mascri_kv_list_copy(&d->labels, &c->labels);
  mascri_kv_list_copy(&d->annotations, &c->annotations);
  d->cgroup_parent = mascri_config_str_copy(c->cgroup_parent);
  mascri_kv_list_copy(&d->sysctls, &c->sysctls);
  copy_security(&d->security, &c->security);
  return d;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void gen_ports(yajl_gen g, const struct mascri_pod_config *c)
{
  mascri_json_gen_key(g, "portMappings");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < c->n_port_mappings; i++) {
    const struct mascri_pod_port_mapping *pm = &c->port_mappings[i];
    yajl_gen_map_open(g);
    mascri_json_gen_kv_int(g, "protocol", pm->protocol);
    mascri_json_gen_kv_int(g, "containerPort", pm->container_port);
    mascri_json_gen_kv_int(g, "hostPort", pm->host_port);
    mascri_config_gen_string(g, "hostIp", pm->host_ip);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
}

static void gen_security(yajl_gen g, const struct mascri_pod_security *s)
{
  mascri_json_gen_key(g, "securityContext");
  yajl_gen_map_open(g);
  mascri_ns_options_gen(g, "namespaceOptions", &s->namespace_options);
  mascri_json_gen_kv_bool(g, "privileged", s->privileged);
  mascri_json_gen_kv_bool(g, "readonlyRootfs", s->readonly_rootfs);
  if (s->has_run_as_user)
    mascri_json_gen_kv_int(g, "runAsUser", s->run_as_user);
  if (s->has_run_as_group)
    mascri_json_gen_kv_int(g, "runAsGroup", s->run_as_group);
  mascri_config_gen_int64s(g, "supplementalGroups", s->supplemental_groups,
                           s->n_supplemental_groups);
  mascri_security_profile_gen(g, "seccomp", &s->seccomp);
  mascri_security_profile_gen(g, "apparmor", &s->apparmor);
  yajl_gen_map_close(g);
}

void mascri_pod_config_gen(yajl_gen g, const char *key, const struct mascri_pod_config *c)
{
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  mascri_metadata_gen(g, "metadata", &c->metadata);
  mascri_config_gen_string(g, "hostname", c->hostname);
  mascri_config_gen_string(g, "logDirectory", c->log_directory);
  mascri_json_gen_key(g, "dns");
  yajl_gen_map_open(g);
  mascri_config_gen_strv(g, "servers", c->dns.servers);
  mascri_config_gen_strv(g, "searches", c->dns.searches);
  mascri_config_gen_strv(g, "options", c->dns.options);
  yajl_gen_map_close(g);
  gen_ports(g, c);
  mascri_kv_list_gen(g, "labels", &c->labels);
  mascri_kv_list_gen(g, "annotations", &c->annotations);
  mascri_config_gen_string(g, "cgroupParent", c->cgroup_parent);
  mascri_kv_list_gen(g, "sysctls", &c->sysctls);
  gen_security(g, &c->security);
  yajl_gen_map_close(g);
}

static char *config_json(const struct mascri_pod_config *c)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_pod_config_gen(g, "c", c);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

bool mascri_pod_config_equal(const struct mascri_pod_config *a, const struct mascri_pod_config *b)
{
  _cleanup_free_ char *x = config_json(a), *y = config_json(b);
  return strcmp(x, y) == 0;
}

/* A strv member; an empty list is kept as NULL. */
static int parse_dns(yajl_val obj, struct mascri_pod_dns *dns, mascri_error_t *err)
{
  yajl_val v;
  if (mascri_config_get_object(obj, "dns", &v, err) < 0)
    return -1;
  if (v && (mascri_config_get_strv(v, "servers", &dns->servers, err) < 0 ||
            mascri_config_get_strv(v, "searches", &dns->searches, err) < 0 ||
            mascri_config_get_strv(v, "options", &dns->options, err) < 0))
    return mascri_error_wrap(err, "dns");
  return 0;
}

static int parse_port(yajl_val e, struct mascri_pod_port_mapping *pm, mascri_error_t *err)
{
  int64_t proto = 0, cport = 0, hport = 0;
  if (mascri_config_get_range(e, "protocol", MASCRI_PROTO_TCP, MASCRI_PROTO_SCTP, &proto, err) <
          0 ||
      mascri_config_get_range(e, "containerPort", INT32_MIN, INT32_MAX, &cport, err) < 0 ||
      mascri_config_get_range(e, "hostPort", INT32_MIN, INT32_MAX, &hport, err) < 0 ||
      mascri_config_get_string(e, "hostIp", &pm->host_ip, err) < 0)
    return -1;
  pm->protocol = (mascri_port_proto_t)proto;
  pm->container_port = (int32_t)cport;
  pm->host_port = (int32_t)hport;
  return 0;
}

static int parse_ports(yajl_val obj, struct mascri_pod_config *c, mascri_error_t *err)
{
  yajl_val v;
  if (mascri_config_get_array(obj, "portMappings", &v, err) < 0)
    return -1;
  size_t n = mascri_json_array_len(v);
  c->port_mappings = xcalloc(n + 1, sizeof(*c->port_mappings));
  for (size_t i = 0; i < n; i++) {
    yajl_val e = v->u.array.values[i];
    c->n_port_mappings = i + 1;
    if (!YAJL_IS_OBJECT(e))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "portMappings[%zu]: expected an object, got %s", i,
                                    mascri_json_type_name(e));
    if (parse_port(e, &c->port_mappings[i], err) < 0)
      return mascri_error_wrap(err, "portMappings[%zu]", i);
  }
  return 0;
}

static int parse_security(yajl_val obj, struct mascri_pod_security *s, mascri_error_t *err)
{
  yajl_val v;
  if (mascri_config_get_object(obj, "securityContext", &v, err) < 0)
    return -1;
  if (mascri_ns_options_parse(v, "namespaceOptions", &s->namespace_options, err) < 0 ||
      mascri_config_get_bool(v, "privileged", &s->privileged, err) < 0 ||
      mascri_config_get_bool(v, "readonlyRootfs", &s->readonly_rootfs, err) < 0 ||
      mascri_config_get_optional_int64(v, "runAsUser", &s->has_run_as_user, &s->run_as_user, err) <
          0 ||
      mascri_config_get_optional_int64(v, "runAsGroup", &s->has_run_as_group, &s->run_as_group,
                                       err) < 0 ||
      mascri_config_get_int64s(v, "supplementalGroups", &s->supplemental_groups,
                               &s->n_supplemental_groups, err) < 0 ||
      mascri_security_profile_parse(v, "seccomp", &s->seccomp, err) < 0 ||
      mascri_security_profile_parse(v, "apparmor", &s->apparmor, err) < 0)
    return mascri_error_wrap(err, "securityContext");
  /* as the conversion of a request without namespace options (pod-config.h) */
  if (!mascri_json_get(v, "namespaceOptions"))
    s->namespace_options.pid = MASCRI_NS_MODE_CONTAINER;
  return 0;
}

static int parse_fields(yajl_val v, struct mascri_pod_config *c, mascri_error_t *err)
{
  if (mascri_metadata_parse(v, "metadata", &c->metadata, err) < 0 ||
      mascri_config_get_string(v, "hostname", &c->hostname, err) < 0 ||
      mascri_config_get_string(v, "logDirectory", &c->log_directory, err) < 0 ||
      parse_dns(v, &c->dns, err) < 0 || parse_ports(v, c, err) < 0 ||
      mascri_kv_list_parse(v, "labels", &c->labels, err) < 0 ||
      mascri_kv_list_parse(v, "annotations", &c->annotations, err) < 0 ||
      mascri_config_get_string(v, "cgroupParent", &c->cgroup_parent, err) < 0 ||
      mascri_kv_list_parse(v, "sysctls", &c->sysctls, err) < 0 ||
      parse_security(v, &c->security, err) < 0)
    return -1;
  return 0;
}

int mascri_pod_config_parse(yajl_val obj, const char *key, struct mascri_pod_config *c,
                            mascri_error_t *err)
{
  mascri_pod_config_clear(c);
  c->security.namespace_options.pid = MASCRI_NS_MODE_CONTAINER;
  c->security.namespace_options.userns = MASCRI_NS_MODE_NODE;
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  if (parse_fields(v, c, err) < 0) {
    mascri_pod_config_clear(c);
    return mascri_error_wrap(err, "%s", key);
  }
  return 0;
}
