/* The OCI config.json of a CRI container: the top level (root, annotations) and the order
 * of the sections; the sections are in ctr-spec-*.c. */
#include <string.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-spec-internal.h"

static void gen_annotation(yajl_gen g, const char *key, const char *value)
{
  if (value)
    mascri_json_gen_kv_string(g, key, value);
}

/* The keys containerd's CRI plugin sets, so tools written for it (and NRI-style hooks)
 * find what they look for; the config's own annotations come last and win. */
static void gen_annotations(yajl_gen g, const struct ctr_spec_ctx *c)
{
  const struct mascri_ctr_spec_input *in = c->in;
  const struct mascri_ctr_config *cfg = c->cfg;
  mascri_json_gen_key(g, "annotations");
  yajl_gen_map_open(g);
  gen_annotation(g, "io.kubernetes.cri.container-type", "container");
  gen_annotation(g, "io.kubernetes.cri.container-name", cfg->metadata.name);
  gen_annotation(g, "io.kubernetes.cri.sandbox-id", in->pod->id);
  gen_annotation(g, "io.kubernetes.cri.sandbox-name", in->pod->name);
  gen_annotation(g, "io.kubernetes.cri.sandbox-namespace", in->pod->namespace_);
  gen_annotation(g, "io.kubernetes.cri.sandbox-uid", in->pod->uid);
  gen_annotation(g, "io.kubernetes.cri.image-name", cfg->image.image);
  for (size_t i = 0; i < cfg->annotations.n; i++) {
    const char *k = cfg->annotations.v[i].key;
    if (*k && strncmp(k, "io.kubernetes.cri.", 18) != 0)
      gen_annotation(g, k, cfg->annotations.v[i].value);
  }
  yajl_gen_map_close(g);
}

static void ctx_clear(struct ctr_spec_ctx *c)
{
  mascri_strv_free(c->caps);
  c->caps = NULL;
}

static int ctx_init(struct ctr_spec_ctx *c, const struct mascri_ctr_spec_input *in,
                    mascri_error_t *err)
{
  *c = (struct ctr_spec_ctx){
      .in = in,
      .cfg = in->config,
      .sc = &in->config->security,
      .res = in->config->resources.set ? &in->config->resources : NULL,
      .privileged = in->config->security.privileged,
      .readonly_rootfs = in->config->security.readonly_rootfs,
  };
  if (c->privileged && !mascri_pod_info_privileged(in->pod))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.security_context.privileged: the pod sandbox is not "
                                  "privileged, so its containers cannot be");
  return ctr_spec_capabilities(c->sc, in->default_caps, &c->caps, err);
}

static int gen_all(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "ociVersion", "1.2.0");
  if (ctr_spec_gen_process(g, c, err) < 0)
    return -1;
  mascri_json_gen_key(g, "root");
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "path", c->in->rootfs);
  mascri_json_gen_kv_bool(g, "readonly", c->readonly_rootfs);
  yajl_gen_map_close(g);
  if (ctr_spec_gen_mounts(g, c, err) < 0 || ctr_spec_gen_linux(g, c, err) < 0)
    return -1;
  gen_annotations(g, c);
  yajl_gen_map_close(g);
  return 0;
}

int mascri_ctr_spec_build(const struct mascri_ctr_spec_input *in, char **json, mascri_error_t *err)
{
  struct ctr_spec_ctx c;
  if (ctx_init(&c, in, err) < 0) {
    ctx_clear(&c);
    return -1;
  }
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  int r = gen_all(g, &c, err);
  ctx_clear(&c);
  if (r < 0)
    return -1;
  *json = mascri_json_gen_take(g, NULL);
  return 0;
}
