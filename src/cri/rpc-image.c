/* ImageService: ListImages, ImageStatus, PullImage, RemoveImage, ImageFsInfo over the image
 * library (image/image.h); pulls run in a mascri-image child (pull-child.h). Responses are
 * built entirely on the heap (rpc.h). */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "cri/daemon.h"
#include "cri/pull-child.h"
#include "cri/rpc.h"
#include "image/info-json.h"

static const char *spec_name(const Runtime__V1__ImageSpec *spec)
{
  return spec && spec->image && spec->image[0] ? spec->image : NULL;
}

static char **strv_to_repeated(char *const *v, size_t *n)
{
  *n = mascri_strv_length(v);
  if (*n == 0)
    return NULL;
  char **out = xcalloc(*n, sizeof(char *));
  for (size_t i = 0; i < *n; i++)
    out[i] = xstrdup(v[i]);
  return out;
}

/* CRI's uid/username from the config's User ("uid", "uid:gid", "name", "name:group"): a
 * numeric user becomes uid, a name becomes username, none is root (uid 0). */
static void set_user(Runtime__V1__Image *img, const char *user)
{
  _cleanup_free_ char *u = xstrdup(user ? user : "");
  u[strcspn(u, ":")] = '\0';
  char *end = NULL;
  errno = 0;
  long long uid = u[0] ? strtoll(u, &end, 10) : 0;
  if (u[0] == '\0' || (errno == 0 && end && *end == '\0' && uid >= 0)) {
    img->uid = xmalloc(sizeof(*img->uid));
    runtime__v1__int64_value__init(img->uid);
    img->uid->value = uid;
  } else {
    img->username = xstrdup(u);
  }
}

static Runtime__V1__Image *image_from_info(const struct mascri_image_info *info)
{
  Runtime__V1__Image *img = xmalloc(sizeof(*img));
  runtime__v1__image__init(img);
  img->id = xstrdup(info->id);
  img->repo_tags = strv_to_repeated(info->repo_tags, &img->n_repo_tags);
  img->repo_digests = strv_to_repeated(info->repo_digests, &img->n_repo_digests);
  img->size = info->size;
  set_user(img, info->user);
  img->spec = xmalloc(sizeof(*img->spec));
  runtime__v1__image_spec__init(img->spec);
  img->spec->image = xstrdup(info->id);
  img->pinned = info->pinned;
  return img;
}

MASCRI_RPC(list_images)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__ListImagesRequest *in = (const Runtime__V1__ListImagesRequest *)req;
  const char *filter = in->filter ? spec_name(in->filter->image) : NULL;
  struct mascri_image_info **list = NULL;
  size_t n = 0;
  if (filter) {
    _cleanup_error_ mascri_error_t lerr = NULL;
    struct mascri_image_info *one = NULL;
    if (mascri_image_lookup(d->images, filter, &one, &lerr) < 0) {
      if (mascri_error_kind(&lerr) != MASCRI_ERR_NOT_FOUND) {
        mascri_error_move(err, &lerr);
        return mascri_error_wrap(err, "list images matching %s", filter);
      }
    } else {
      list = xmalloc(sizeof(*list));
      list[0] = one;
      n = 1;
    }
  } else if (mascri_image_list(d->images, &list, &n, err) < 0) {
    return mascri_error_wrap(err, "list images");
  }
  Runtime__V1__ListImagesResponse *r = xmalloc(sizeof(*r));
  runtime__v1__list_images_response__init(r);
  r->n_images = n;
  r->images = n ? xcalloc(n, sizeof(*r->images)) : NULL;
  for (size_t i = 0; i < n; i++)
    r->images[i] = image_from_info(list[i]);
  mascri_image_info_list_free(list, n);
  *resp = &r->base;
  return 0;
}

/* ImageStatus's verbose "info": the image's configuration as JSON. */
static char *image_info_json(const struct mascri_image_info *info)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "id", info->id);
  mascri_image_info_gen_config(g, info);
  mascri_json_gen_kv_strv(g, "chainIDs", info->layers);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

MASCRI_RPC(image_status)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__ImageStatusRequest *in = (const Runtime__V1__ImageStatusRequest *)req;
  const char *name = spec_name(in->image);
  if (name == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "ImageStatus: no image");
  _cleanup_image_info_ struct mascri_image_info *info = NULL;
  _cleanup_error_ mascri_error_t lerr = NULL;
  Runtime__V1__ImageStatusResponse *r;
  if (mascri_image_lookup(d->images, name, &info, &lerr) < 0) {
    if (mascri_error_kind(&lerr) != MASCRI_ERR_NOT_FOUND) {
      mascri_error_move(err, &lerr);
      return mascri_error_wrap(err, "image status of %s", name);
    }
    /* CRI: an unknown image is no error, just an empty response. */
    r = xmalloc(sizeof(*r));
    runtime__v1__image_status_response__init(r);
    *resp = &r->base;
    return 0;
  }
  r = xmalloc(sizeof(*r));
  runtime__v1__image_status_response__init(r);
  r->image = image_from_info(info);
  if (in->verbose) {
    Runtime__V1__ImageStatusResponse__InfoEntry *e = xmalloc(sizeof(*e));
    runtime__v1__image_status_response__info_entry__init(e);
    e->key = xstrdup("info");
    e->value = image_info_json(info);
    r->n_info = 1;
    r->info = xmalloc(sizeof(*r->info));
    r->info[0] = e;
  }
  *resp = &r->base;
  return 0;
}

static const char *nonempty(const char *s)
{
  return s && s[0] ? s : NULL;
}

/* mascri-image next to this binary (as installed, and in the build tree). */
static char *image_exe(void)
{
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return xstrdup("/usr/local/bin/mascri-image");
  self[n] = '\0';
  return xasprintf("%s/mascri-image", dirname(self));
}

MASCRI_RPC(pull_image)
{
  struct mascri_daemon *d = ctx;
  const Runtime__V1__PullImageRequest *in = (const Runtime__V1__PullImageRequest *)req;
  const char *name = spec_name(in->image);
  if (name == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "PullImage: no image");
  struct mascri_registry_auth auth = {0};
  if (in->auth) {
    auth.username = nonempty(in->auth->username);
    auth.password = nonempty(in->auth->password);
    auth.auth = nonempty(in->auth->auth);
    auth.identity_token = nonempty(in->auth->identity_token);
    auth.registry_token = nonempty(in->auth->registry_token);
  }
  _cleanup_free_ char *exe = image_exe();
  struct mascri_pull_child_config pc = {
      .exe = exe,
      .root = mascri_image_store_root(d->images),
      .registry_config = d->cfg.registry_config,
      .max_layer_bytes = d->cfg.max_layer_bytes,
      .max_layer_entries = d->cfg.max_layer_entries,
  };
  _cleanup_free_ char *id = NULL;
  if (mascri_pull_child_run(&pc, name, in->auth ? &auth : NULL, cancel, &id, err) < 0 ||
      mascri_image_store_adopt(d->images, id, err) < 0)
    return mascri_error_wrap(err, "pull %s", name);
  Runtime__V1__PullImageResponse *r = xmalloc(sizeof(*r));
  runtime__v1__pull_image_response__init(r);
  r->image_ref = TAKE_PTR(id);
  *resp = &r->base;
  return 0;
}

MASCRI_RPC(remove_image)
{
  (void)cancel;
  struct mascri_daemon *d = ctx;
  const Runtime__V1__RemoveImageRequest *in = (const Runtime__V1__RemoveImageRequest *)req;
  const char *name = spec_name(in->image);
  if (name == NULL)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "RemoveImage: no image");
  _cleanup_error_ mascri_error_t rerr = NULL;
  if (mascri_image_remove(d->images, name, 0, &rerr) < 0 &&
      mascri_error_kind(&rerr) != MASCRI_ERR_NOT_FOUND) {
    /* Removing what is not there succeeds (as with containerd and CRI-O). */
    mascri_error_move(err, &rerr);
    return mascri_error_wrap(err, "remove image %s", name);
  }
  Runtime__V1__RemoveImageResponse *r = xmalloc(sizeof(*r));
  runtime__v1__remove_image_response__init(r);
  *resp = &r->base;
  return 0;
}

static Runtime__V1__UInt64Value *uint64_value(uint64_t v)
{
  Runtime__V1__UInt64Value *u = xmalloc(sizeof(*u));
  runtime__v1__uint64_value__init(u);
  u->value = v;
  return u;
}

MASCRI_RPC(image_fs_info)
{
  (void)req, (void)cancel;
  struct mascri_daemon *d = ctx;
  struct mascri_image_fs_usage usage = {0};
  if (mascri_image_fs_usage(d->images, &usage, err) < 0)
    return mascri_error_wrap(err, "image filesystem usage");
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  Runtime__V1__FilesystemUsage *fs = xmalloc(sizeof(*fs));
  runtime__v1__filesystem_usage__init(fs);
  fs->timestamp = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
  fs->fs_id = xmalloc(sizeof(*fs->fs_id));
  runtime__v1__filesystem_identifier__init(fs->fs_id);
  fs->fs_id->mountpoint = xstrdup(usage.mountpoint ? usage.mountpoint : "");
  fs->used_bytes = uint64_value(usage.used_bytes);
  fs->inodes_used = uint64_value(usage.inodes_used);
  mascri_image_fs_usage_clear(&usage);

  Runtime__V1__ImageFsInfoResponse *r = xmalloc(sizeof(*r));
  runtime__v1__image_fs_info_response__init(r);
  r->n_image_filesystems = 1;
  r->image_filesystems = xmalloc(sizeof(*r->image_filesystems));
  r->image_filesystems[0] = fs;
  *resp = &r->base;
  return 0;
}
