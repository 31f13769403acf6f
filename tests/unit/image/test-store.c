/* The image store on a scratch root: blobs, layers and image records put, read back and
 * removed; refused content leaves nothing behind; the states a crash between the store's
 * steps leaves are repaired (or hidden) when the store is opened again. Images enter
 * through mascri_image_import (a docker-archive made here), the store's network-free way
 * in, so layers are unpacked and committed exactly as in a pull. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/store-internal.h"

#define TAG_A "example.com/app:v1"

/* --- tar building --- */

struct tarw {
  struct archive *a;
  int fd;
};

static struct tarw tar_new(void)
{
  struct tarw t = {archive_write_new(), memfd_create("tar", MFD_CLOEXEC)};
  assert_true(t.fd >= 0);
  archive_write_set_format_pax_restricted(t.a);
  archive_write_set_bytes_in_last_block(t.a, 1);
  assert_int_equal(archive_write_open_fd(t.a, t.fd), ARCHIVE_OK);
  return t;
}

static void tar_file(struct tarw *t, const char *path, const void *data, size_t len)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 1700000000, 0);
  archive_entry_set_size(e, (la_int64_t)len);
  assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
  archive_entry_free(e);
}

static void tar_symlink(struct tarw *t, const char *path, const char *target)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFLNK);
  archive_entry_set_perm(e, 0777);
  archive_entry_set_symlink(e, target);
  assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
  archive_entry_free(e);
}

/* Closes the writer; returns the fd rewound. */
static int tar_done(struct tarw *t)
{
  assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
  archive_write_free(t->a);
  assert_int_equal(lseek(t->fd, 0, SEEK_SET), 0);
  return t->fd;
}

/* The whole tar as bytes. */
static char *tar_bytes(struct tarw *t, size_t *len)
{
  _cleanup_close_ int fd = tar_done(t);
  _cleanup_error_ mascri_error_t err = NULL;
  char *buf = NULL;
  assert_int_equal(mascri_read_all(fd, &buf, len, &err), 0);
  return buf;
}

/* A layer holding one file "name" with content. */
static char *layer_one_file(const char *name, const char *content, size_t *len)
{
  struct tarw t = tar_new();
  tar_file(&t, name, content, strlen(content));
  return tar_bytes(&t, len);
}

/* A docker-archive with one image: the layer, a config listing diff_id (NULL: the layer's
 * own), the tag. Returns the archive's fd; *config_id gets the image id when not NULL. */
static int docker_archive(const char *layer, size_t layer_len, const char *diff_id, const char *tag,
                          char **config_id)
{
  _cleanup_free_ char *own = mascri_digest_buffer(layer, layer_len);
  _cleanup_free_ char *config =
      xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/hello\"]},"
                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                diff_id ? diff_id : own);
  _cleanup_free_ char *manifest = xasprintf(
      "[{\"Config\":\"config.json\",\"RepoTags\":[\"%s\"],\"Layers\":[\"l0/layer.tar\"]}]", tag);
  struct tarw t = tar_new();
  tar_file(&t, "manifest.json", manifest, strlen(manifest));
  tar_file(&t, "config.json", config, strlen(config));
  tar_file(&t, "l0/layer.tar", layer, layer_len);
  if (config_id)
    *config_id = mascri_digest_buffer(config, strlen(config));
  return tar_done(&t);
}

/* --- fixture --- */

struct fixture {
  char *dir;  /* scratch dir */
  char *root; /* dir/store */
  mascri_image_store_t *s;
};

static void store_reopen(struct fixture *f)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_image_store_close(f->s);
  f->s = NULL;
  if (mascri_image_store_open(f->root, &f->s, &err) < 0)
    fail_msg("open: %s", mascri_error_message(&err));
}

static int setup(void **state)
{
  struct fixture *f = xmalloc0(sizeof(*f));
  char tmpl[] = "/tmp/mascri-test-store-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  f->dir = xstrdup(tmpl);
  f->root = xasprintf("%s/store", tmpl);
  store_reopen(f);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_image_store_close(f->s);
  mascri_rm_rf(f->dir, &err);
  free(f->dir);
  free(f->root);
  free(f);
  return 0;
}

static char *at(struct fixture *f, const char *rel)
{
  return xasprintf("%s/%s", f->root, rel);
}

static bool exists(struct fixture *f, const char *rel)
{
  struct stat st;
  _cleanup_free_ char *p = at(f, rel);
  return lstat(p, &st) == 0;
}

/* Entries of a store directory, "." and ".." aside. */
static size_t count(struct fixture *f, const char *rel)
{
  _cleanup_free_ char *p = at(f, rel);
  DIR *d = opendir(p);
  size_t n = 0;
  assert_non_null(d);
  for (struct dirent *de; (de = readdir(d));)
    n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void write_at(struct fixture *f, const char *rel, const char *data)
{
  _cleanup_free_ char *p = at(f, rel);
  FILE *fp = fopen(p, "we");
  assert_non_null(fp);
  fputs(data, fp);
  assert_int_equal(fclose(fp), 0);
}

static void mkdir_at(struct fixture *f, const char *rel)
{
  _cleanup_free_ char *p = at(f, rel);
  assert_int_equal(mkdir(p, 0755), 0);
}

/* A pid no process has: a child that has been reaped. */
static pid_t dead_pid(void)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(0);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  return pid;
}

/* Imports an archive; returns the import's result, *id the single image id on success. */
static int import(struct fixture *f, int fd, char **id, mascri_error_t *err)
{
  _cleanup_strv_ char **ids = NULL;
  int r = mascri_image_import(f->s, fd, &ids, err);
  close(fd);
  if (r == 0) {
    assert_int_equal(mascri_strv_length(ids), 1);
    if (id)
      *id = xstrdup(ids[0]);
  }
  return r;
}

/* Imports a one-layer image whose file hello holds content, tagged tag. */
static char *import_ok(struct fixture *f, const char *content, const char *tag)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *layer = NULL, *want = NULL;
  size_t len;
  char *id = NULL;
  layer = layer_one_file("hello", content, &len);
  if (import(f, docker_archive(layer, len, NULL, tag, &want), &id, &err) < 0)
    fail_msg("import: %s", mascri_error_message(&err));
  assert_string_equal(id, want);
  return id;
}

/* The image's single layer directory, "layers/<hex>". */
static char *layer_dir(struct fixture *f, const char *name)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_image_info_ struct mascri_image_info *info = NULL;
  assert_int_equal(mascri_image_lookup(f->s, name, &info, &err), 0);
  assert_int_equal(mascri_strv_length(info->layers), 1);
  return xasprintf("layers/%s", digest_hex(info->layers[0]));
}

static void assert_not_found(struct fixture *f, const char *name)
{
  _cleanup_error_ mascri_error_t err = NULL;
  struct mascri_image_info *info = NULL;
  assert_int_equal(mascri_image_lookup(f->s, name, &info, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
  assert_null(info);
}

static size_t n_images(struct fixture *f)
{
  _cleanup_error_ mascri_error_t err = NULL;
  struct mascri_image_info **list = NULL;
  size_t n = 0;
  assert_int_equal(mascri_image_list(f->s, &list, &n, &err), 0);
  mascri_image_info_list_free(list, n);
  return n;
}

/* Nothing of any image is left: no record, layer, link, blob or temporary. */
static void assert_store_empty(struct fixture *f)
{
  assert_int_equal(count(f, "images"), 0);
  assert_int_equal(count(f, "layers"), 0);
  assert_int_equal(count(f, "l"), 0);
  assert_int_equal(count(f, "blobs/sha256"), 0);
  assert_int_equal(count(f, "tmp"), 0);
}

/* --- blobs --- */

static void blob_put_get_round_trip(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  static const char data[] = "{\"schemaVersion\":2}";
  _cleanup_free_ char *d = mascri_digest_buffer(data, strlen(data));
  _cleanup_free_ char *got = NULL;
  size_t len;
  assert_false(blob_exists(f->s, d));
  assert_int_equal(blob_put(f->s, d, data, strlen(data), &err), 0);
  assert_true(blob_exists(f->s, d));
  /* a second put of the same content is a no-op */
  assert_int_equal(blob_put(f->s, d, data, strlen(data), &err), 0);
  assert_int_equal(count(f, "blobs/sha256"), 1);
  assert_int_equal(blob_get(f->s, d, &got, &len, &err), 0);
  assert_int_equal(len, strlen(data));
  assert_memory_equal(got, data, len);
}

static void blob_digest_mismatch_refused(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *other = mascri_digest_buffer("other", 5);
  assert_int_equal(blob_put(f->s, other, "content", 7, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "digest mismatch"));
  assert_false(blob_exists(f->s, other));
  assert_int_equal(count(f, "blobs/sha256"), 0);
}

static void blob_corrupt_on_disk_refused(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *d = mascri_digest_buffer("content", 7);
  _cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", digest_hex(d));
  char *got = NULL;
  size_t len;
  assert_int_equal(blob_put(f->s, d, "content", 7, &err), 0);
  write_at(f, rel, "CONTENT");
  assert_int_equal(blob_get(f->s, d, &got, &len, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INTERNAL);
  assert_null(got);
}

/* --- images and layers --- */

static void import_lookup_reopen_remove(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = import_ok(f, "hello world\n", TAG_A);
  _cleanup_free_ char *ldir = layer_dir(f, TAG_A);
  _cleanup_free_ char *json = xasprintf("%s/layer.json", ldir);
  _cleanup_free_ char *file = xasprintf("%s/diff/hello", ldir);
  _cleanup_free_ char *path = at(f, file);
  _cleanup_free_ char *data = NULL;
  size_t len;

  assert_true(exists(f, json));
  assert_int_equal(mascri_read_file(path, &data, &len, &err), 0);
  assert_string_equal(data, "hello world\n");
  assert_int_equal(count(f, "l"), 1);
  assert_int_equal(count(f, "images"), 1);
  assert_int_equal(count(f, "tmp"), 0);

  /* everything is found again by a new open, by tag, id and short id */
  store_reopen(f);
  {
    _cleanup_image_info_ struct mascri_image_info *info = NULL;
    _cleanup_free_ char *short_id = xstrndup(digest_hex(id), 12);
    assert_int_equal(mascri_image_lookup(f->s, TAG_A, &info, &err), 0);
    assert_string_equal(info->id, id);
    assert_int_equal(info->size, strlen("hello world\n"));
    assert_string_equal(info->cmd[0], "/hello");
    mascri_image_info_free(TAKE_PTR(info));
    assert_int_equal(mascri_image_lookup(f->s, short_id, &info, &err), 0);
    assert_string_equal(info->id, id);
  }

  assert_int_equal(mascri_image_remove(f->s, TAG_A, 0, &err), 0);
  assert_not_found(f, TAG_A);
  assert_not_found(f, id);
  assert_store_empty(f);
  store_reopen(f);
  assert_not_found(f, id);
}

static void diff_id_mismatch_leaves_nothing(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *layer = NULL;
  _cleanup_free_ char *wrong = mascri_digest_buffer("not the layer", 13);
  size_t len;
  layer = layer_one_file("hello", "hi\n", &len);
  assert_int_equal(import(f, docker_archive(layer, len, wrong, TAG_A, NULL), NULL, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "diff ID"));
  assert_not_found(f, TAG_A);
  assert_store_empty(f);
}

/* A layer entry leaving the layer is refused and nothing of that layer is kept; the file
 * it aimed at does not appear. */
static void escaping_layer_refused(struct fixture *f, const char *layer, size_t len,
                                   const char *target)
{
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(import(f, docker_archive(layer, len, NULL, TAG_A, NULL), NULL, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_false(mascri_path_exists(target));
  assert_not_found(f, TAG_A);
  assert_store_empty(f);
}

static void layer_escapes_refused(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *outside = xasprintf("%s/outside", f->dir);
  _cleanup_free_ char *target = xasprintf("%s/evil", outside);
  _cleanup_free_ char *target2 = xasprintf("%s/evil", f->root);
  assert_int_equal(mkdir(outside, 0755), 0);
  {
    struct tarw t = tar_new();
    size_t len;
    tar_file(&t, "ok", "x", 1);
    tar_file(&t, "../../evil", "x", 1);
    _cleanup_free_ char *layer = tar_bytes(&t, &len);
    escaping_layer_refused(f, layer, len, target2);
  }
  {
    struct tarw t = tar_new();
    size_t len;
    tar_symlink(&t, "link", outside);
    tar_file(&t, "link/evil", "x", 1);
    _cleanup_free_ char *layer = tar_bytes(&t, &len);
    escaping_layer_refused(f, layer, len, target);
  }
  {
    struct tarw t = tar_new();
    size_t len;
    tar_file(&t, target, "x", 1);
    _cleanup_free_ char *layer = tar_bytes(&t, &len);
    escaping_layer_refused(f, layer, len, target);
  }
}

/* Importing the same tag again moves it; the first image keeps existing untagged. */
static void tag_moves_to_newer_import(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *a = import_ok(f, "a\n", TAG_A);
  _cleanup_free_ char *b = import_ok(f, "b\n", TAG_A);
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_image_info_ struct mascri_image_info *info = NULL;
  assert_string_not_equal(a, b);
  assert_int_equal(mascri_image_lookup(f->s, TAG_A, &info, &err), 0);
  assert_string_equal(info->id, b);
  mascri_image_info_free(TAKE_PTR(info));
  assert_int_equal(mascri_image_lookup(f->s, a, &info, &err), 0);
  assert_int_equal(mascri_strv_length(info->repo_tags), 0);
  assert_int_equal(n_images(f), 2);
}

struct racer {
  struct fixture *f;
  const char *layer;
  size_t len;
  const char *tag;
  int result;
  char *id;
};

static void *import_main(void *arg)
{
  struct racer *r = arg;
  _cleanup_error_ mascri_error_t err = NULL;
  r->result = import(r->f, docker_archive(r->layer, r->len, NULL, r->tag, NULL), &r->id, &err);
  if (r->result < 0)
    print_error("%s: %s\n", r->tag, mascri_error_message(&err));
  return NULL;
}

/* Two imports of images sharing a layer at once: both succeed, the layer is made once and
 * nothing is left in tmp/. */
static void concurrent_imports_share_layer(void **state)
{
  struct fixture *f = *state;
  size_t len;
  _cleanup_free_ char *layer = layer_one_file("shared", "same bytes\n", &len);
  struct racer r[4];
  pthread_t th[4];
  static const char *const tags[] = {"example.com/a:1", "example.com/b:1", "example.com/c:1",
                                     "example.com/d:1"};
  for (int i = 0; i < 4; i++) {
    r[i] = (struct racer){f, layer, len, tags[i], -1, NULL};
    assert_int_equal(pthread_create(&th[i], NULL, import_main, &r[i]), 0);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(r[i].result, 0);
    assert_string_equal(r[i].id, r[0].id); /* same config: one image with four tags */
  }
  for (int i = 0; i < 4; i++)
    free(r[i].id);
  assert_int_equal(count(f, "layers"), 1);
  assert_int_equal(count(f, "l"), 1);
  assert_int_equal(count(f, "images"), 1);
  assert_int_equal(count(f, "tmp"), 0);
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_image_info_ struct mascri_image_info *info = NULL;
  assert_int_equal(mascri_image_lookup(f->s, tags[3], &info, &err), 0);
  assert_int_equal(mascri_strv_length(info->repo_tags), 4);
}

/* A container rootfs keeps its image and layers: removal is refused, and a forced one
 * removes the record but not the layer the rootfs needs. */
static void rootfs_keeps_layers(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = import_ok(f, "in use\n", TAG_A);
  _cleanup_free_ char *ldir = layer_dir(f, TAG_A);
  assert_int_equal(mascri_image_rootfs_create(f->s, "ctr1", TAG_A, &err), 0);
  assert_int_equal(mascri_image_remove(f->s, TAG_A, 0, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_FAILED_PRECONDITION);
  mascri_error_release(&err);
  assert_int_equal(mascri_image_remove(f->s, id, MASCRI_IMAGE_REMOVE_FORCE, &err), 0);
  assert_not_found(f, id);
  assert_true(exists(f, ldir));
  assert_int_equal(mascri_image_rootfs_remove(f->s, "ctr1", &err), 0);
  assert_int_equal(mascri_image_prune(f->s, NULL, &err), 0);
  assert_false(exists(f, ldir));
}

/* --- crash points: what a killed process leaves, and the next open --- */

/* Partial unpacks, layers half-deleted by GC and interrupted atomic writes of dead
 * processes go; those of a live process (here: this one) stay. */
static void open_cleans_dead_leftovers(void **state)
{
  struct fixture *f = *state;
  pid_t dead = dead_pid();
  _cleanup_free_ char *tmp_layer = xasprintf("tmp/layer-%d-abcdef", (int)dead);
  _cleanup_free_ char *tmp_diff = xasprintf("%s/diff", tmp_layer);
  _cleanup_free_ char *tmp_file = xasprintf("%s/partial", tmp_diff);
  _cleanup_free_ char *tmp_gc = xasprintf("tmp/gc-%d-%064d", (int)dead, 0);
  _cleanup_free_ char *blob_tmp = xasprintf("blobs/sha256/.%064d.tmp.%d", 1, (int)dead);
  _cleanup_free_ char *rec_tmp = xasprintf("images/.%064d.json.tmp.%d", 2, (int)dead);
  _cleanup_free_ char *live = xasprintf("tmp/layer-%d-live", (int)getpid());
  _cleanup_free_ char *live_tmp = xasprintf("images/.%064d.json.tmp.%d", 3, (int)getpid());
  mkdir_at(f, tmp_layer);
  mkdir_at(f, tmp_diff);
  write_at(f, tmp_file, "half a file");
  mkdir_at(f, tmp_gc);
  write_at(f, blob_tmp, "{\"half");
  write_at(f, rec_tmp, "{\"id\":");
  mkdir_at(f, live);
  write_at(f, live_tmp, "{");

  store_reopen(f);
  assert_false(exists(f, tmp_layer));
  assert_false(exists(f, tmp_gc));
  assert_false(exists(f, blob_tmp));
  assert_false(exists(f, rec_tmp));
  assert_true(exists(f, live));
  assert_true(exists(f, live_tmp));
  assert_int_equal(n_images(f), 0);
}

/* Killed between making the short link and renaming the layer into layers/: the link
 * dangles and goes at the next open. A committed layer whose link went missing gets it
 * back. */
static void open_repairs_links(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *id = import_ok(f, "linked\n", TAG_A);
  _cleanup_free_ char *ldir = layer_dir(f, TAG_A);
  _cleanup_free_ char *link_rel = xasprintf("%s/link", ldir);
  _cleanup_free_ char *link_path = at(f, link_rel);
  _cleanup_free_ char *link = NULL, *l = NULL, *l_path = NULL, *dangling = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  size_t len;
  assert_int_equal(mascri_read_file(link_path, &link, &len, &err), 0);
  l = xasprintf("l/%s", link);
  l_path = at(f, l);
  dangling = at(f, "l/AAAAAAAAAAAAAAAAAAAA");
  assert_int_equal(symlink("../layers/00ff/diff", dangling), 0);
  assert_int_equal(unlink(l_path), 0);

  store_reopen(f);
  assert_false(exists(f, "l/AAAAAAAAAAAAAAAAAAAA"));
  assert_true(exists(f, l));
  {
    _cleanup_free_ char *hello = xasprintf("%s/hello", l_path);
    _cleanup_free_ char *data = NULL;
    assert_int_equal(mascri_read_file(hello, &data, &len, &err), 0);
    assert_string_equal(data, "linked\n");
  }
  assert_int_equal(count(f, "l"), 1);
}

/* An image record whose layer or config blob is missing (a crash, or a layer lost) is
 * never reported; pulling (here: importing) it again brings it back. */
static void record_with_missing_layer_hidden(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *id = import_ok(f, "gone\n", TAG_A);
  _cleanup_free_ char *ldir = layer_dir(f, TAG_A);
  _cleanup_free_ char *lpath = at(f, ldir);
  assert_int_equal(mascri_rm_rf(lpath, &err), 0);

  store_reopen(f);
  assert_not_found(f, TAG_A);
  assert_not_found(f, id);
  assert_int_equal(n_images(f), 0);
  assert_int_equal(count(f, "l"), 0); /* its link dangled */

  _cleanup_free_ char *again = import_ok(f, "gone\n", TAG_A);
  assert_string_equal(again, id);
  assert_int_equal(n_images(f), 1);
  assert_true(exists(f, ldir));
}

static void record_with_missing_config_hidden(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *id = import_ok(f, "cfg\n", TAG_A);
  _cleanup_free_ char *blob = xasprintf("blobs/sha256/%s", digest_hex(id));
  _cleanup_free_ char *bpath = at(f, blob);
  assert_int_equal(unlink(bpath), 0);
  store_reopen(f);
  assert_not_found(f, TAG_A);
  assert_int_equal(n_images(f), 0);
}

/* A layer directory without its commit record (layer.json): the layer is not there, the
 * image using it is hidden, the directory goes at open, and making the layer again
 * succeeds (the directory used to block the commit's rename with ENOTEMPTY). */
static void uncommitted_layer_dir_not_present(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *id = import_ok(f, "uncommitted\n", TAG_A);
  _cleanup_free_ char *ldir = layer_dir(f, TAG_A);
  _cleanup_free_ char *json = xasprintf("%s/layer.json", ldir);
  _cleanup_free_ char *jpath = at(f, json);
  assert_int_equal(unlink(jpath), 0);

  store_reopen(f);
  assert_not_found(f, TAG_A);
  assert_int_equal(n_images(f), 0);
  assert_false(exists(f, ldir)); /* removed at open, its short link with it */
  assert_int_equal(count(f, "l"), 0);
  assert_int_equal(count(f, "tmp"), 0);

  _cleanup_free_ char *again = import_ok(f, "uncommitted\n", TAG_A);
  assert_string_equal(again, id);
  assert_true(exists(f, json));
  assert_int_equal(count(f, "layers"), 1);
  assert_int_equal(count(f, "tmp"), 0);
}

/* Killed during a tag move, after the new owner's record was written and before the old
 * owner's was: both records name the tag. The newer keeps it at the next open, and the
 * older is rewritten without it. */
static void duplicate_tag_newer_wins(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *a = import_ok(f, "first\n", TAG_A);
  _cleanup_free_ char *a_rel = xasprintf("images/%s.json", digest_hex(a));
  _cleanup_free_ char *a_path = at(f, a_rel);
  _cleanup_free_ char *a_saved = NULL, *a_after = NULL;
  size_t len;
  assert_int_equal(mascri_read_file(a_path, &a_saved, &len, &err), 0);
  assert_non_null(strstr(a_saved, TAG_A));
  _cleanup_free_ char *b = import_ok(f, "second\n", TAG_A);
  write_at(f, a_rel, a_saved); /* the old owner's write never happened */

  store_reopen(f);
  {
    _cleanup_image_info_ struct mascri_image_info *info = NULL;
    assert_int_equal(mascri_image_lookup(f->s, TAG_A, &info, &err), 0);
    assert_string_equal(info->id, b);
  }
  assert_int_equal(mascri_read_file(a_path, &a_after, &len, &err), 0);
  assert_null(strstr(a_after, TAG_A));
  assert_int_equal(n_images(f), 2);
}

/* A record that is not JSON (a torn write on a filesystem without atomic rename) is
 * skipped; the other images load. */
static void garbage_record_skipped(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *id = import_ok(f, "fine\n", TAG_A);
  _cleanup_free_ char *bad = xasprintf("images/%064d.json", 7);
  write_at(f, bad, "{\"id\": \"sha256:");
  store_reopen(f);
  assert_int_equal(n_images(f), 1);
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_image_info_ struct mascri_image_info *info = NULL;
  assert_int_equal(mascri_image_lookup(f->s, TAG_A, &info, &err), 0);
  assert_string_equal(info->id, id);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(blob_put_get_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(blob_digest_mismatch_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(blob_corrupt_on_disk_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(import_lookup_reopen_remove, setup, teardown),
      cmocka_unit_test_setup_teardown(diff_id_mismatch_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(layer_escapes_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(tag_moves_to_newer_import, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_imports_share_layer, setup, teardown),
      cmocka_unit_test_setup_teardown(rootfs_keeps_layers, setup, teardown),
      cmocka_unit_test_setup_teardown(open_cleans_dead_leftovers, setup, teardown),
      cmocka_unit_test_setup_teardown(open_repairs_links, setup, teardown),
      cmocka_unit_test_setup_teardown(record_with_missing_layer_hidden, setup, teardown),
      cmocka_unit_test_setup_teardown(record_with_missing_config_hidden, setup, teardown),
      cmocka_unit_test_setup_teardown(uncommitted_layer_dir_not_present, setup, teardown),
      cmocka_unit_test_setup_teardown(duplicate_tag_newer_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(garbage_record_skipped, setup, teardown),
  };
  return cmocka_run_group_tests_name("image-store", tests, NULL, NULL);
}
