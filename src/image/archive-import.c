/* `docker save` tarballs (legacy: manifest.json + <id>/layer.tar; Docker 25+: the same
 * manifest.json over an OCI layout) and OCI image-layout archives, from a file or a pipe.
 * The archive is unpacked into tmp/ with the same confinement as layers, then every image
 * is checked (config digest, diff IDs) and added with its tags. */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/config.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/store-internal.h"
#include "image/unpack.h"

struct archive_dir {
  mascri_image_store_t *s;
  int fd; /* the unpacked archive */
};

static int read_member(struct archive_dir *a, const char *path, char **buf, size_t *len,
                       mascri_error_t *err)
{
  _cleanup_close_ int fd = mascri_open_in_root(a->fd, path, O_RDONLY | O_CLOEXEC, 0, err);
  if (fd < 0)
    return mascri_error_wrap(err, "archive member %s", path);
  return mascri_read_all(fd, buf, len, err);
}

static int import_layer(struct archive_dir *a, const char *path, const char *diff_id,
                        const char *chain_id, mascri_error_t *err)
{
  if (layer_begin(a->s, chain_id) == 0)
    return 0;
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int diff_fd = -1;
  struct mascri_unpack_stats st = {.max_bytes = a->s->layer_max_bytes,
                                   .max_entries = a->s->layer_max_entries};
  int r = -1;
  _cleanup_close_ int fd = mascri_open_in_root(a->fd, path, O_RDONLY | O_CLOEXEC, 0, err);
  if (fd >= 0 && layer_tmp_create(a->s, &tmp, &diff_fd, err) == 0) {
    r = mascri_layer_unpack(fd, diff_fd, &st, err);
    if (r == 0 && strcmp(st.diff_id, diff_id) != 0)
      r = mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                 "digest %s does not match the config's diff ID %s", st.diff_id,
                                 diff_id);
    if (r == 0)
      r = layer_commit(a->s, tmp, diff_fd, chain_id, diff_id, st.bytes, st.entries, err);
    if (r < 0)
      layer_tmp_discard(a->s, tmp);
  }
  free(st.diff_id);
  layer_end(a->s, chain_id);
  return r < 0 ? mascri_error_wrap(err, "layer %s", path) : 0;
}

/* Adds one image: config bytes, layer member paths, tags (normalised), an optional repo
 * digest. */
static int import_image(struct archive_dir *a, const char *config, size_t config_len,
                        char *const *layer_paths, char *const *tags, const char *repo_digest,
                        char ***ids, mascri_error_t *err)
{
  _cleanup_strv_ char **diff_ids = NULL, **chains = NULL;
  struct mascri_image_info *scratch = xmalloc0(sizeof(*scratch));
  int r = mascri_image_config_parse(config, config_len, scratch, &diff_ids, err);
  mascri_image_info_free(scratch);
  if (r < 0)
    return -1;
  if (mascri_strv_length(diff_ids) != mascri_strv_length(layer_paths))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "image has %zu layers but its config lists %zu diff IDs",
                                  mascri_strv_length(layer_paths), mascri_strv_length(diff_ids));
  chains = mascri_chain_ids(diff_ids);
  layers_lease(a->s, chains);
  for (size_t i = 0; r == 0 && layer_paths[i]; i++)
    r = import_layer(a, layer_paths[i], diff_ids[i], chains[i], err);
  _cleanup_free_ char *id = mascri_digest_buffer(config, config_len);
  if (r == 0)
    r = blob_put(a->s, id, config, config_len, err);
  if (r == 0) {
    struct image_rec *rec = xmalloc0(sizeof(*rec));
    rec->id = xstrdup(id);
    rec->repo_tags = mascri_strv_dup(tags);
    rec->repo_digests = xcalloc(1, sizeof(char *));
    if (repo_digest)
      mascri_strv_append(&rec->repo_digests, repo_digest);
    rec->layers = mascri_strv_dup(chains);
    rec->diff_ids = mascri_strv_dup(diff_ids);
    for (char **c = chains; *c; c++)
      rec->size += layer_size(a->s, *c);
    pthread_mutex_lock(&a->s->lock);
    r = image_register_locked(a->s, rec, err);
    pthread_mutex_unlock(&a->s->lock);
  }
  layers_release(a->s, chains);
  if (r == 0 && !mascri_strv_contains(*ids, id))
    mascri_strv_append(ids, id);
  return r;
}

static char **normalised_tags(yajl_val arr, mascri_error_t *err)
{
  _cleanup_strv_ char **raw = mascri_json_string_array(arr, "RepoTags", err);
  if (!raw)
    return NULL;
  char **out = xcalloc(1, sizeof(char *));
  for (char **t = raw; *t; t++) {
    struct mascri_reference ref;
    if (mascri_reference_parse(*t, &ref, err) < 0) {
      mascri_strv_free(out);
      return NULL;
    }
    char *tagged = mascri_reference_tagged(&ref);
    if (tagged)
      mascri_strv_push(&out, tagged);
    mascri_reference_clear(&ref);
  }
  return out;
}

static int import_docker(struct archive_dir *a, char ***ids, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  _cleanup_json_ yajl_val root = NULL;
  size_t len;
  if (read_member(a, "manifest.json", &buf, &len, err) < 0 ||
      mascri_json_parse(buf, len, "manifest.json", &root, err) < 0)
    return -1;
  if (!YAJL_IS_ARRAY(root))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "manifest.json is not an array");
  for (size_t i = 0; i < mascri_json_array_len(root); i++) {
    yajl_val m = mascri_json_array_at(root, i);
    const char *cfg_path = mascri_json_get_string(m, "Config");
    _cleanup_strv_ char **layers = NULL, **tags = NULL;
    _cleanup_free_ char *cfg = NULL;
    size_t cfg_len;
    if (!cfg_path)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "manifest.json: entry without Config");
    if (!(layers = mascri_json_string_array(mascri_json_get(m, "Layers"), "Layers", err)) ||
        !(tags = normalised_tags(mascri_json_get(m, "RepoTags"), err)) ||
        read_member(a, cfg_path, &cfg, &cfg_len, err) < 0 ||
        import_image(a, cfg, cfg_len, layers, tags, NULL, ids, err) < 0)
      return -1;
  }
  return 0;
}

static char *blob_member(const char *digest)
{
  return xasprintf("blobs/sha256/%s", digest_hex(digest));
}

static int read_blob(struct archive_dir *a, const char *digest, char **buf, size_t *len,
                     mascri_error_t *err)
{
  if (!mascri_digest_valid(digest))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "bad digest %s", digest);
  _cleanup_free_ char *p = blob_member(digest);
  if (read_member(a, p, buf, len, err) < 0)
    return -1;
  _cleanup_free_ char *got = mascri_digest_buffer(*buf, *len);
  if (strcmp(got, digest) != 0) {
    free(*buf);
    *buf = NULL;
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "blob %s: digest mismatch (%s)", digest, got);
  }
  return 0;
}

/* "org.opencontainers.image.ref.name" is a full reference or only a tag. */
static char *oci_name(yajl_val desc)
{
  const char *path[] = {"annotations", "io.containerd.image.name", NULL};
  const char *full = YAJL_GET_STRING(mascri_json_get_path(desc, path));
  const char *path2[] = {"annotations", "org.opencontainers.image.ref.name", NULL};
  const char *name = YAJL_GET_STRING(mascri_json_get_path(desc, path2));
  if (full)
    return xstrdup(full);
  if (!name)
    return NULL;
  if (strchr(name, '/') || strchr(name, ':'))
    return xstrdup(name);
  return xasprintf("localhost/imported:%s", name);
}

static int import_oci_manifest(struct archive_dir *a, const char *digest, const char *name,
                               char ***ids, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL, *cfg = NULL;
  _cleanup_manifest_ struct mascri_manifest m = {0};
  size_t len, cfg_len;
  if (read_blob(a, digest, &buf, &len, err) < 0 ||
      mascri_manifest_parse(buf, len, NULL, &m, err) < 0)
    return -1;
  if (m.is_index) {
    _cleanup_free_ char *host = mascri_platform_host();
    int i = mascri_manifest_select(&m, host, err);
    return i < 0 ? -1 : import_oci_manifest(a, m.entries[i].digest, name, ids, err);
  }
  if (read_blob(a, m.config.digest, &cfg, &cfg_len, err) < 0)
    return -1;
  _cleanup_strv_ char **layers = xcalloc(1, sizeof(char *));
  _cleanup_strv_ char **tags = xcalloc(1, sizeof(char *));
  for (size_t i = 0; i < m.n_entries; i++)
    mascri_strv_push(&layers, blob_member(m.entries[i].digest));
  _cleanup_free_ char *repo_digest = NULL;
  struct mascri_reference ref;
  if (name && mascri_reference_parse(name, &ref, err) == 0) {
    char *t = mascri_reference_tagged(&ref);
    if (t)
      mascri_strv_push(&tags, t);
    repo_digest = mascri_reference_with_digest(&ref, digest);
    mascri_reference_clear(&ref);
  } else if (name) {
    mascri_log_error_release(MASCRI_LOG_WARNING, err, "import: ignoring image name \"%s\"", name);
  }
  return import_image(a, cfg, cfg_len, layers, tags, repo_digest, ids, err);
}

static int import_oci(struct archive_dir *a, char ***ids, mascri_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  _cleanup_json_ yajl_val root = NULL;
  size_t len;
  if (read_member(a, "index.json", &buf, &len, err) < 0 ||
      mascri_json_parse(buf, len, "index.json", &root, err) < 0)
    return -1;
  yajl_val ms = mascri_json_get(root, "manifests");
  for (size_t i = 0; i < mascri_json_array_len(ms); i++) {
    yajl_val d = mascri_json_array_at(ms, i);
    const char *digest = mascri_json_get_string(d, "digest");
    _cleanup_free_ char *name = oci_name(d);
    if (!digest)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "index.json: entry without digest");
    if (import_oci_manifest(a, digest, name, ids, err) < 0)
      return -1;
  }
  return 0;
}

int mascri_image_import(mascri_image_store_t *s, int fd, char ***ids, mascri_error_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int dfd = -1;
  struct archive_dir a = {s, -1};
  int r;
  *ids = xcalloc(1, sizeof(char *));
  _cleanup_close_ int lk = store_lock(s, LOCK_SH);
  if (lk < 0)
    return mascri_make_error(err, errno, "lock the image store");
  if (layer_tmp_create(s, &tmp, &dfd, err) < 0)
    return -1;
  a.fd = dfd;
  r = mascri_layer_unpack(fd, dfd, NULL, err);
  if (r == 0) {
    if (faccessat(dfd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
      r = import_docker(&a, ids, err);
    else if (faccessat(dfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
      r = import_oci(&a, ids, err);
    else
      r = mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                 "neither a docker-archive (manifest.json) nor an OCI layout "
                                 "(index.json)");
  }
  layer_tmp_discard(s, tmp);
  if (lk >= 0)
    close(TAKE_FD(lk));
  store_gc_if_pending(s);
  if (r < 0)
    return mascri_error_wrap(err, "import");
  return 0;
}
