/* mascri_image_pull: resolve the manifest (and the platform's entry of an index), fetch and
 * verify the config, make sure every layer is in the store, then write the image record. */
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/config.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/pull-layer.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store-internal.h"

#define MAX_CONFIG_SIZE (8u << 20)

struct resolved {
  char *top_digest; /* what the tag points at (index or manifest) */
  char *manifest_digest;
  char *manifest;
  size_t manifest_len;
  struct mascri_manifest m;
  char *config;
  size_t config_len;
};

static void resolved_clear(struct resolved *r)
{
  free(r->top_digest);
  free(r->manifest_digest);
  free(r->manifest);
  mascri_manifest_clear(&r->m);
  free(r->config);
}

static int fetch_manifest(mascri_registry_client_t *c, const char *reference, const char *expected,
                          struct resolved *out, mascri_error_t *err)
{
  _cleanup_free_ char *ct = NULL;
  free(out->manifest);
  out->manifest = NULL;
  if (mascri_registry_get_manifest(c, reference, &out->manifest, &out->manifest_len, &ct, err) < 0)
    return -1;
  free(out->manifest_digest);
  out->manifest_digest = mascri_digest_buffer(out->manifest, out->manifest_len);
  if (expected && strcmp(expected, out->manifest_digest) != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "manifest digest mismatch: expected %s, got %s", expected,
                                  out->manifest_digest);
  mascri_manifest_clear(&out->m);
  return mascri_manifest_parse(out->manifest, out->manifest_len, ct, &out->m, err);
}

static int resolve(mascri_registry_client_t *c, const struct mascri_reference *ref,
                   const char *platform, struct resolved *out, mascri_error_t *err)
{
  const char *reference = ref->digest ? ref->digest : ref->tag;
  if (fetch_manifest(c, reference, ref->digest, out, err) < 0)
    return -1;
  out->top_digest = xstrdup(out->manifest_digest);
  if (out->m.is_index) {
    _cleanup_free_ char *host = platform ? NULL : mascri_platform_host();
    int i = mascri_manifest_select(&out->m, platform ? platform : host, err);
    if (i < 0)
      return -1;
    _cleanup_free_ char *d = xstrdup(out->m.entries[i].digest);
    if (fetch_manifest(c, d, d, out, err) < 0)
      return -1;
    if (out->m.is_index)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "nested image indexes are not supported");
  }
  for (size_t i = 0; i < out->m.n_entries; i++) {
    mascri_compression_t comp;
    if (mascri_layer_compression(out->m.entries[i].media_type, &comp, err) < 0)
      return -1;
  }
  if (out->m.config.size > (int64_t)MAX_CONFIG_SIZE)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "image config too large");
  if (mascri_registry_get_blob(c, out->m.config.digest, MAX_CONFIG_SIZE, &out->config,
                               &out->config_len, err) < 0)
    return mascri_error_wrap(err, "image config");
  _cleanup_free_ char *cd = mascri_digest_buffer(out->config, out->config_len);
  if (strcmp(cd, out->m.config.digest) != 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "image config digest mismatch: expected %s, got %s",
                                  out->m.config.digest, cd);
  return 0;
}

/* Writes blobs and the record; the layers are already committed. */
static int register_image(mascri_image_store_t *s, const struct mascri_reference *ref,
                          struct resolved *rv, char **diff_ids, char **chains, char **image_id,
                          mascri_error_t *err)
{
  if (blob_put(s, rv->m.config.digest, rv->config, rv->config_len, err) < 0 ||
      blob_put(s, rv->manifest_digest, rv->manifest, rv->manifest_len, err) < 0)
    return -1;
  struct image_rec *rec = xmalloc0(sizeof(*rec));
  rec->id = xstrdup(rv->m.config.digest);
  rec->repo_tags = xcalloc(1, sizeof(char *));
  rec->repo_digests = xcalloc(1, sizeof(char *));
  char *tagged = mascri_reference_tagged(ref);
  if (tagged)
    mascri_strv_push(&rec->repo_tags, tagged);
  mascri_strv_push(&rec->repo_digests, mascri_reference_with_digest(ref, rv->top_digest));
  rec->layers = mascri_strv_dup(chains);
  rec->diff_ids = mascri_strv_dup(diff_ids);
  rec->manifest_digest = xstrdup(rv->manifest_digest);
  for (char **c = chains; *c; c++)
    rec->size += layer_size(s, *c);
  pthread_mutex_lock(&s->lock);
  int r = image_register_locked(s, rec, err);
  pthread_mutex_unlock(&s->lock);
  if (r == 0)
    *image_id = xstrdup(rv->m.config.digest);
  return r;
}

static int pull_resolved(mascri_image_store_t *s, mascri_registry_client_t *c,
                         const struct mascri_reference *ref, const struct mascri_pull_options *o,
                         struct resolved *rv, char **image_id, mascri_error_t *err)
{
  _cleanup_strv_ char **diff_ids = NULL, **chains = NULL;
  struct mascri_image_info *scratch = xmalloc0(sizeof(*scratch));
  int r = mascri_image_config_parse(rv->config, rv->config_len, scratch, &diff_ids, err);
  mascri_image_info_free(scratch);
  if (r < 0)
    return -1;
  if (mascri_strv_length(diff_ids) != rv->m.n_entries)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "image has %zu layers but its config lists %zu diff IDs",
                                  rv->m.n_entries, mascri_strv_length(diff_ids));
  chains = mascri_chain_ids(diff_ids);
  struct pull_layer_job *jobs = xcalloc(rv->m.n_entries + 1, sizeof(*jobs));
  for (size_t i = 0; i < rv->m.n_entries; i++)
    jobs[i] = (struct pull_layer_job){&rv->m.entries[i], diff_ids[i], chains[i]};
  struct pull_layers pl = {
      s, c, o, jobs, rv->m.n_entries, o && o->config ? o->config->max_parallel : 0};
  /* no garbage collection (in any process) while layers are made and recorded */
  _cleanup_close_ int lk = store_lock(s, LOCK_SH);
  if (lk < 0) {
    free(jobs);
    return mascri_make_error(err, errno, "lock the image store");
  }
  layers_lease(s, chains);
  r = mascri_pull_layers(&pl, err);
  if (r == 0 && o && o->cancel && *o->cancel)
    r = mascri_make_error_kind(err, MASCRI_ERR_CANCELLED, 0, "pull cancelled");
  if (r == 0)
    r = register_image(s, ref, rv, diff_ids, chains, image_id, err);
  layers_release(s, chains);
  free(jobs);
  return r;
}

int mascri_image_pull(mascri_image_store_t *s, const char *ref_str,
                      const struct mascri_pull_options *o, char **image_id, mascri_error_t *err)
{
  _cleanup_reference_ struct mascri_reference ref = {0};
  _cleanup_registry_client_ mascri_registry_client_t *c = NULL;
  _cleanup_(resolved_clear) struct resolved rv = {0};
  if (mascri_reference_parse(ref_str, &ref, err) < 0)
    return -1;
  if (mascri_registry_client_new(&ref, o ? o->auth : NULL, o ? o->config : NULL, &c, err) < 0)
    return mascri_error_wrap(err, "pull %s", ref_str);
  if (o && o->cancel)
    mascri_registry_client_set_cancel(c, o->cancel);
  if (resolve(c, &ref, o ? o->platform : NULL, &rv, err) < 0)
    return mascri_error_wrap(err, "pull %s", ref_str);
  if (o && o->progress) {
    struct mascri_pull_progress p = {MASCRI_PULL_RESOLVED, NULL, 0, 0, (unsigned)rv.m.n_entries};
    o->progress(o->progress_data, &p);
  }
  int r = pull_resolved(s, c, &ref, o, &rv, image_id, err);
  store_gc_if_pending(s);
  if (r < 0)
    return mascri_error_wrap(err, "pull %s", ref_str);
  if (o && o->progress) {
    struct mascri_pull_progress p = {MASCRI_PULL_DONE, NULL, 0, 0, (unsigned)rv.m.n_entries};
    o->progress(o->progress_data, &p);
  }
  return 0;
}
