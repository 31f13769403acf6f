#include "image/manifest.h"

#include <string.h>
#include <sys/utsname.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "image/reference.h"

static void descriptor_clear(struct mascri_descriptor *d)
{
  free(d->media_type);
  free(d->digest);
  free(d->os);
  free(d->architecture);
  free(d->variant);
  memset(d, 0, sizeof(*d));
}

void mascri_manifest_clear(struct mascri_manifest *m)
{
  descriptor_clear(&m->config);
  for (size_t i = 0; i < m->n_entries; i++)
    descriptor_clear(&m->entries[i]);
  free(m->entries);
  memset(m, 0, sizeof(*m));
}

static int parse_descriptor(yajl_val v, const char *what, struct mascri_descriptor *d,
                            mascri_error_t *err)
{
  const char *digest = mascri_json_get_string(v, "digest");
  const char *mt = mascri_json_get_string(v, "mediaType");
  int64_t size = -1;
  if (!digest || !mascri_digest_valid(digest))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "%s: missing or unsupported digest \"%s\"", what,
                                  digest ? digest : "");
  if (mascri_json_get_int64(v, "size", &size) != 1 || size < 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0, "%s: bad size", what);
  d->digest = xstrdup(digest);
  d->media_type = xstrdup(mt ? mt : "");
  d->size = size;
  yajl_val p = mascri_json_get(v, "platform");
  if (p) {
    const char *s;
    if ((s = mascri_json_get_string(p, "os")))
      d->os = xstrdup(s);
    if ((s = mascri_json_get_string(p, "architecture")))
      d->architecture = xstrdup(s);
    if ((s = mascri_json_get_string(p, "variant")))
      d->variant = xstrdup(s);
  }
  return 0;
}

static int parse_list(yajl_val arr, const char *what, struct mascri_manifest *m,
                      mascri_error_t *err)
{
  if (arr && !YAJL_IS_ARRAY(arr))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "manifest: %s is not an array", what);
  size_t n = mascri_json_array_len(arr);
  m->entries = xcalloc(n ? n : 1, sizeof(*m->entries));
  for (size_t i = 0; i < n; i++) {
    if (parse_descriptor(mascri_json_array_at(arr, i), what, &m->entries[i], err) < 0)
      return -1;
    m->n_entries = i + 1;
  }
  return 0;
}

static const char *media_type_of(yajl_val root, const char *content_type)
{
  const char *mt = mascri_json_get_string(root, "mediaType");
  if (mt && *mt)
    return mt;
  if (content_type && *content_type && strncmp(content_type, "application/json", 16) != 0 &&
      strncmp(content_type, "text/plain", 10) != 0)
    return content_type;
  /* OCI artifacts without mediaType: tell them apart by their members. */
  if (mascri_json_get(root, "manifests"))
    return MEDIA_OCI_INDEX;
  if (mascri_json_get(root, "layers"))
    return MEDIA_OCI_MANIFEST;
  return "";
}

int mascri_manifest_parse(const char *buf, size_t len, const char *content_type,
                          struct mascri_manifest *out, mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  int64_t version = 0;
  memset(out, 0, sizeof(*out));
  if (mascri_json_parse(buf, len, "manifest", &root, err) < 0) {
    (*err)->kind = MASCRI_ERR_INVALID_ARGUMENT;
    return -1;
  }
  mascri_json_get_int64(root, "schemaVersion", &version);
  const char *mt = media_type_of(root, content_type);
  if (version == 1 || strcmp(mt, MEDIA_DOCKER_SCHEMA1) == 0 ||
      strcmp(mt, MEDIA_DOCKER_SCHEMA1_SIGNED) == 0)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "image manifest schema 1 is deprecated and not supported: "
                                  "push the image again with a current client");
  if (version != 2)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "unsupported manifest schemaVersion %lld", (long long)version);
  int r;
  if (strcmp(mt, MEDIA_OCI_INDEX) == 0 || strcmp(mt, MEDIA_DOCKER_LIST) == 0) {
    out->is_index = true;
    r = parse_list(mascri_json_get(root, "manifests"), "index entry", out, err);
  } else if (strcmp(mt, MEDIA_OCI_MANIFEST) == 0 || strcmp(mt, MEDIA_DOCKER_MANIFEST) == 0) {
    r = parse_descriptor(mascri_json_get(root, "config"), "manifest config", &out->config, err);
    if (r == 0)
      r = parse_list(mascri_json_get(root, "layers"), "manifest layer", out, err);
  } else {
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "unsupported manifest media type \"%s\"", mt);
  }
  if (r < 0)
    mascri_manifest_clear(out);
  return r;
}

char *mascri_platform_host(void)
{
  struct utsname u;
  const char *arch = "amd64", *variant = NULL;
  if (uname(&u) == 0) {
    if (strcmp(u.machine, "x86_64") == 0)
      arch = "amd64";
    else if (strcmp(u.machine, "aarch64") == 0)
      arch = "arm64", variant = "v8";
    else if (strncmp(u.machine, "armv7", 5) == 0)
      arch = "arm", variant = "v7";
    else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
      arch = "386";
    else if (strcmp(u.machine, "ppc64le") == 0 || strcmp(u.machine, "s390x") == 0 ||
             strcmp(u.machine, "riscv64") == 0)
      arch = u.machine;
  }
  return variant ? xasprintf("linux/%s/%s", arch, variant) : xasprintf("linux/%s", arch);
}

/* An entry matches when os and architecture are equal and, if both name a variant, the
 * variants are equal (arm64 without a variant means v8). */
static bool platform_matches(const struct mascri_descriptor *d, const char *os, const char *arch,
                             const char *variant)
{
  if (!d->os || !d->architecture || strcmp(d->os, os) != 0 || strcmp(d->architecture, arch) != 0)
    return false;
  const char *dv = d->variant;
  if (!dv && strcmp(arch, "arm64") == 0)
    dv = "v8";
  return !variant || !dv || strcmp(variant, dv) == 0;
}

int mascri_manifest_select(const struct mascri_manifest *index, const char *platform,
                           mascri_error_t *err)
{
  _cleanup_free_ char *copy = xstrdup(platform);
  char *os = copy, *arch = strchr(copy, '/'), *variant = NULL;
  if (!arch)
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "invalid platform \"%s\" (want os/arch[/variant])", platform);
  *arch++ = '\0';
  if ((variant = strchr(arch, '/')))
    *variant++ = '\0';
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < index->n_entries; i++) {
      /* First pass: exact variant; second: any variant of the architecture. */
      if (platform_matches(&index->entries[i], os, arch, pass == 0 ? variant : NULL))
        return (int)i;
    }
  }
  _cleanup_free_ char *offered = xstrdup("");
  for (size_t i = 0; i < index->n_entries; i++) {
    const struct mascri_descriptor *d = &index->entries[i];
    char *n = xasprintf("%s%s%s/%s%s%s", offered, *offered ? ", " : "", d->os ? d->os : "?",
                        d->architecture ? d->architecture : "?", d->variant ? "/" : "",
                        d->variant ? d->variant : "");
    free(offered);
    offered = n;
  }
  return mascri_make_error_kind(err, MASCRI_ERR_NOT_FOUND, 0,
                                "no image for platform %s in the index (it has: %s)", platform,
                                *offered ? offered : "nothing");
}

int mascri_layer_compression(const char *mt, mascri_compression_t *out, mascri_error_t *err)
{
  static const struct {
    const char *type;
    mascri_compression_t c;
  } known[] = {
      {"application/vnd.oci.image.layer.v1.tar", MASCRI_COMPRESSION_NONE},
      {"application/vnd.oci.image.layer.v1.tar+gzip", MASCRI_COMPRESSION_GZIP},
      {"application/vnd.oci.image.layer.v1.tar+zstd", MASCRI_COMPRESSION_ZSTD},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", MASCRI_COMPRESSION_NONE},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", MASCRI_COMPRESSION_GZIP},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", MASCRI_COMPRESSION_ZSTD},
      {"application/vnd.docker.image.rootfs.diff.tar", MASCRI_COMPRESSION_NONE},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", MASCRI_COMPRESSION_GZIP},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", MASCRI_COMPRESSION_GZIP},
  };
  for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
    if (strcmp(mt, known[i].type) == 0) {
      *out = known[i].c;
      return 0;
    }
  }
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                "unsupported layer media type \"%s\"", mt);
}
