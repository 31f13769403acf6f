/* config.json → mascri_spec_t: the top level, root, mounts, hooks, annotations. */
#include "runtime/spec.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

static const char *const hook_names[MASCRI_HOOK_KIND_COUNT] = {
    [MASCRI_HOOK_PRESTART] = "prestart",
    [MASCRI_HOOK_CREATE_RUNTIME] = "createRuntime",
    [MASCRI_HOOK_CREATE_CONTAINER] = "createContainer",
    [MASCRI_HOOK_START_CONTAINER] = "startContainer",
    [MASCRI_HOOK_POSTSTART] = "poststart",
    [MASCRI_HOOK_POSTSTOP] = "poststop",
};

static void mount_clear(mascri_spec_mount_t *m)
{
  free(m->destination);
  free(m->type);
  free(m->source);
  mascri_strv_free(m->options);
  free(m->data);
}

static void hook_clear(mascri_spec_hook_t *h)
{
  free(h->path);
  mascri_strv_free(h->args);
  mascri_strv_free(h->env);
}

void mascri_spec_free(mascri_spec_t *spec)
{
  if (!spec)
    return;
  free(spec->oci_version);
  mascri_spec_process_free(spec->process);
  free(spec->root_path);
  free(spec->hostname);
  free(spec->domainname);
  for (size_t i = 0; i < spec->n_mounts; i++)
    mount_clear(&spec->mounts[i]);
  free(spec->mounts);
  for (int k = 0; k < MASCRI_HOOK_KIND_COUNT; k++) {
    for (size_t i = 0; i < spec->hooks[k].n; i++)
      hook_clear(&spec->hooks[k].hooks[i]);
    free(spec->hooks[k].hooks);
  }
  mascri_strv_free(spec->annotation_keys);
  mascri_strv_free(spec->annotation_values);
  if (spec->linux_) {
    spec_linux_clear(spec->linux_);
    free(spec->linux_);
  }
  free(spec->raw);
  free(spec);
}

static int parse_mount(yajl_val v, const char *where, mascri_spec_mount_t *m, mascri_error_t *err)
{
  if (!YAJL_IS_OBJECT(v))
    return spec_field_error(err, where, NULL, "expected an object, got %s",
                            mascri_json_type_name(v));
  if (spec_require_string(v, where, "destination", &m->destination, err) < 0 ||
      spec_get_string(v, where, "type", &m->type, err) < 0 ||
      spec_get_string(v, where, "source", &m->source, err) < 0 ||
      spec_get_strv(v, where, "options", &m->options, err) < 0)
    return -EINVAL;
  if (m->destination[0] != '/')
    return spec_field_error(err, where, "destination", "must be an absolute path, got \"%s\"",
                            m->destination);
  return spec_parse_mount_options(m, where, err);
}

static int parse_mounts(yajl_val root, mascri_spec_t *spec, mascri_error_t *err)
{
  yajl_val v = mascri_json_get(root, "mounts");
  if (!v || YAJL_IS_NULL(v))
    return 0;
  if (spec_check_array(v, "mounts", err) < 0)
    return -EINVAL;
  spec->mounts = xcalloc(v->u.array.len + 1, sizeof(*spec->mounts));
  for (size_t i = 0; i < v->u.array.len; i++) {
    _cleanup_free_ char *where = xasprintf("mounts[%zu]", i);
    spec->n_mounts++;
    if (parse_mount(v->u.array.values[i], where, &spec->mounts[i], err) < 0)
      return -EINVAL;
  }
  return 0;
}

static int parse_hook(yajl_val v, const char *where, mascri_spec_hook_t *h, mascri_error_t *err)
{
  int64_t timeout = 0;
  if (spec_check_object(v, where, err) < 0 ||
      spec_require_string(v, where, "path", &h->path, err) < 0 ||
      spec_get_strv(v, where, "args", &h->args, err) < 0 ||
      spec_get_strv(v, where, "env", &h->env, err) < 0 ||
      spec_get_i64(v, where, "timeout", &timeout, err) < 0)
    return -EINVAL;
  if (timeout < 0 || timeout > 86400 * 365)
    return spec_field_error(err, where, "timeout", "must be a positive number of seconds");
  h->timeout = (int)timeout;
  return 0;
}

static int parse_hooks(yajl_val root, mascri_spec_t *spec, mascri_error_t *err)
{
  yajl_val hooks = mascri_json_get(root, "hooks");
  if (!hooks || YAJL_IS_NULL(hooks))
    return 0;
  if (spec_check_object(hooks, "hooks", err) < 0)
    return -EINVAL;
  for (int k = 0; k < MASCRI_HOOK_KIND_COUNT; k++) {
    yajl_val arr = mascri_json_get(hooks, hook_names[k]);
    if (!arr || YAJL_IS_NULL(arr))
      continue;
    _cleanup_free_ char *where = xasprintf("hooks.%s", hook_names[k]);
    if (spec_check_array(arr, where, err) < 0)
      return -EINVAL;
    spec->hooks[k].hooks = xcalloc(arr->u.array.len + 1, sizeof(mascri_spec_hook_t));
    for (size_t i = 0; i < arr->u.array.len; i++) {
      _cleanup_free_ char *w = xasprintf("%s[%zu]", where, i);
      spec->hooks[k].n++;
      if (parse_hook(arr->u.array.values[i], w, &spec->hooks[k].hooks[i], err) < 0)
        return -EINVAL;
    }
  }
  return 0;
}

static int parse_top(yajl_val root, mascri_spec_t *spec, mascri_error_t *err)
{
  if (!YAJL_IS_OBJECT(root))
    return spec_field_error(err, "config", NULL, "expected an object, got %s",
                            mascri_json_type_name(root));
  if (spec_require_string(root, "", "ociVersion", &spec->oci_version, err) < 0 ||
      spec_get_string(root, "", "hostname", &spec->hostname, err) < 0 ||
      spec_get_string(root, "", "domainname", &spec->domainname, err) < 0 ||
      spec_get_string_map(root, "", "annotations", &spec->annotation_keys, &spec->annotation_values,
                          err) < 0)
    return -EINVAL;
  yajl_val r = mascri_json_get(root, "root");
  if (spec_check_object(r, "root", err) < 0)
    return -EINVAL;
  if (r && (spec_require_string(r, "root", "path", &spec->root_path, err) < 0 ||
            spec_get_bool(r, "root", "readonly", &spec->root_readonly, err) < 0))
    return -EINVAL;
  yajl_val p = mascri_json_get(root, "process");
  if (p && !YAJL_IS_NULL(p)) {
    spec->process = xmalloc0(sizeof(*spec->process));
    if (spec_parse_process(p, "process", spec->process, err) < 0)
      return -EINVAL;
  }
  if (parse_mounts(root, spec, err) < 0 || parse_hooks(root, spec, err) < 0)
    return -EINVAL;
  yajl_val l = mascri_json_get(root, "linux");
  if (l && !YAJL_IS_NULL(l)) {
    spec->linux_ = xmalloc0(sizeof(*spec->linux_));
    if (spec_parse_linux(l, spec->linux_, err) < 0)
      return -EINVAL;
  }
  return 0;
}

int mascri_spec_parse(const char *json, size_t len, mascri_spec_t **out, mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(json, len, "config.json", &root, err) < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s",
                                  mascri_error_message(err));
  mascri_spec_t *spec = xmalloc0(sizeof(*spec));
  if (parse_top(root, spec, err) < 0) {
    mascri_spec_free(spec);
    return -EINVAL;
  }
  spec->raw = xstrndup(json, len);
  spec->raw_len = len;
  *out = spec;
  return 0;
}

int mascri_spec_load_file(const char *path, mascri_spec_t **out, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  int r = mascri_read_file(path, &buf, &len, err);
  if (r < 0)
    return r;
  r = mascri_spec_parse(buf, len, out, err);
  if (r < 0)
    return mascri_error_wrap(err, "%s", path);
  return 0;
}

const mascri_spec_namespace_t *mascri_spec_find_namespace(const mascri_spec_t *spec,
                                                          mascri_ns_type_t type)
{
  if (!spec->linux_)
    return NULL;
  for (size_t i = 0; i < spec->linux_->n_namespaces; i++)
    if (spec->linux_->namespaces[i].type == type)
      return &spec->linux_->namespaces[i];
  return NULL;
}

const char *mascri_spec_annotation(const mascri_spec_t *spec, const char *key)
{
  for (size_t i = 0; spec->annotation_keys && spec->annotation_keys[i]; i++)
    if (strcmp(spec->annotation_keys[i], key) == 0)
      return spec->annotation_values[i];
  return NULL;
}

static const char *const ns_names[MASCRI_NS_COUNT] = {
    [MASCRI_NS_PID] = "pid",   [MASCRI_NS_NET] = "network", [MASCRI_NS_IPC] = "ipc",
    [MASCRI_NS_UTS] = "uts",   [MASCRI_NS_MOUNT] = "mount", [MASCRI_NS_CGROUP] = "cgroup",
    [MASCRI_NS_USER] = "user", [MASCRI_NS_TIME] = "time",
};

const char *mascri_ns_type_name(mascri_ns_type_t type)
{
  return type < MASCRI_NS_COUNT ? ns_names[type] : "unknown";
}

int mascri_ns_clone_flag(mascri_ns_type_t type)
{
  static const int flags[MASCRI_NS_COUNT] = {
      [MASCRI_NS_PID] = CLONE_NEWPID,   [MASCRI_NS_NET] = CLONE_NEWNET,
      [MASCRI_NS_IPC] = CLONE_NEWIPC,   [MASCRI_NS_UTS] = CLONE_NEWUTS,
      [MASCRI_NS_MOUNT] = CLONE_NEWNS,  [MASCRI_NS_CGROUP] = CLONE_NEWCGROUP,
      [MASCRI_NS_USER] = CLONE_NEWUSER, [MASCRI_NS_TIME] = 0x00000080 /* CLONE_NEWTIME */,
  };
  return type < MASCRI_NS_COUNT ? flags[type] : 0;
}

int spec_ns_type_from_name(const char *name)
{
  for (int i = 0; i < MASCRI_NS_COUNT; i++)
    if (strcmp(name, ns_names[i]) == 0)
      return i;
  return -1;
}
