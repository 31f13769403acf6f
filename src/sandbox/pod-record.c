/* Pod records: <root>/pods/<id>/pod.json, written atomically, read back at open. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "sandbox/pod-util.h"
#include "sandbox/pods-internal.h"

/* 2: "config" is the JSON object of mascri_pod_config_gen. 1: it is the hex of the packed
 * protobuf PodSandboxConfig, still read (through mascri_pods_config.legacy_config). */
#define RECORD_VERSION 2

/* Every string field of the record, by key. */
static const struct mascri_obj_str_field str_fields[] = {
    {"id", offsetof(struct mascri_pod_info, id)},
    {"name", offsetof(struct mascri_pod_info, name)},
    {"namespace", offsetof(struct mascri_pod_info, namespace_)},
    {"uid", offsetof(struct mascri_pod_info, uid)},
    {"cgroupParent", offsetof(struct mascri_pod_info, cgroup_parent)},
    {"hostname", offsetof(struct mascri_pod_info, hostname)},
    {"logDirectory", offsetof(struct mascri_pod_info, log_directory)},
    {"ipv4", offsetof(struct mascri_pod_info, ipv4)},
    {"ipv6", offsetof(struct mascri_pod_info, ipv6)},
    {"runtimeHandler", offsetof(struct mascri_pod_info, runtime_handler)},
    {"pauseCgroup", offsetof(struct mascri_pod_info, pause_cgroup)},
};
#define N_STR_FIELDS (sizeof(str_fields) / sizeof(str_fields[0]))

/* The pod's pins and files (enum mascri_pod_path): their record key, and their name in the
 * pod's directory below ns_dir (pins) or files_dir. The record keeps the full paths, as
 * it always did. */
static const struct {
  const char *key, *name;
  bool pin;
} pod_paths[MASCRI_POD_N_PATHS] = {
    [MASCRI_POD_NETNS] = {"netns", "net", true},
    [MASCRI_POD_UTSNS] = {"utsns", "uts", true},
    [MASCRI_POD_IPCNS] = {"ipcns", "ipc", true},
    [MASCRI_POD_PIDNS] = {"pidns", "pid", true},
    [MASCRI_POD_RESOLV_CONF] = {"resolvConf", "resolv.conf", false},
    [MASCRI_POD_HOSTNAME_FILE] = {"hostnameFile", "hostname", false},
    [MASCRI_POD_HOSTS_FILE] = {"hostsFile", "hosts", false},
    [MASCRI_POD_SHM] = {"shm", "shm", false},
};

char *mascri_pod_path(const struct mascri_pod_info *info, enum mascri_pod_path which)
{
  const char *dir = pod_paths[which].pin ? info->ns_dir : info->files_dir;
  if (!mascri_pod_has(info, which) || !dir)
    return NULL;
  return xasprintf("%s/%s/%s", dir, info->id, pod_paths[which].name);
}

static void *config_copy(const void *c)
{
  return c ? mascri_pod_config_copy(c) : NULL;
}

static void config_free(void *c)
{
  mascri_pod_config_free(c);
}

static const struct mascri_obj_info_desc info_desc = {
    .size = sizeof(struct mascri_pod_info),
    .strs = str_fields,
    .n_strs = N_STR_FIELDS,
    .config_off = offsetof(struct mascri_pod_info, config),
    .config_copy = config_copy,
    .config_free = config_free,
};

static char **str_field(struct mascri_pod_info *info, size_t i)
{
  return mascri_obj_info_str(info, &str_fields[i]);
}

char *mascri_pod_dir(const struct mascri_pods *pods, const char *id)
{
  return mascri_path_join(pods->files_dir, id);
}

char *mascri_pod_ns_dir(const struct mascri_pods *pods, const char *id)
{
  return mascri_path_join(pods->ns_dir, id);
}

char *mascri_pod_record_json(const struct pod *p, size_t *len)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  struct mascri_pod_info *info = (struct mascri_pod_info *)&p->info;
  yajl_gen_map_open(g);
  mascri_json_gen_kv_int(g, "version", RECORD_VERSION);
  for (size_t i = 0; i < N_STR_FIELDS; i++)
    if (*str_field(info, i))
      mascri_json_gen_kv_string(g, str_fields[i].key, *str_field(info, i));
  for (size_t i = 0; i < MASCRI_POD_N_PATHS; i++) {
    _cleanup_free_ char *path = mascri_pod_path(info, (enum mascri_pod_path)i);
    if (path)
      mascri_json_gen_kv_string(g, pod_paths[i].key, path);
  }
  mascri_json_gen_kv_string(g, "fullName", p->full_name);
  mascri_json_gen_kv_uint(g, "attempt", info->attempt);
  mascri_json_gen_kv_bool(g, "ready", info->ready);
  mascri_json_gen_kv_int(g, "pausePid", info->pause_pid);
  mascri_json_gen_kv_int(g, "pauseStartTime", (long long)info->pause_start_time);
  mascri_json_gen_kv_int(g, "createdAt", info->created_at);
  mascri_json_gen_kv_bool(g, "ownCgroupParent", p->own_cgroup_parent);
  if (info->config)
    mascri_pod_config_gen(g, "config", info->config);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, len);
}

/* A version 1 config: the hex of a packed PodSandboxConfig, converted by legacy. */
static int parse_legacy_config(const char *hex, mascri_pod_legacy_config_fn legacy,
                               struct mascri_pod_config *c, mascri_error_t *err)
{
  if (!legacy)
    return mascri_make_error(err, 0, "pod record: config is of version 1 and cannot be read");
  _cleanup_free_ uint8_t *buf = NULL;
  ssize_t len = mascri_hex_decode(hex, &buf);
  if (len < 0)
    return mascri_make_error(err, 0, "pod record: malformed config");
  if (legacy(buf, (size_t)len, c, err) < 0)
    return mascri_error_wrap(err, "pod record: config does not unpack");
  return 0;
}

static int parse_config(yajl_val root, mascri_pod_legacy_config_fn legacy,
                        struct mascri_pod_info *info, bool *old, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(root, "config");
  if (!v || YAJL_IS_NULL(v))
    return 0;
  _cleanup_pod_config_ struct mascri_pod_config *c = xmalloc0(sizeof(*c));
  if (YAJL_IS_STRING(v)) {
    if (parse_legacy_config(YAJL_GET_STRING(v), legacy, c, err) < 0)
      return -1;
    *old = true;
  } else if (mascri_pod_config_parse(root, "config", c, err) < 0) {
    return mascri_error_wrap(err, "pod record");
  }
  info->config = TAKE_PTR(c);
  return 0;
}

static int parse_numbers(yajl_val root, struct pod *p, mascri_error_t *err)
{
  int64_t attempt = 0, pid = 0, start = 0, created = 0;
  bool ready = false, own = false;
  if (mascri_json_get_int64(root, "attempt", &attempt) < 0 ||
      mascri_json_get_int64(root, "pausePid", &pid) < 0 ||
      mascri_json_get_int64(root, "pauseStartTime", &start) < 0 ||
      mascri_json_get_int64(root, "createdAt", &created) < 0 ||
      mascri_json_get_bool(root, "ready", &ready) < 0 ||
      mascri_json_get_bool(root, "ownCgroupParent", &own) < 0)
    return mascri_make_error(err, 0, "pod record: a field has the wrong type");
  p->info.attempt = (uint32_t)attempt;
  p->info.pause_pid = (pid_t)pid;
  p->info.pause_start_time = (uint64_t)start;
  p->info.created_at = created;
  p->info.ready = ready;
  p->own_cgroup_parent = own;
  return 0;
}

int mascri_pod_record_parse(const char *buf, size_t len, mascri_pod_legacy_config_fn legacy,
                            struct pod **out, bool *old, mascri_error_t *err)
{
  *old = false;
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(buf, len, "pod record", &root, err) < 0)
    return -1;
  struct pod *p = mascri_pod_alloc();
  for (size_t i = 0; i < N_STR_FIELDS; i++) {
    const char *s = mascri_json_get_string(root, str_fields[i].key);
    if (s)
      *str_field(&p->info, i) = xstrdup(s);
  }
  for (size_t i = 0; i < MASCRI_POD_N_PATHS; i++)
    if (mascri_json_get_string(root, pod_paths[i].key))
      p->info.paths |= (uint16_t)(1u << i);
  const char *full = mascri_json_get_string(root, "fullName");
  p->full_name = full ? xstrdup(full) : NULL;
  if (!p->info.id || !p->full_name) {
    mascri_pod_free(p);
    return mascri_make_error(err, 0, "pod record: id or fullName missing");
  }
  if (parse_numbers(root, p, err) < 0 || parse_config(root, legacy, &p->info, old, err) < 0) {
    mascri_pod_free(p);
    return -1;
  }
  p->obj.id = p->info.id;
  p->obj.name = p->full_name;
  *out = p;
  return 0;
}

int mascri_pod_record_write(const struct mascri_pods *pods, const struct pod *p,
                            mascri_error_t *err)
{
  size_t len = 0;
  _cleanup_free_ char *json = mascri_pod_record_json(p, &len);
  _cleanup_free_ char *dir = mascri_pod_dir(pods, p->info.id);
  _cleanup_free_ char *path = mascri_path_join(dir, "pod.json");
  if (mascri_write_file_atomic(path, json, len, 0600, err) < 0)
    return mascri_error_wrap(err, "record pod %s", p->info.id);
  return 0;
}

int mascri_pod_record_read(const char *path, mascri_pod_legacy_config_fn legacy, struct pod **out,
                           bool *old, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  if (mascri_read_file(path, &buf, &len, err) < 0)
    return -1;
  if (mascri_pod_record_parse(buf, len, legacy, out, old, err) < 0)
    return mascri_error_wrap(err, "%s", path);
  return 0;
}

void mascri_pod_info_copy(struct mascri_pod_info *dst, const struct mascri_pod_info *src)
{
  mascri_obj_info_copy(&info_desc, dst, src);
}

void mascri_pod_info_clear(struct mascri_pod_info *info)
{
  mascri_obj_info_clear(&info_desc, info);
}

void mascri_pod_info_free(struct mascri_pod_info *info)
{
  if (!info)
    return;
  mascri_pod_info_clear(info);
  free(info);
}

bool mascri_pod_info_privileged(const struct mascri_pod_info *info)
{
  return info->config && info->config->security.privileged;
}

enum mascri_ns_mode mascri_pod_info_pid_mode(const struct mascri_pod_info *info)
{
  return info->config ? info->config->security.namespace_options.pid : MASCRI_NS_MODE_CONTAINER;
}

void mascri_pod_info_list_free(struct mascri_pod_info **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    mascri_pod_info_free(v[i]);
  free(v);
}

struct pod *mascri_pod_alloc(void)
{
  struct pod *p = xmalloc0(sizeof(*p));
  mascri_obj_init(&p->obj);
  return p;
}

void mascri_pod_free(struct pod *p)
{
  if (!p)
    return;
  mascri_obj_destroy(&p->obj);
  mascri_pod_info_clear(&p->info);
  free(p->full_name);
  free(p);
}

static void free_obj(struct mascri_obj *o)
{
  mascri_pod_free(mascri_pod_of(o));
}

const struct mascri_objtable_kind mascri_pod_kind = {
    .what = "pod sandbox",
    .name_taken = "is reserved for",
    .free = free_obj,
};
