#include "netns/cni-json.h"

#include <stdbool.h>
#include <string.h>

#include "common/json.h"

void netns_json_gen_value(yajl_gen g, yajl_val v)
{
  if (v == NULL) {
    yajl_gen_null(g);
    return;
  }
  switch (v->type) {
  case yajl_t_string:
    mascri_json_gen_string(g, v->u.string);
    break;
  case yajl_t_number:
    yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
    break;
  case yajl_t_object:
    yajl_gen_map_open(g);
    for (size_t i = 0; i < v->u.object.len; i++) {
      mascri_json_gen_key(g, v->u.object.keys[i]);
      netns_json_gen_value(g, v->u.object.values[i]);
    }
    yajl_gen_map_close(g);
    break;
  case yajl_t_array:
    yajl_gen_array_open(g);
    for (size_t i = 0; i < v->u.array.len; i++)
      netns_json_gen_value(g, v->u.array.values[i]);
    yajl_gen_array_close(g);
    break;
  case yajl_t_true:
    yajl_gen_bool(g, 1);
    break;
  case yajl_t_false:
    yajl_gen_bool(g, 0);
    break;
  default:
    yajl_gen_null(g);
    break;
  }
}

static bool capability_enabled(yajl_val plugin, const char *key)
{
  bool on = false;
  return mascri_json_get_bool(mascri_json_get(plugin, "capabilities"), key, &on) == 1 && on;
}

static void gen_runtime(yajl_gen g, yajl_val plugin, yajl_val runtime)
{
  bool opened = false;
  for (size_t i = 0; runtime && YAJL_IS_OBJECT(runtime) && i < runtime->u.object.len; i++) {
    const char *key = runtime->u.object.keys[i];
    if (!capability_enabled(plugin, key))
      continue;
    if (!opened) {
      mascri_json_gen_key(g, "runtimeConfig");
      yajl_gen_map_open(g);
      opened = true;
    }
    mascri_json_gen_key(g, key);
    netns_json_gen_value(g, runtime->u.object.values[i]);
  }
  if (opened)
    yajl_gen_map_close(g);
}

char *netns_cni_plugin_stdin(yajl_val plugin, const char *name, const char *version,
                             yajl_val runtime, yajl_val prev_result)
{
  static const char *const replaced[] = {"name", "cniVersion", "runtimeConfig", "prevResult"};
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "cniVersion", version);
  mascri_json_gen_kv_string(g, "name", name);
  for (size_t i = 0; YAJL_IS_OBJECT(plugin) && i < plugin->u.object.len; i++) {
    const char *key = plugin->u.object.keys[i];
    bool skip = false;
    for (size_t k = 0; k < sizeof(replaced) / sizeof(replaced[0]); k++)
      skip = skip || strcmp(key, replaced[k]) == 0;
    if (skip)
      continue;
    mascri_json_gen_key(g, key);
    netns_json_gen_value(g, plugin->u.object.values[i]);
  }
  gen_runtime(g, plugin, runtime);
  if (prev_result) {
    mascri_json_gen_key(g, "prevResult");
    netns_json_gen_value(g, prev_result);
  }
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}
