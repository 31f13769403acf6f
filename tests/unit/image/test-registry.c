/* The registry client and the pull against a fake registry: a thread of this process
 * serving HTTP/1.1 on 127.0.0.1 (loopback registries speak plain HTTP, as with Docker).
 * It serves one image (manifest, config, one uncompressed layer) and can misbehave on
 * demand: wrong content, an oversized manifest, a body cut short, a Bearer challenge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/registry.h"

#define REPO "test/app"
#define TOKEN "good-token"
#define MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"

enum body_mode {
  BODY_FULL,
  BODY_CUT_ONCE,   /* first answer: Content-Length of the whole, half the bytes, close */
  BODY_SHORT,      /* no Content-Length, half the bytes, close: looks complete */
  BODY_OVERSIZED,  /* 4 MiB + 1 bytes of padding instead of the content */
  BODY_WRONG_DATA, /* other bytes of the same length */
};

struct route {
  char *path;
  char *data;
  size_t len;
  const char *content_type;
  enum body_mode mode;
  unsigned hits;
};

struct fake_registry {
  int lfd;
  int stop[2];
  int port;
  pthread_t thread;
  pthread_mutex_t lock; /* guards what follows */
  struct route routes[8];
  size_t n_routes;
  bool bearer;         /* /v2/ paths need "Bearer " TOKEN */
  const char *granted; /* the token /token hands out */
  unsigned token_requests;
  char *token_query;
  unsigned range_requests;
};

static struct route *route_add(struct fake_registry *r, char *path, const void *data, size_t len,
                               const char *type)
{
  struct route *rt = &r->routes[r->n_routes++];
  assert_true(r->n_routes <= sizeof(r->routes) / sizeof(r->routes[0]));
  rt->path = path;
  rt->data = xmalloc(len + 1);
  memcpy(rt->data, data, len);
  rt->len = len;
  rt->content_type = type;
  return rt;
}

static void send_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0)
      return; /* the client gave up (an oversized answer): fine */
    p += n, len -= (size_t)n;
  }
}

static void answer(int fd, int code, const char *extra_headers, const char *type, const void *body,
                   size_t len, bool with_length)
{
  char head[1024];
  int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nConnection: close\r\n%s", code,
                   extra_headers ? extra_headers : "");
  if (type)
    n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Type: %s\r\n", type);
  if (with_length)
    n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", len);
  n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
  send_all(fd, head, (size_t)n);
  send_all(fd, body, len);
}

/* A header's value in the request (case-insensitive name), copied into out. */
static bool header(const char *req, const char *name, char *out, size_t size)
{
  size_t n = strlen(name);
  for (const char *l = strstr(req, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
    if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
      const char *v = l + 3 + n;
      v += strspn(v, " ");
      size_t vl = strcspn(v, "\r");
      if (vl >= size)
        return false;
      memcpy(out, v, vl);
      out[vl] = '\0';
      return true;
    }
  }
  return false;
}

static void serve_route(struct fake_registry *r, int fd, struct route *rt, const char *req)
{
  char range[64];
  unsigned long long from = 0;
  rt->hits++;
  if (header(req, "Range", range, sizeof(range)) && sscanf(range, "bytes=%llu-", &from) == 1 &&
      from > 0 && from < rt->len) {
    r->range_requests++;
    answer(fd, 206, NULL, rt->content_type, rt->data + from, rt->len - from, true);
    return;
  }
  switch (rt->mode) {
  case BODY_CUT_ONCE:
    if (rt->hits == 1) {
      char head[256];
      int n =
          snprintf(head, sizeof(head),
                   "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n", rt->len);
      send_all(fd, head, (size_t)n);
      send_all(fd, rt->data, rt->len / 2);
      return;
    }
    break;
  case BODY_SHORT:
    answer(fd, 200, NULL, rt->content_type, rt->data, rt->len / 2, false);
    return;
  case BODY_OVERSIZED: {
    size_t big = (4u << 20) + 1;
    char *pad = xmalloc(big);
    memset(pad, ' ', big);
    answer(fd, 200, NULL, rt->content_type, pad, big, true);
    free(pad);
    return;
  }
  case BODY_WRONG_DATA: {
    char *other = xmalloc(rt->len);
    memcpy(other, rt->data, rt->len);
    other[rt->len - 1] ^= 1;
    answer(fd, 200, NULL, rt->content_type, other, rt->len, true);
    free(other);
    return;
  }
  case BODY_FULL:
    break;
  }
  answer(fd, 200, NULL, rt->content_type, rt->data, rt->len, true);
}

static void handle(struct fake_registry *r, int fd)
{
  char req[8192];
  size_t len = 0;
  while (len + 1 < sizeof(req)) {
    ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
    if (n <= 0)
      return;
    len += (size_t)n;
    req[len] = '\0';
    if (strstr(req, "\r\n\r\n"))
      break;
  }
  char path[1024], authz[256];
  if (sscanf(req, "GET %1023s ", path) != 1) {
    answer(fd, 405, NULL, NULL, "", 0, true);
    return;
  }
  pthread_mutex_lock(&r->lock);
  if (strncmp(path, "/token?", 7) == 0) {
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"token\":\"%s\",\"expires_in\":300}", r->granted);
    r->token_requests++;
    free(r->token_query);
    r->token_query = xstrdup(path + 7);
    answer(fd, 200, NULL, "application/json", body, (size_t)n, true);
  } else if (r->bearer && !(header(req, "Authorization", authz, sizeof(authz)) &&
                            strcmp(authz, "Bearer " TOKEN) == 0)) {
    char challenge[256];
    snprintf(challenge, sizeof(challenge),
             "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\",service=\"fake\"\r\n",
             r->port);
    answer(fd, 401, challenge, "application/json", "{}", 2, true);
  } else if (strcmp(path, "/v2/") == 0) {
    answer(fd, 200, NULL, "application/json", "{}", 2, true);
  } else {
    struct route *rt = NULL;
    for (size_t i = 0; !rt && i < r->n_routes; i++)
      if (strcmp(r->routes[i].path, path) == 0)
        rt = &r->routes[i];
    if (rt)
      serve_route(r, fd, rt, req);
    else
      answer(fd, 404, NULL, "application/json", "{}", 2, true);
  }
  pthread_mutex_unlock(&r->lock);
}

/* One connection at a time: the client's parallel downloads queue in the backlog. */
static void *server_main(void *arg)
{
  struct fake_registry *r = arg;
  for (;;) {
    struct pollfd p[2] = {{r->lfd, POLLIN, 0}, {r->stop[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0)
      continue;
    if (p[1].revents)
      return NULL;
    int fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    handle(r, fd);
    shutdown(fd, SHUT_WR);
    close(fd);
  }
}

static void server_start(struct fake_registry *r)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof(a);
  r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(r->lfd >= 0);
  assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(r->lfd, 64), 0);
  assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &alen), 0);
  r->port = ntohs(a.sin_port);
  assert_int_equal(pipe2(r->stop, O_CLOEXEC), 0);
  pthread_mutex_init(&r->lock, NULL);
  assert_int_equal(pthread_create(&r->thread, NULL, server_main, r), 0);
}

static void server_stop(struct fake_registry *r)
{
  assert_int_equal(write(r->stop[1], "x", 1), 1);
  pthread_join(r->thread, NULL);
  close(r->stop[0]);
  close(r->stop[1]);
  close(r->lfd);
  for (size_t i = 0; i < r->n_routes; i++) {
    free(r->routes[i].path);
    free(r->routes[i].data);
  }
  free(r->token_query);
  pthread_mutex_destroy(&r->lock);
}

/* --- the image it serves --- */

static char *layer_tar(size_t *len)
{
  struct archive *a = archive_write_new();
  int fd = memfd_create("layer", MFD_CLOEXEC);
  struct archive_entry *e = archive_entry_new();
  static const char content[] = "pulled over HTTP\n";
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
  archive_entry_set_pathname(e, "hello");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, sizeof(content) - 1);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  archive_write_data(a, content, sizeof(content) - 1);
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  lseek(fd, 0, SEEK_SET);
  _cleanup_error_ mascri_error_t err = NULL;
  char *buf = NULL;
  assert_int_equal(mascri_read_all(fd, &buf, len, &err), 0);
  close(fd);
  return buf;
}

struct fixture {
  struct fake_registry reg;
  char *dir;
  mascri_image_store_t *store;
  struct route *manifest, *manifest_by_digest, *config, *layer;
  char *manifest_digest, *config_digest, *layer_digest;
  char *ref; /* 127.0.0.1:PORT/test/app:v1 */
  struct mascri_registry_config cfg;
};

static char *route_path(const char *kind, const char *name)
{
  return xasprintf("/v2/" REPO "/%s/%s", kind, name);
}

static int setup(void **state)
{
  struct fixture *f = xmalloc0(sizeof(*f));
  _cleanup_error_ mascri_error_t err = NULL;
  char tmpl[] = "/tmp/mascri-test-registry-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  f->dir = xstrdup(tmpl);
  assert_int_equal(mascri_image_store_open(tmpl, &f->store, &err), 0);

  size_t layer_len;
  _cleanup_free_ char *layer = layer_tar(&layer_len);
  _cleanup_free_ char *diff_id = mascri_digest_buffer(layer, layer_len);
  _cleanup_free_ char *config =
      xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                diff_id);
  f->config_digest = mascri_digest_buffer(config, strlen(config));
  f->layer_digest = xstrdup(diff_id);
  _cleanup_free_ char *manifest =
      xasprintf("{\"schemaVersion\":2,\"mediaType\":\"" MANIFEST_TYPE "\","
                "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                "\"digest\":\"%s\",\"size\":%zu},"
                "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                "\"digest\":\"%s\",\"size\":%zu}]}",
                f->config_digest, strlen(config), f->layer_digest, layer_len);
  f->manifest_digest = mascri_digest_buffer(manifest, strlen(manifest));

  struct fake_registry *r = &f->reg;
  f->manifest =
      route_add(r, route_path("manifests", "v1"), manifest, strlen(manifest), MANIFEST_TYPE);
  f->manifest_by_digest = route_add(r, route_path("manifests", f->manifest_digest), manifest,
                                    strlen(manifest), MANIFEST_TYPE);
  f->config = route_add(r, route_path("blobs", f->config_digest), config, strlen(config),
                        "application/octet-stream");
  f->layer = route_add(r, route_path("blobs", f->layer_digest), layer, layer_len,
                       "application/octet-stream");
  r->granted = TOKEN;
  server_start(r);
  f->ref = xasprintf("127.0.0.1:%d/" REPO ":v1", r->port);
  f->cfg.docker_config = ""; /* no credentials from the host running the tests */
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  server_stop(&f->reg);
  mascri_image_store_close(f->store);
  mascri_rm_rf(f->dir, &err);
  free(f->dir);
  free(f->manifest_digest);
  free(f->config_digest);
  free(f->layer_digest);
  free(f->ref);
  free(f);
  return 0;
}

static int pull(struct fixture *f, const char *ref, char **id, mascri_error_t *err)
{
  struct mascri_pull_options o = {.config = &f->cfg};
  return mascri_image_pull(f->store, ref, &o, id, err);
}

static size_t count(struct fixture *f, const char *rel)
{
  _cleanup_free_ char *p = xasprintf("%s/%s", f->dir, rel);
  DIR *d = opendir(p);
  size_t n = 0;
  assert_non_null(d);
  for (struct dirent *de; (de = readdir(d));)
    n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

/* A refused pull keeps nothing: no record, layer, blob or temporary. */
static void assert_nothing_kept(struct fixture *f)
{
  struct mascri_image_info **list = NULL;
  size_t n = 1;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_image_list(f->store, &list, &n, &err), 0);
  mascri_image_info_list_free(list, n);
  assert_int_equal(n, 0);
  assert_int_equal(count(f, "images"), 0);
  assert_int_equal(count(f, "layers"), 0);
  assert_int_equal(count(f, "blobs/sha256"), 0);
  assert_int_equal(count(f, "tmp"), 0);
}

static void assert_pulled(struct fixture *f, const char *id)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_image_info_ struct mascri_image_info *info = NULL;
  assert_string_equal(id, f->config_digest);
  assert_int_equal(mascri_image_lookup(f->store, f->ref, &info, &err), 0);
  assert_string_equal(info->id, f->config_digest);
  assert_int_equal(mascri_strv_length(info->layers), 1);
  assert_string_equal(info->layers[0], f->layer_digest); /* one layer: chain ID = diff ID */
  _cleanup_free_ char *digested =
      xasprintf("127.0.0.1:%d/" REPO "@%s", f->reg.port, f->manifest_digest);
  assert_true(mascri_strv_contains(info->repo_digests, digested));
  _cleanup_free_ char *file =
      xasprintf("%s/layers/%s/diff/hello", f->dir, f->layer_digest + strlen("sha256:"));
  _cleanup_free_ char *data = NULL;
  size_t len;
  assert_int_equal(mascri_read_file(file, &data, &len, &err), 0);
  assert_string_equal(data, "pulled over HTTP\n");
}

static void expect_refused(struct fixture *f, const char *ref, mascri_error_kind_t kind,
                           const char *words)
{
  _cleanup_error_ mascri_error_t err = NULL;
  char *id = NULL;
  assert_int_equal(pull(f, ref, &id, &err), -1);
  assert_null(id);
  if (mascri_error_kind(&err) != kind || !strstr(mascri_error_message(&err), words))
    fail_msg("expected %s with \"%s\", got %s: %s", mascri_error_kind_name(kind), words,
             mascri_error_kind_name(mascri_error_kind(&err)), mascri_error_message(&err));
  assert_nothing_kept(f);
}

/* --- tests --- */

static void pull_ok(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = NULL, *again = NULL;
  if (pull(f, f->ref, &id, &err) < 0)
    fail_msg("pull: %s", mascri_error_message(&err));
  assert_pulled(f, id);
  assert_int_equal(f->layer->hits, 1);
  /* a second pull finds the layer in the store and does not download it */
  assert_int_equal(pull(f, f->ref, &again, &err), 0);
  assert_string_equal(again, id);
  assert_int_equal(f->layer->hits, 1);
  assert_int_equal(count(f, "tmp"), 0);
}

static void pull_by_digest_ok(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_free_ char *ref = xasprintf("127.0.0.1:%d/" REPO "@%s", f->reg.port, f->manifest_digest);
  if (pull(f, ref, &id, &err) < 0)
    fail_msg("pull: %s", mascri_error_message(&err));
  assert_string_equal(id, f->config_digest);
  assert_int_equal(f->manifest_by_digest->hits, 1);
  assert_int_equal(f->manifest->hits, 0);
}

/* A manifest whose bytes do not hash to the digest asked for. */
static void manifest_digest_mismatch_refused(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *ref = xasprintf("127.0.0.1:%d/" REPO "@%s", f->reg.port, f->manifest_digest);
  f->manifest_by_digest->mode = BODY_WRONG_DATA;
  expect_refused(f, ref, MASCRI_ERR_INVALID_ARGUMENT, "manifest digest mismatch");
}

static void config_digest_mismatch_refused(void **state)
{
  struct fixture *f = *state;
  f->config->mode = BODY_WRONG_DATA;
  expect_refused(f, f->ref, MASCRI_ERR_INVALID_ARGUMENT, "config digest mismatch");
  assert_int_equal(f->layer->hits, 0); /* refused before any layer is fetched */
}

static void layer_digest_mismatch_refused(void **state)
{
  struct fixture *f = *state;
  f->layer->mode = BODY_WRONG_DATA;
  expect_refused(f, f->ref, MASCRI_ERR_INVALID_ARGUMENT, "digest mismatch");
}

static void oversized_manifest_refused(void **state)
{
  struct fixture *f = *state;
  f->manifest->mode = BODY_OVERSIZED;
  expect_refused(f, f->ref, MASCRI_ERR_RESOURCE_EXHAUSTED, "");
  assert_int_equal(f->config->hits, 0);
}

/* A layer body that ends early without the server saying so (no Content-Length) is
 * refused on its size and digest, and not retried as if the network had failed. */
static void truncated_layer_refused(void **state)
{
  struct fixture *f = *state;
  f->layer->mode = BODY_SHORT;
  expect_refused(f, f->ref, MASCRI_ERR_INVALID_ARGUMENT, "digest mismatch");
  assert_int_equal(f->layer->hits, 1);
}

/* A layer transfer cut in the middle (fewer bytes than Content-Length) is resumed with a
 * Range request and the layer ends up whole. */
static void cut_layer_resumed(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = NULL;
  f->layer->mode = BODY_CUT_ONCE;
  if (pull(f, f->ref, &id, &err) < 0)
    fail_msg("pull: %s", mascri_error_message(&err));
  assert_pulled(f, id);
  assert_int_equal(f->layer->hits, 2);
  assert_int_equal(f->reg.range_requests, 1);
}

static void missing_image_not_found(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *ref = xasprintf("127.0.0.1:%d/" REPO ":nope", f->reg.port);
  expect_refused(f, ref, MASCRI_ERR_NOT_FOUND, "not found");
}

/* 401 with a Bearer challenge: the client asks the realm for a token with the
 * repository's pull scope, then retries with it; the token is reused for the blobs. */
static void bearer_token_flow(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = NULL;
  f->reg.bearer = true;
  if (pull(f, f->ref, &id, &err) < 0)
    fail_msg("pull: %s", mascri_error_message(&err));
  assert_pulled(f, id);
  assert_int_equal(f->reg.token_requests, 1);
  assert_non_null(strstr(f->reg.token_query, "service=fake"));
  assert_non_null(strstr(f->reg.token_query, "scope=repository%3Atest%2Fapp%3Apull"));
}

/* A token the registry does not accept: PERMISSION_DENIED, not a loop of token requests. */
static void bearer_token_refused(void **state)
{
  struct fixture *f = *state;
  f->reg.bearer = true;
  f->reg.granted = "bad-token";
  expect_refused(f, f->ref, MASCRI_ERR_PERMISSION_DENIED, "denied");
  assert_int_equal(f->reg.token_requests, 1);
  assert_int_equal(f->manifest->hits, 0);
}

struct puller {
  struct fixture *f;
  int result;
  char *id;
};

static void *pull_main(void *arg)
{
  struct puller *p = arg;
  _cleanup_error_ mascri_error_t err = NULL;
  p->result = pull(p->f, p->f->ref, &p->id, &err);
  if (p->result < 0)
    print_error("pull: %s\n", mascri_error_message(&err));
  return NULL;
}

/* Pulls of one image at once: all succeed, and the layer is downloaded once. */
static void concurrent_pulls_download_once(void **state)
{
  struct fixture *f = *state;
  struct puller p[3];
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    p[i] = (struct puller){f, -1, NULL};
    assert_int_equal(pthread_create(&th[i], NULL, pull_main, &p[i]), 0);
  }
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(p[i].result, 0);
    assert_string_equal(p[i].id, f->config_digest);
  }
  for (int i = 0; i < 3; i++)
    free(p[i].id);
  assert_pulled(f, f->config_digest);
  assert_int_equal(f->layer->hits, 1);
  assert_int_equal(count(f, "tmp"), 0);
}

/* A port nothing listens on (bound once, then closed). */
static int dead_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* A configured mirror that cannot be reached: the registry itself serves the pull. */
static void unreachable_mirror_skipped(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_free_ char *host = xasprintf("127.0.0.1:%d", f->reg.port);
  _cleanup_free_ char *mirror = xasprintf("http://127.0.0.1:%d", dead_port());
  const char *mirrors[] = {mirror, NULL};
  struct mascri_registry_host h = {.host = host, .mirrors = mirrors};
  f->cfg.hosts = &h;
  f->cfg.n_hosts = 1;
  if (pull(f, f->ref, &id, &err) < 0)
    fail_msg("pull: %s", mascri_error_message(&err));
  assert_pulled(f, id);
  assert_int_equal(f->manifest->hits, 1);
  assert_int_equal(f->layer->hits, 1);
}

/* The client alone: get_blob is bounded by its max. */
static void get_blob_bounded(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_reference_ struct mascri_reference ref = {0};
  _cleanup_registry_client_ mascri_registry_client_t *c = NULL;
  _cleanup_free_ char *buf = NULL;
  size_t len;
  assert_int_equal(mascri_reference_parse(f->ref, &ref, &err), 0);
  assert_int_equal(mascri_registry_client_new(&ref, NULL, &f->cfg, &c, &err), 0);
  assert_int_equal(mascri_registry_get_blob(c, f->config_digest, 1 << 20, &buf, &len, &err), 0);
  assert_int_equal(len, f->config->len);
  assert_memory_equal(buf, f->config->data, len);
  free(TAKE_PTR(buf));
  assert_int_equal(
      mascri_registry_get_blob(c, f->config_digest, f->config->len - 1, &buf, &len, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_RESOURCE_EXHAUSTED);
  assert_null(buf);
}

int main(void)
{
  /* the fake registry is on loopback: no proxy from the environment in between */
  setenv("no_proxy", "*", 1);
  setenv("NO_PROXY", "*", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(pull_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(pull_by_digest_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(manifest_digest_mismatch_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(config_digest_mismatch_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(layer_digest_mismatch_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(oversized_manifest_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(truncated_layer_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(cut_layer_resumed, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_image_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(bearer_token_flow, setup, teardown),
      cmocka_unit_test_setup_teardown(bearer_token_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_pulls_download_once, setup, teardown),
      cmocka_unit_test_setup_teardown(unreachable_mirror_skipped, setup, teardown),
      cmocka_unit_test_setup_teardown(get_blob_bounded, setup, teardown),
  };
  return cmocka_run_group_tests_name("image-registry", tests, NULL, NULL);
}
