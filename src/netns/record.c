#include "netns/record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"

void netns_record_clear(struct netns_record *r)
{
  char **strs[] = {&r->id,         &r->netns,       &r->host_veth,  &r->ipv4,
                   &r->ipv6,       &r->gateway4,    &r->gateway6,   &r->cni_ifname,
                   &r->cni_config, &r->cni_runtime, &r->cni_result, &r->cni_args};
  for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
    free(*strs[i]);
    *strs[i] = NULL;
  }
  for (size_t i = 0; i < r->n_ports; i++)
    free((char *)r->ports[i].host_ip);
  free(r->ports);
  r->ports = NULL;
  r->n_ports = 0;
}

void netns_record_set_ports(struct netns_record *r, const struct mascri_port_mapping *ports,
                            size_t n)
{
  r->ports = n ? xcalloc(n, sizeof(*ports)) : NULL;
  r->n_ports = n;
  for (size_t i = 0; i < n; i++) {
    r->ports[i] = ports[i];
    r->ports[i].host_ip = ports[i].host_ip ? xstrdup(ports[i].host_ip) : NULL;
  }
}

static const char *const proto_names[] = {"tcp", "udp", "sctp"};

static void gen_opt(yajl_gen g, const char *key, const char *value)
{
  if (value)
    mascri_json_gen_kv_string(g, key, value);
}

char *netns_record_to_json(const struct netns_record *r)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  gen_opt(g, "id", r->id);
  gen_opt(g, "netns", r->netns);
  gen_opt(g, "hostVeth", r->host_veth);
  gen_opt(g, "ipv4", r->ipv4);
  gen_opt(g, "ipv6", r->ipv6);
  gen_opt(g, "gateway4", r->gateway4);
  gen_opt(g, "gateway6", r->gateway6);
  mascri_json_gen_kv_int(g, "prefix4", r->prefix4);
  mascri_json_gen_kv_int(g, "prefix6", r->prefix6);
  mascri_json_gen_key(g, "ports");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < r->n_ports; i++) {
    const struct mascri_port_mapping *p = &r->ports[i];
    yajl_gen_map_open(g);
    mascri_json_gen_kv_string(g, "protocol", proto_names[p->protocol]);
    mascri_json_gen_kv_int(g, "containerPort", p->container_port);
    mascri_json_gen_kv_int(g, "hostPort", p->host_port);
    gen_opt(g, "hostIP", p->host_ip);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
  gen_opt(g, "cniIfname", r->cni_ifname);
  gen_opt(g, "cniConfig", r->cni_config);
  gen_opt(g, "cniRuntime", r->cni_runtime);
  gen_opt(g, "cniResult", r->cni_result);
  gen_opt(g, "cniArgs", r->cni_args);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

static char *dup_opt(yajl_val v, const char *key)
{
  const char *s = mascri_json_get_string(v, key);
  return s ? xstrdup(s) : NULL;
}

static int parse_ports(yajl_val arr, struct netns_record *r, mascri_error_t *err)
{
  size_t n = mascri_json_array_len(arr);
  r->ports = n ? xcalloc(n, sizeof(*r->ports)) : NULL;
  for (size_t i = 0; i < n; i++) {
    yajl_val p = mascri_json_array_at(arr, i);
    struct mascri_port_mapping *m = &r->ports[r->n_ports++];
    const char *proto = mascri_json_get_string(p, "protocol");
    for (size_t k = 0; proto && k < ARRAY_SIZE(proto_names); k++)
      if (strcmp(proto, proto_names[k]) == 0)
        m->protocol = (mascri_port_proto_t)k;
    int64_t cport = 0, hport = 0;
    if (mascri_json_get_int64(p, "containerPort", &cport) != 1 ||
        mascri_json_get_int64(p, "hostPort", &hport) != 1)
      return mascri_make_error(err, 0, "pod record: port mapping %zu is incomplete", i);
    m->container_port = (uint16_t)cport;
    m->host_port = (uint16_t)hport;
    m->host_ip = dup_opt(p, "hostIP");
  }
  return 0;
}

int netns_record_from_json(const char *text, size_t len, struct netns_record *r,
                           mascri_error_t *err)
{
  _cleanup_json_ yajl_val v = NULL;
  memset(r, 0, sizeof(*r));
  if (mascri_json_parse(text, len, "pod network record", &v, err) < 0)
    return -1;
  r->id = dup_opt(v, "id");
  r->netns = dup_opt(v, "netns");
  r->host_veth = dup_opt(v, "hostVeth");
  r->ipv4 = dup_opt(v, "ipv4");
  r->ipv6 = dup_opt(v, "ipv6");
  r->gateway4 = dup_opt(v, "gateway4");
  r->gateway6 = dup_opt(v, "gateway6");
  int64_t n = 0;
  if (mascri_json_get_int64(v, "prefix4", &n) == 1)
    r->prefix4 = (int)n;
  if (mascri_json_get_int64(v, "prefix6", &n) == 1)
    r->prefix6 = (int)n;
  r->cni_ifname = dup_opt(v, "cniIfname");
  r->cni_config = dup_opt(v, "cniConfig");
  r->cni_runtime = dup_opt(v, "cniRuntime");
  r->cni_result = dup_opt(v, "cniResult");
  r->cni_args = dup_opt(v, "cniArgs");
  if (r->id == NULL)
    return mascri_make_error(err, 0, "pod network record has no id");
  return parse_ports(mascri_json_get(v, "ports"), r, err);
}

int netns_record_write(int dirfd, const struct netns_record *r, mascri_error_t *err)
{
  _cleanup_free_ char *json = netns_record_to_json(r);
  _cleanup_free_ char *name = xasprintf("%s.json", r->id);
  _cleanup_free_ char *tmp =
      xasprintf(".%s.tmp.%d.%lx", name, getpid(), (unsigned long)pthread_self());
  _cleanup_close_ int fd =
      openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return mascri_make_error(err, errno, "create pod network record %s", tmp);
  if (mascri_write_all(fd, json, strlen(json), err) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
    if (*err == NULL)
      mascri_make_error(err, errno, "write pod network record %s", name);
    unlinkat(dirfd, tmp, 0);
    return -1;
  }
  return 0;
}

int netns_record_read(int dirfd, const char *id, struct netns_record *r, mascri_error_t *err)
{
  _cleanup_free_ char *name = xasprintf("%s.json", id);
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  memset(r, 0, sizeof(*r));
  if (mascri_read_file_at(dirfd, name, &buf, &len, err) < 0) {
    if ((*err)->errnum == ENOENT)
      (*err)->kind = MASCRI_ERR_NOT_FOUND;
    return mascri_error_retcode(err);
  }
  if (netns_record_from_json(buf, len, r, err) < 0)
    return mascri_error_wrap(err, "pod %s", id);
  return 0;
}

int netns_record_remove(int dirfd, const char *id, mascri_error_t *err)
{
  _cleanup_free_ char *name = xasprintf("%s.json", id);
  if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
    return mascri_make_error(err, errno, "remove pod network record %s", name);
  return 0;
}

int netns_record_scan(int dirfd, char ***ids, mascri_error_t *err)
{
  _cleanup_closedir_ DIR *d = mascri_opendir_at(dirfd, ".", 0);
  if (d == NULL)
    return mascri_make_error(err, errno, "open pod network records");
  char **out = xmalloc0(sizeof(char *));
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);
    if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp.")) {
      unlinkat(dirfd, de->d_name, 0);
      continue;
    }
    if (de->d_name[0] == '.' || n <= 5 || strcmp(de->d_name + n - 5, ".json") != 0)
      continue;
    mascri_strv_push(&out, xstrndup(de->d_name, n - 5));
  }
  *ids = out;
  return 0;
}

int netns_record_for_each_dead(int dirfd, const char *const *live, netns_dead_pod_fn fn, void *arg,
                               mascri_error_t *err)
{
  _cleanup_strv_ char **ids = NULL;
  if (netns_record_scan(dirfd, &ids, err) < 0)
    return -1;
  for (char **id = ids; *id; id++) {
    if (live && mascri_strv_contains((char *const *)live, *id))
      continue;
    _cleanup_record_ struct netns_record rec = {0};
    _cleanup_error_ mascri_error_t read_err = NULL;
    netns_record_read(dirfd, *id, &rec, &read_err);
    if (fn(arg, *id, &rec, &read_err, err) < 0)
      return -1;
  }
  return 0;
}
