/* Container records: <root>/containers/<id>/record.json, written atomically, read back at
 * open; the monitor's exit file; info copies. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "sandbox/ctr-internal.h"
#include "sandbox/pod-util.h"

/* 2: "config" is the JSON of struct mascri_ctr_config; 1: the hex of the ContainerConfig in
 * the CRI's wire format (read through the legacy converter, then rewritten as 2). */
#define RECORD_VERSION 2

static const struct mascri_obj_str_field str_fields[] = {
    {"id", offsetof(struct mascri_ctr_info, id)},
    {"podId", offsetof(struct mascri_ctr_info, pod_id)},
    {"name", offsetof(struct mascri_ctr_info, name)},
    {"fullName", offsetof(struct mascri_ctr_info, full_name)},
    {"imageRef", offsetof(struct mascri_ctr_info, image_ref)},
    {"imageId", offsetof(struct mascri_ctr_info, image_id)},
    {"logPath", offsetof(struct mascri_ctr_info, log_path)},
    {"reason", offsetof(struct mascri_ctr_info, reason)},
    {"message", offsetof(struct mascri_ctr_info, message)},
    {"cgroupPath", offsetof(struct mascri_ctr_info, cgroup_path)},
};
#define N_STR_FIELDS (sizeof(str_fields) / sizeof(str_fields[0]))

static void *config_copy(const void *config)
{
  return mascri_ctr_config_dup(config);
}

static void config_free(void *config)
{
  mascri_ctr_config_free(config);
}

static const struct mascri_obj_info_desc info_desc = {
    .size = sizeof(struct mascri_ctr_info),
    .strs = str_fields,
    .n_strs = N_STR_FIELDS,
    .config_off = offsetof(struct mascri_ctr_info, config),
    .config_copy = config_copy,
    .config_free = config_free,
};

static char **str_field(struct mascri_ctr_info *info, size_t i)
{
  return mascri_obj_info_str(info, &str_fields[i]);
}

static const struct {
  const char *key;
  size_t off;
  size_t size;
} num_fields[] = {
#define NUM(k, f)                                                                                  \
  {                                                                                                \
    k, offsetof(struct mascri_ctr_info, f), sizeof(((struct mascri_ctr_info *)0)->f)               \
  }
    NUM("attempt", attempt),        NUM("state", state),
    NUM("createdAt", created_at),   NUM("startedAt", started_at),
    NUM("finishedAt", finished_at), NUM("exitCode", exit_code),
    NUM("stopSignal", stop_signal), NUM("initPid", init_pid),
    NUM("monitorPid", monitor_pid), NUM("monitorStartTime", monitor_start_time),
#undef NUM
};
#define N_NUM_FIELDS (sizeof(num_fields) / sizeof(num_fields[0]))

static int64_t num_get(const struct mascri_ctr_info *info, size_t i)
{
  const char *p = (const char *)info + num_fields[i].off;
  if (num_fields[i].size == 8) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
  }
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

static void num_set(struct mascri_ctr_info *info, size_t i, int64_t v)
{
  char *p = (char *)info + num_fields[i].off;
  if (num_fields[i].size == 8) {
    memcpy(p, &v, 8);
  } else {
    int32_t w = (int32_t)v;
    memcpy(p, &w, 4);
  }
}

char *mascri_ctr_dir(const struct mascri_containers *ctrs, const char *id)
{
  return xasprintf("%s/containers/%s", ctrs->root, id);
}

char *mascri_ctr_exit_file(const struct mascri_containers *ctrs, const char *id)
{
  return xasprintf("%s/exits/%s", ctrs->state, id);
}

char *mascri_ctr_monitor_dir(const struct mascri_containers *ctrs, const char *id)
{
  return xasprintf("%s/monitors/%s", ctrs->state, id);
}

static char *record_json(const struct ctr *c, size_t *len)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  struct mascri_ctr_info *info = (struct mascri_ctr_info *)&c->info;
  yajl_gen_map_open(g);
  mascri_json_gen_kv_int(g, "version", RECORD_VERSION);
  for (size_t i = 0; i < N_STR_FIELDS; i++)
    if (*str_field(info, i))
      mascri_json_gen_kv_string(g, str_fields[i].key, *str_field(info, i));
  for (size_t i = 0; i < N_NUM_FIELDS; i++)
    mascri_json_gen_kv_int(g, num_fields[i].key, num_get(info, i));
  mascri_json_gen_kv_bool(g, "oomKilled", info->oom_killed);
  if (info->config)
    mascri_ctr_config_gen(g, "config", info->config);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, len);
}

/* A version 1 config: hex of the CRI wire format, which only cri/ can read. */
static int legacy_config(const struct mascri_containers *ctrs, const char *hex,
                         struct mascri_ctr_config *out, mascri_error_t *err)
{
  if (!ctrs->legacy_config)
    return mascri_make_error(err, 0, "config: an old record and no converter for it");
  _cleanup_free_ uint8_t *buf = NULL;
  ssize_t n = mascri_hex_decode(hex, &buf);
  if (n < 0)
    return mascri_make_error(err, 0, "config: not hexadecimal");
  if (ctrs->legacy_config(buf, (size_t)n, out, err) < 0)
    return mascri_error_wrap(err, "config");
  return 0;
}

static int parse_config(const struct mascri_containers *ctrs, yajl_val root, struct ctr *c,
                        bool *legacy, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(root, "config");
  if (!v || YAJL_IS_NULL(v))
    return mascri_make_error(err, 0, "config missing");
  c->info.config = mascri_ctr_config_new();
  *legacy = YAJL_IS_STRING(v);
  if (*legacy)
    return legacy_config(ctrs, YAJL_GET_STRING(v), c->info.config, err);
  return mascri_ctr_config_parse(root, "config", c->info.config, err);
}

static int record_parse(const struct mascri_containers *ctrs, const char *buf, size_t len,
                        struct ctr **out, bool *legacy, mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(buf, len, "container record", &root, err) < 0)
    return -1;
  struct ctr *c = mascri_ctr_alloc();
  for (size_t i = 0; i < N_STR_FIELDS; i++) {
    const char *s = mascri_json_get_string(root, str_fields[i].key);
    if (s)
      *str_field(&c->info, i) = xstrdup(s);
  }
  for (size_t i = 0; i < N_NUM_FIELDS; i++) {
    int64_t v = 0;
    if (mascri_json_get_int64(root, num_fields[i].key, &v) < 0) {
      mascri_ctr_free(c);
      return mascri_make_error(err, 0, "container record: %s is not a number", num_fields[i].key);
    }
    num_set(&c->info, i, v);
  }
  mascri_json_get_bool(root, "oomKilled", &c->info.oom_killed);
  if (!c->info.id || !c->info.pod_id || !c->info.full_name) {
    mascri_ctr_free(c);
    return mascri_make_error(err, 0, "container record: id, podId or fullName missing");
  }
  if (parse_config(ctrs, root, c, legacy, err) < 0) {
    mascri_ctr_free(c);
    return mascri_error_wrap(err, "container record");
  }
  c->obj.id = c->info.id;
  c->obj.name = c->info.full_name;
  *out = c;
  return 0;
}

int mascri_ctr_record_write(const struct mascri_containers *ctrs, const struct ctr *c,
                            mascri_error_t *err)
{
  size_t len = 0;
  _cleanup_free_ char *json = record_json(c, &len);
  _cleanup_free_ char *dir = mascri_ctr_dir(ctrs, c->info.id);
  _cleanup_free_ char *path = mascri_path_join(dir, "record.json");
  if (mascri_write_file_atomic(path, json, len, 0600, err) < 0)
    return mascri_error_wrap(err, "record container %s", c->info.id);
  return 0;
}

int mascri_ctr_record_read(const struct mascri_containers *ctrs, const char *path, struct ctr **out,
                           bool *legacy, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  if (mascri_read_file(path, &buf, &len, err) < 0)
    return -1;
  if (record_parse(ctrs, buf, len, out, legacy, err) < 0)
    return mascri_error_wrap(err, "%s", path);
  return 0;
}

static void set_str(char **dst, const char *s)
{
  free(*dst);
  *dst = s ? xstrdup(s) : NULL;
}

int mascri_ctr_read_exit_file(const char *path, struct mascri_ctr_info *info, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  _cleanup_error_ mascri_error_t rerr = NULL;
  if (mascri_read_file(path, &buf, &len, &rerr) < 0) {
    if (rerr && rerr->errnum == ENOENT)
      return 0;
    mascri_error_move(err, &rerr);
    return -1;
  }
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(buf, len, "exit file", &root, err) < 0)
    return -1;
  int64_t code = 0, finished = 0, sig = 0;
  bool oom = false;
  if (mascri_json_get_int64(root, "exit_code", &code) < 0 ||
      mascri_json_get_int64(root, "finished_at", &finished) < 0 ||
      mascri_json_get_int64(root, "signal", &sig) < 0 ||
      mascri_json_get_bool(root, "oom_killed", &oom) < 0)
    return mascri_make_error(err, 0, "%s: a field has the wrong type", path);
  info->state = MASCRI_CTR_EXITED;
  info->exit_code = (int32_t)code;
  info->finished_at = finished;
  info->oom_killed = oom;
  info->init_pid = 0;
  set_str(&info->reason, oom ? "OOMKilled" : code == 0 ? "Completed" : "Error");
  set_str(&info->message, NULL);
  return 1;
}

void mascri_ctr_info_copy(struct mascri_ctr_info *dst, const struct mascri_ctr_info *src)
{
  mascri_obj_info_copy(&info_desc, dst, src);
}

void mascri_ctr_info_clear(struct mascri_ctr_info *info)
{
  mascri_obj_info_clear(&info_desc, info);
}

void mascri_ctr_info_free(struct mascri_ctr_info *info)
{
  if (!info)
    return;
  mascri_ctr_info_clear(info);
  free(info);
}

void mascri_ctr_info_list_free(struct mascri_ctr_info **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    mascri_ctr_info_free(v[i]);
  free(v);
}

struct ctr *mascri_ctr_alloc(void)
{
  struct ctr *c = xmalloc0(sizeof(*c));
  mascri_obj_init(&c->obj);
  return c;
}

void mascri_ctr_free(struct ctr *c)
{
  if (!c)
    return;
  mascri_obj_destroy(&c->obj);
  mascri_ctr_info_clear(&c->info);
  free(c);
}

static void free_obj(struct mascri_obj *o)
{
  mascri_ctr_free(mascri_ctr_of(o));
}

const struct mascri_objtable_kind mascri_ctr_kind = {
    .what = "container",
    .name_taken = "is already in use by container",
    .free = free_obj,
};
