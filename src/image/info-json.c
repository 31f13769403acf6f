#include "image/info-json.h"

#include "common/json.h"

static const char *or_empty(const char *s)
{
  return s ? s : "";
}

void mascri_image_info_gen_config(yajl_gen g, const struct mascri_image_info *info)
{
  mascri_json_gen_kv_string(g, "os", or_empty(info->os));
  mascri_json_gen_kv_string(g, "architecture", or_empty(info->architecture));
  mascri_json_gen_kv_string(g, "created", or_empty(info->created));
  mascri_json_gen_kv_string(g, "user", or_empty(info->user));
  mascri_json_gen_kv_strv(g, "env", info->env);
  mascri_json_gen_kv_strv(g, "entrypoint", info->entrypoint);
  mascri_json_gen_kv_strv(g, "cmd", info->cmd);
  mascri_json_gen_kv_string(g, "workingDir", or_empty(info->working_dir));
  mascri_json_gen_kv_strv(g, "exposedPorts", info->exposed_ports);
  mascri_json_gen_kv_strv(g, "volumes", info->volumes);
  mascri_json_gen_kv_strv(g, "labels", info->labels);
  mascri_json_gen_kv_string(g, "stopSignal", or_empty(info->stop_signal));
}
