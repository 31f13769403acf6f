/* config.json "linux": id mappings, namespaces, devices, sysctl, paths. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

void spec_linux_clear(mascri_spec_linux_t *l)
{
  free(l->uid_mappings);
  free(l->gid_mappings);
  mascri_strv_free(l->sysctl_keys);
  mascri_strv_free(l->sysctl_values);
  mascri_spec_resources_free(l->resources);
  free(l->cgroups_path);
  for (size_t i = 0; i < l->n_namespaces; i++)
    free(l->namespaces[i].path);
  free(l->namespaces);
  for (size_t i = 0; i < l->n_devices; i++)
    free(l->devices[i].path);
  free(l->devices);
  if (l->seccomp) {
    spec_seccomp_clear(l->seccomp);
    free(l->seccomp);
  }
  mascri_strv_free(l->masked_paths);
  mascri_strv_free(l->readonly_paths);
  free(l->mount_label);
}

static int parse_mappings(yajl_val l, const char *key, mascri_spec_id_mapping_t **out, size_t *n,
                          mascri_error_t *err)
{
  yajl_val arr = mascri_json_get(l, key);
  if (!arr || YAJL_IS_NULL(arr))
    return 0;
  _cleanup_free_ char *w = xasprintf("linux.%s", key);
  if (spec_check_array(arr, w, err) < 0)
    return -EINVAL;
  *out = xcalloc(arr->u.array.len + 1, sizeof(**out));
  for (size_t i = 0; i < arr->u.array.len; i++) {
    yajl_val e = arr->u.array.values[i];
    _cleanup_free_ char *ew = xasprintf("%s[%zu]", w, i);
    uint64_t c = 0, h = 0, s = 0;
    if (spec_check_object(e, ew, err) < 0 ||
        spec_get_uint(e, ew, "containerID", UINT32_MAX, &c, err) < 0 ||
        spec_get_uint(e, ew, "hostID", UINT32_MAX, &h, err) < 0 ||
        spec_get_uint(e, ew, "size", UINT32_MAX, &s, err) < 0)
      return -EINVAL;
    (*out)[i] = (mascri_spec_id_mapping_t){(uint32_t)c, (uint32_t)h, (uint32_t)s};
    (*n)++;
  }
  return 0;
}

static int parse_namespaces(yajl_val l, mascri_spec_linux_t *out, mascri_error_t *err)
{
  yajl_val arr = mascri_json_get(l, "namespaces");
  if (!arr || YAJL_IS_NULL(arr))
    return 0;
  if (spec_check_array(arr, "linux.namespaces", err) < 0)
    return -EINVAL;
  out->namespaces = xcalloc(arr->u.array.len + 1, sizeof(*out->namespaces));
  for (size_t i = 0; i < arr->u.array.len; i++) {
    yajl_val e = arr->u.array.values[i];
    _cleanup_free_ char *ew = xasprintf("linux.namespaces[%zu]", i);
    _cleanup_free_ char *type = NULL;
    mascri_spec_namespace_t *ns = &out->namespaces[out->n_namespaces];
    if (spec_check_object(e, ew, err) < 0 || spec_require_string(e, ew, "type", &type, err) < 0 ||
        spec_get_string(e, ew, "path", &ns->path, err) < 0) {
      free(ns->path);
      ns->path = NULL;
      return -EINVAL;
    }
    out->n_namespaces++;
    int t = spec_ns_type_from_name(type);
    if (t < 0)
      return spec_field_error(err, ew, "type", "unknown namespace type \"%s\"", type);
    for (size_t j = 0; j + 1 < out->n_namespaces; j++)
      if ((int)out->namespaces[j].type == t)
        return spec_field_error(err, ew, "type", "duplicate namespace \"%s\"", type);
    ns->type = (mascri_ns_type_t)t;
    if (ns->path && ns->path[0] == '\0') {
      free(ns->path);
      ns->path = NULL;
    }
  }
  return 0;
}

static int parse_device(yajl_val e, const char *ew, mascri_spec_device_t *d, mascri_error_t *err)
{
  _cleanup_free_ char *type = NULL;
  uint64_t n = 0;
  int r;
  if (spec_check_object(e, ew, err) < 0 || spec_require_string(e, ew, "path", &d->path, err) < 0 ||
      spec_require_string(e, ew, "type", &type, err) < 0 ||
      spec_get_i64(e, ew, "major", &d->major, err) < 0 ||
      spec_get_i64(e, ew, "minor", &d->minor, err) < 0)
    return -EINVAL;
  if (strlen(type) != 1 || !strchr("cbup", type[0]))
    return spec_field_error(err, ew, "type", "must be one of c, b, u, p; got \"%s\"", type);
  d->type = type[0];
  if (d->path[0] != '/')
    return spec_field_error(err, ew, "path", "must be an absolute path");
  if ((r = spec_get_uint(e, ew, "fileMode", 07777, &n, err)) < 0)
    return -EINVAL;
  d->has_file_mode = r > 0;
  d->file_mode = (mode_t)n;
  if ((r = spec_get_uint(e, ew, "uid", UINT32_MAX, &n, err)) < 0)
    return -EINVAL;
  d->has_uid = r > 0;
  d->uid = (uid_t)n;
  if ((r = spec_get_uint(e, ew, "gid", UINT32_MAX, &n, err)) < 0)
    return -EINVAL;
  d->has_gid = r > 0;
  d->gid = (gid_t)n;
  return 0;
}

static int parse_devices(yajl_val l, mascri_spec_linux_t *out, mascri_error_t *err)
{
  yajl_val arr = mascri_json_get(l, "devices");
  if (!arr || YAJL_IS_NULL(arr))
    return 0;
  if (spec_check_array(arr, "linux.devices", err) < 0)
    return -EINVAL;
  out->devices = xcalloc(arr->u.array.len + 1, sizeof(*out->devices));
  for (size_t i = 0; i < arr->u.array.len; i++) {
    _cleanup_free_ char *ew = xasprintf("linux.devices[%zu]", i);
    out->n_devices++;
    if (parse_device(arr->u.array.values[i], ew, &out->devices[i], err) < 0)
      return -EINVAL;
  }
  return 0;
}

static int parse_time_offset(yajl_val c, const char *name, int64_t *secs, uint32_t *nsecs,
                             mascri_error_t *err)
{
  _cleanup_free_ char *w = xasprintf("linux.timeOffsets.%s", name);
  uint64_t ns = 0;
  if (spec_check_object(c, w, err) < 0 || spec_get_i64(c, w, "secs", secs, err) < 0 ||
      spec_get_uint(c, w, "nanosecs", 999999999, &ns, err) < 0)
    return -EINVAL;
  *nsecs = (uint32_t)ns;
  return 0;
}

static int parse_time_offsets(yajl_val l, mascri_spec_linux_t *out, mascri_error_t *err)
{
  yajl_val t = mascri_json_get(l, "timeOffsets");
  if (!t || YAJL_IS_NULL(t))
    return 0;
  if (spec_check_object(t, "linux.timeOffsets", err) < 0)
    return -EINVAL;
  for (size_t i = 0; i < t->u.object.len; i++) {
    const char *k = t->u.object.keys[i];
    yajl_val c = t->u.object.values[i];
    int r;
    if (strcmp(k, "monotonic") == 0)
      r = parse_time_offset(c, k, &out->monotonic_secs, &out->monotonic_nsecs, err);
    else if (strcmp(k, "boottime") == 0)
      r = parse_time_offset(c, k, &out->boottime_secs, &out->boottime_nsecs, err);
    else
      return spec_field_error(err, "linux.timeOffsets", k,
                              "unknown clock (only monotonic and boottime can be offset)");
    if (r < 0)
      return -EINVAL;
  }
  out->has_time_offsets = true;
  return 0;
}

static int parse_sub(yajl_val l, mascri_spec_linux_t *out, mascri_error_t *err)
{
  if (parse_time_offsets(l, out, err) < 0)
    return -EINVAL;
  yajl_val r = mascri_json_get(l, "resources");
  if (r && !YAJL_IS_NULL(r)) {
    out->resources = xmalloc0(sizeof(*out->resources));
    if (spec_parse_resources(r, "linux.resources", out->resources, err) < 0)
      return -EINVAL;
  }
  yajl_val s = mascri_json_get(l, "seccomp");
  if (s && !YAJL_IS_NULL(s)) {
    out->seccomp = xmalloc0(sizeof(*out->seccomp));
    if (spec_parse_seccomp(s, "linux.seccomp", out->seccomp, err) < 0)
      return -EINVAL;
  }
  return 0;
}

int spec_parse_linux(yajl_val l, mascri_spec_linux_t *out, mascri_error_t *err)
{
  _cleanup_free_ char *prop = NULL;
  if (spec_check_object(l, "linux", err) < 0 ||
      parse_mappings(l, "uidMappings", &out->uid_mappings, &out->n_uid_mappings, err) < 0 ||
      parse_mappings(l, "gidMappings", &out->gid_mappings, &out->n_gid_mappings, err) < 0 ||
      spec_get_string_map(l, "linux", "sysctl", &out->sysctl_keys, &out->sysctl_values, err) < 0 ||
      spec_get_string(l, "linux", "cgroupsPath", &out->cgroups_path, err) < 0 ||
      parse_namespaces(l, out, err) < 0 || parse_devices(l, out, err) < 0 ||
      parse_sub(l, out, err) < 0 ||
      spec_get_string(l, "linux", "rootfsPropagation", &prop, err) < 0 ||
      spec_get_strv(l, "linux", "maskedPaths", &out->masked_paths, err) < 0 ||
      spec_get_strv(l, "linux", "readonlyPaths", &out->readonly_paths, err) < 0 ||
      spec_get_string(l, "linux", "mountLabel", &out->mount_label, err) < 0)
    return -EINVAL;
  if (prop && prop[0] && spec_parse_propagation(prop, &out->rootfs_propagation) < 0)
    return spec_field_error(err, "linux", "rootfsPropagation", "unknown propagation \"%s\"", prop);
  return 0;
}
