/* The container config (ctr-config.h): clear, copy, compare and its JSON form in records;
 * the Linux half is in ctr-config-linux.c. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-config.h"

/* ---- clear / copy / compare -------------------------------------------------------- */

static void mount_clear(struct mascri_ctr_mount *m)
{
  free(m->container_path);
  free(m->host_path);
  free(m->image);
}

static void device_clear(struct mascri_ctr_device *d)
{
  free(d->container_path);
  free(d->host_path);
  free(d->permissions);
}

static void image_clear(struct mascri_ctr_image *i)
{
  free(i->image);
  free(i->user_specified_image);
  free(i->runtime_handler);
  mascri_kv_list_clear(&i->annotations);
}

void mascri_ctr_config_clear(struct mascri_ctr_config *c)
{
  mascri_metadata_clear(&c->metadata);
  image_clear(&c->image);
  mascri_strv_free(c->command);
  mascri_strv_free(c->args);
  free(c->working_dir);
  mascri_kv_list_clear(&c->envs);
  for (size_t i = 0; i < c->n_mounts; i++)
    mount_clear(&c->mounts[i]);
  free(c->mounts);
  for (size_t i = 0; i < c->n_devices; i++)
    device_clear(&c->devices[i]);
  free(c->devices);
  mascri_kv_list_clear(&c->labels);
  mascri_kv_list_clear(&c->annotations);
  free(c->log_path);
  mascri_ctr_resources_clear(&c->resources);
  mascri_ctr_security_clear(&c->security);
  free(c->stop_signal);
  memset(c, 0, sizeof(*c));
}

struct mascri_ctr_config *mascri_ctr_config_new(void)
{
  return xmalloc0(sizeof(struct mascri_ctr_config));
}

void mascri_ctr_config_free(struct mascri_ctr_config *c)
{
  if (!c)
    return;
  mascri_ctr_config_clear(c);
  free(c);
}

static void copy_lists(struct mascri_ctr_config *d, const struct mascri_ctr_config *s)
{
  if (s->n_mounts)
    d->mounts = xcalloc(s->n_mounts, sizeof(*d->mounts));
  for (size_t i = 0; i < s->n_mounts; i++) {
    d->mounts[i] = s->mounts[i];
    d->mounts[i].container_path = mascri_config_str_copy(s->mounts[i].container_path);
    d->mounts[i].host_path = mascri_config_str_copy(s->mounts[i].host_path);
    d->mounts[i].image = mascri_config_str_copy(s->mounts[i].image);
  }
  d->n_mounts = s->n_mounts;
  if (s->n_devices)
    d->devices = xcalloc(s->n_devices, sizeof(*d->devices));
  for (size_t i = 0; i < s->n_devices; i++) {
    d->devices[i].container_path = mascri_config_str_copy(s->devices[i].container_path);
    d->devices[i].host_path = mascri_config_str_copy(s->devices[i].host_path);
    d->devices[i].permissions = mascri_config_str_copy(s->devices[i].permissions);
  }
  d->n_devices = s->n_devices;
  mascri_kv_list_copy(&d->envs, &s->envs);
  mascri_kv_list_copy(&d->labels, &s->labels);
  mascri_kv_list_copy(&d->annotations, &s->annotations);
  mascri_kv_list_copy(&d->image.annotations, &s->image.annotations);
}

struct mascri_ctr_config *mascri_ctr_config_dup(const struct mascri_ctr_config *s)
{
  struct mascri_ctr_config *d = mascri_ctr_config_new();
  d->metadata.name = mascri_config_str_copy(s->metadata.name);
  d->metadata.uid = mascri_config_str_copy(s->metadata.uid);
  d->metadata.namespace_ = mascri_config_str_copy(s->metadata.namespace_);
  d->metadata.attempt = s->metadata.attempt;
  d->image.image = mascri_config_str_copy(s->image.image);
  d->image.user_specified_image = mascri_config_str_copy(s->image.user_specified_image);
  d->image.runtime_handler = mascri_config_str_copy(s->image.runtime_handler);
  d->command = mascri_config_strv_copy(s->command);
  d->args = mascri_config_strv_copy(s->args);
  d->working_dir = mascri_config_str_copy(s->working_dir);
  copy_lists(d, s);
  d->log_path = mascri_config_str_copy(s->log_path);
  d->stdin_ = s->stdin_;
  d->stdin_once = s->stdin_once;
  d->tty = s->tty;
  mascri_ctr_resources_copy(&d->resources, &s->resources);
  mascri_ctr_security_copy(&d->security, &s->security);
  d->stop_signal = mascri_config_str_copy(s->stop_signal);
  return d;
}

static char *config_text(const struct mascri_ctr_config *c)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_ctr_config_gen(g, "c", c);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

/* The JSON form holds every field, so equal forms are equal configs. */
bool mascri_ctr_config_equal(const struct mascri_ctr_config *a, const struct mascri_ctr_config *b)
{
  _cleanup_free_ char *x = config_text(a);
  _cleanup_free_ char *y = config_text(b);
  return strcmp(x, y) == 0;
}

/* ---- JSON: generation -------------------------------------------------------------- */

static void gen_image(yajl_gen g, const struct mascri_ctr_image *i)
{
  mascri_json_gen_key(g, "image");
  yajl_gen_map_open(g);
  mascri_config_gen_string(g, "image", i->image);
  mascri_config_gen_string(g, "userSpecifiedImage", i->user_specified_image);
  mascri_config_gen_string(g, "runtimeHandler", i->runtime_handler);
  mascri_kv_list_gen(g, "annotations", &i->annotations);
  yajl_gen_map_close(g);
}

/* An array of pairs, not a map: a map would not keep a repeated name. */
static void gen_envs(yajl_gen g, const struct mascri_kv_list *l)
{
  mascri_json_gen_key(g, "envs");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < l->n; i++) {
    yajl_gen_map_open(g);
    mascri_json_gen_kv_string(g, "key", l->v[i].key);
    mascri_json_gen_kv_string(g, "value", l->v[i].value);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
}

static void gen_mounts(yajl_gen g, const struct mascri_ctr_config *c)
{
  mascri_json_gen_key(g, "mounts");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < c->n_mounts; i++) {
    const struct mascri_ctr_mount *m = &c->mounts[i];
    yajl_gen_map_open(g);
    mascri_config_gen_string(g, "containerPath", m->container_path);
    mascri_config_gen_string(g, "hostPath", m->host_path);
    mascri_json_gen_kv_bool(g, "readonly", m->readonly);
    mascri_json_gen_kv_bool(g, "selinuxRelabel", m->selinux_relabel);
    mascri_json_gen_kv_int(g, "propagation", m->propagation);
    mascri_json_gen_kv_bool(g, "recursiveReadOnly", m->recursive_read_only);
    mascri_json_gen_kv_bool(g, "idMapped", m->id_mapped);
    mascri_config_gen_string(g, "image", m->image);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
}

static void gen_devices(yajl_gen g, const struct mascri_ctr_config *c)
{
  mascri_json_gen_key(g, "devices");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < c->n_devices; i++) {
    yajl_gen_map_open(g);
    mascri_config_gen_string(g, "containerPath", c->devices[i].container_path);
    mascri_config_gen_string(g, "hostPath", c->devices[i].host_path);
    mascri_config_gen_string(g, "permissions", c->devices[i].permissions);
    yajl_gen_map_close(g);
  }
  yajl_gen_array_close(g);
}

void mascri_ctr_config_gen(yajl_gen g, const char *key, const struct mascri_ctr_config *c)
{
  mascri_json_gen_key(g, key);
  yajl_gen_map_open(g);
  mascri_metadata_gen(g, "metadata", &c->metadata);
  gen_image(g, &c->image);
  mascri_config_gen_strv(g, "command", c->command);
  mascri_config_gen_strv(g, "args", c->args);
  mascri_config_gen_string(g, "workingDir", c->working_dir);
  gen_envs(g, &c->envs);
  gen_mounts(g, c);
  gen_devices(g, c);
  mascri_kv_list_gen(g, "labels", &c->labels);
  mascri_kv_list_gen(g, "annotations", &c->annotations);
  mascri_config_gen_string(g, "logPath", c->log_path);
  mascri_json_gen_kv_bool(g, "stdin", c->stdin_);
  mascri_json_gen_kv_bool(g, "stdinOnce", c->stdin_once);
  mascri_json_gen_kv_bool(g, "tty", c->tty);
  mascri_ctr_resources_gen(g, "resources", &c->resources);
  mascri_ctr_security_gen(g, "securityContext", &c->security);
  mascri_config_gen_string(g, "stopSignal", c->stop_signal);
  yajl_gen_map_close(g);
}

/* ---- JSON: parsing ----------------------------------------------------------------- */

static int parse_image(yajl_val obj, struct mascri_ctr_image *i, mascri_error_t *err)
{
  yajl_val v;
  if (mascri_config_get_object(obj, "image", &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  if (mascri_config_get_string(v, "image", &i->image, err) < 0 ||
      mascri_config_get_string(v, "userSpecifiedImage", &i->user_specified_image, err) < 0 ||
      mascri_config_get_string(v, "runtimeHandler", &i->runtime_handler, err) < 0 ||
      mascri_kv_list_parse(v, "annotations", &i->annotations, err) < 0)
    return mascri_error_wrap(err, "image");
  return 0;
}

/* The elements of the array member key, each an object, handed to fn. */
static int parse_each(yajl_val obj, const char *key, void *data,
                      int (*fn)(yajl_val e, size_t i, void *data, mascri_error_t *err),
                      mascri_error_t *err)
{
  yajl_val arr;
  if (mascri_config_get_array(obj, key, &arr, err) < 0)
    return -1;
  for (size_t i = 0; i < mascri_json_array_len(arr); i++) {
    yajl_val e = mascri_json_array_at(arr, i);
    if (!YAJL_IS_OBJECT(e))
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "%s[%zu]: expected an object, got %s", key, i,
                                    mascri_json_type_name(e));
    if (fn(e, i, data, err) < 0)
      return mascri_error_wrap(err, "%s[%zu]", key, i);
  }
  return 0;
}

static int parse_env(yajl_val e, size_t i, void *data, mascri_error_t *err)
{
  (void)i;
  _cleanup_free_ char *key = NULL, *value = NULL;
  if (mascri_config_get_string(e, "key", &key, err) < 0 ||
      mascri_config_get_string(e, "value", &value, err) < 0)
    return -1;
  mascri_kv_list_add(data, key, value);
  return 0;
}

static int parse_mount(yajl_val e, size_t i, void *data, mascri_error_t *err)
{
  struct mascri_ctr_config *c = data;
  struct mascri_ctr_mount *m = &c->mounts[i];
  c->n_mounts = i + 1;
  int64_t prop = 0;
  if (mascri_config_get_string(e, "containerPath", &m->container_path, err) < 0 ||
      mascri_config_get_string(e, "hostPath", &m->host_path, err) < 0 ||
      mascri_config_get_bool(e, "readonly", &m->readonly, err) < 0 ||
      mascri_config_get_bool(e, "selinuxRelabel", &m->selinux_relabel, err) < 0 ||
      mascri_config_get_range(e, "propagation", MASCRI_PROPAGATION_PRIVATE,
                              MASCRI_PROPAGATION_BIDIRECTIONAL, &prop, err) < 0 ||
      mascri_config_get_bool(e, "recursiveReadOnly", &m->recursive_read_only, err) < 0 ||
      mascri_config_get_bool(e, "idMapped", &m->id_mapped, err) < 0 ||
      mascri_config_get_string(e, "image", &m->image, err) < 0)
    return -1;
  m->propagation = (enum mascri_mount_propagation)prop;
  return 0;
}

static int parse_device(yajl_val e, size_t i, void *data, mascri_error_t *err)
{
  struct mascri_ctr_config *c = data;
  struct mascri_ctr_device *d = &c->devices[i];
  c->n_devices = i + 1;
  if (mascri_config_get_string(e, "containerPath", &d->container_path, err) < 0 ||
      mascri_config_get_string(e, "hostPath", &d->host_path, err) < 0 ||
      mascri_config_get_string(e, "permissions", &d->permissions, err) < 0)
    return -1;
  return 0;
}

static int parse_lists(yajl_val v, struct mascri_ctr_config *c, mascri_error_t *err)
{
  /* room for every element first: parse_mount and parse_device fill them in place */
  size_t n_mounts = mascri_json_array_len(mascri_json_get(v, "mounts"));
  size_t n_devices = mascri_json_array_len(mascri_json_get(v, "devices"));
  if (n_mounts)
    c->mounts = xcalloc(n_mounts, sizeof(*c->mounts));
  if (n_devices)
    c->devices = xcalloc(n_devices, sizeof(*c->devices));
  return parse_each(v, "envs", &c->envs, parse_env, err) < 0 ||
                 parse_each(v, "mounts", c, parse_mount, err) < 0 ||
                 parse_each(v, "devices", c, parse_device, err) < 0
             ? -1
             : 0;
}

static int parse_config(yajl_val v, struct mascri_ctr_config *c, mascri_error_t *err)
{
  if (mascri_metadata_parse(v, "metadata", &c->metadata, err) < 0 ||
      parse_image(v, &c->image, err) < 0 ||
      mascri_config_get_strv(v, "command", &c->command, err) < 0 ||
      mascri_config_get_strv(v, "args", &c->args, err) < 0 ||
      mascri_config_get_string(v, "workingDir", &c->working_dir, err) < 0 ||
      parse_lists(v, c, err) < 0 || mascri_kv_list_parse(v, "labels", &c->labels, err) < 0 ||
      mascri_kv_list_parse(v, "annotations", &c->annotations, err) < 0 ||
      mascri_config_get_string(v, "logPath", &c->log_path, err) < 0 ||
      mascri_config_get_bool(v, "stdin", &c->stdin_, err) < 0 ||
      mascri_config_get_bool(v, "stdinOnce", &c->stdin_once, err) < 0 ||
      mascri_config_get_bool(v, "tty", &c->tty, err) < 0 ||
      mascri_ctr_resources_parse(v, "resources", &c->resources, err) < 0 ||
      mascri_ctr_security_parse(v, "securityContext", &c->security, err) < 0 ||
      mascri_config_get_string(v, "stopSignal", &c->stop_signal, err) < 0)
    return -1;
  return 0;
}

int mascri_ctr_config_parse(yajl_val obj, const char *key, struct mascri_ctr_config *cfg,
                            mascri_error_t *err)
{
  mascri_ctr_config_clear(cfg);
  cfg->security.namespace_options.userns = MASCRI_NS_MODE_NODE;
  yajl_val v;
  if (mascri_config_get_object(obj, key, &v, err) < 0)
    return -1;
  if (!v)
    return 0;
  if (parse_config(v, cfg, err) < 0) {
    mascri_ctr_config_clear(cfg);
    return mascri_error_wrap(err, "%s", key);
  }
  return 0;
}
