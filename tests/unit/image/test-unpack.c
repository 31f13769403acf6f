#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/unpack.h"

/* A tar made entry by entry with libarchive into a memfd. */
struct tarw {
  struct archive *a;
  int fd;
};

static struct tarw tar_new(const char *filter)
{
  struct tarw t = {archive_write_new(), memfd_create("layer", MFD_CLOEXEC)};
  archive_write_set_format_pax_restricted(t.a);
  if (filter && strcmp(filter, "gzip") == 0)
    archive_write_add_filter_gzip(t.a);
  else if (filter && strcmp(filter, "zstd") == 0)
    archive_write_add_filter_zstd(t.a);
  archive_write_set_bytes_in_last_block(t.a, 1);
  assert_int_equal(archive_write_open_fd(t.a, t.fd), ARCHIVE_OK);
  return t;
}

static void tar_add(struct tarw *t, const char *path, mode_t type, mode_t mode, const char *data,
                    const char *link)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, mode);
  archive_entry_set_mtime(e, 1700000000, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  if (type == AE_IFREG)
    archive_entry_set_size(e, data ? strlen(data) : 0);
  if (type == AE_IFLNK)
    archive_entry_set_symlink(e, link);
  if (type == AE_IFREG && link) {
    archive_entry_set_hardlink(e, link);
    archive_entry_set_size(e, 0);
  }
  assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
  if (type == AE_IFREG && data && !link)
    archive_write_data(t->a, data, strlen(data));
  archive_entry_free(e);
}

/* Closes the writer; returns the fd rewound for reading. */
static int tar_done(struct tarw *t)
{
  archive_write_close(t->a);
  archive_write_free(t->a);
  lseek(t->fd, 0, SEEK_SET);
  return t->fd;
}

struct fixture {
  char *dir;   /* scratch dir */
  char *layer; /* dir/layer */
  int layer_fd;
};

static int setup(void **state)
{
  struct fixture *f = xmalloc0(sizeof(*f));
  char tmpl[] = "/tmp/mascri-test-unpack-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  f->dir = xstrdup(tmpl);
  f->layer = xasprintf("%s/layer", tmpl);
  assert_int_equal(mkdir(f->layer, 0755), 0);
  f->layer_fd = open(f->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  close(f->layer_fd);
  mascri_rm_rf(f->dir, &err);
  free(f->dir);
  free(f->layer);
  free(f);
  return 0;
}

static int unpack(struct fixture *f, int fd, mascri_error_t *err, char **diff_id)
{
  struct mascri_unpack_stats st = {0};
  int r = mascri_layer_unpack(fd, f->layer_fd, &st, err);
  if (diff_id)
    *diff_id = st.diff_id;
  else
    free(st.diff_id);
  close(fd);
  return r;
}

static bool exists_at(struct fixture *f, const char *rel)
{
  struct stat st;
  _cleanup_free_ char *p = xasprintf("%s/%s", f->dir, rel);
  return lstat(p, &st) == 0;
}

static void metadata_and_diff_id(void **state)
{
  struct fixture *f = *state;
  struct tarw t = tar_new("gzip");
  tar_add(&t, "./bin/", AE_IFDIR, 0755, NULL, NULL);
  tar_add(&t, "./bin/tool", AE_IFREG, 04755, "#!/bin/sh\n", NULL);
  tar_add(&t, "./bin/alias", AE_IFREG, 0644, NULL, "./bin/tool");
  tar_add(&t, "./bin/sh", AE_IFLNK, 0777, NULL, "/bin/busybox");
  tar_add(&t, "dev/null", AE_IFCHR, 0666, NULL, NULL);
  tar_add(&t, "implicit/parent/file", AE_IFREG, 0600, "x", NULL);
  int fd = tar_done(&t);
  /* the expected diff ID: sha256 of the decompressed stream */
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  struct archive_entry *e;
  assert_int_equal(archive_read_open_fd(a, fd, 4096), ARCHIVE_OK);
  assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
  mascri_digester_t *d = mascri_digester_new();
  char buf[4096];
  ssize_t n;
  while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
    mascri_digester_update(d, buf, n);
  archive_read_free(a);
  _cleanup_free_ char *want = mascri_digester_finish(d);
  mascri_digester_free(d);
  lseek(fd, 0, SEEK_SET);

  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *diff_id = NULL;
  assert_int_equal(unpack(f, fd, &err, &diff_id), 0);
  assert_string_equal(diff_id, want);
  struct stat st, st2;
  _cleanup_free_ char *tool = xasprintf("%s/bin/tool", f->layer);
  _cleanup_free_ char *alias = xasprintf("%s/bin/alias", f->layer);
  assert_int_equal(stat(tool, &st), 0);
  assert_int_equal(st.st_mode & 07777, 04755);
  assert_int_equal(st.st_mtime, 1700000000);
  assert_int_equal(stat(alias, &st2), 0);
  assert_int_equal(st.st_ino, st2.st_ino);
  _cleanup_free_ char *sh = xasprintf("%s/bin/sh", f->layer);
  char target[64] = "";
  assert_int_equal(readlink(sh, target, sizeof(target) - 1), 12);
  assert_string_equal(target, "/bin/busybox");
  _cleanup_free_ char *dev = xasprintf("%s/dev/null", f->layer);
  assert_int_equal(lstat(dev, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_true(exists_at(f, "layer/implicit/parent/file"));
  _cleanup_free_ char *bin = xasprintf("%s/bin", f->layer);
  assert_int_equal(stat(bin, &st), 0);
  assert_int_equal(st.st_mtime, 1700000000);
}

static void whiteouts_become_overlay_format(void **state)
{
  struct fixture *f = *state;
  struct tarw t = tar_new("zstd");
  tar_add(&t, "etc/", AE_IFDIR, 0755, NULL, NULL);
  tar_add(&t, "etc/.wh.passwd", AE_IFREG, 0600, NULL, NULL);
  tar_add(&t, "opq/", AE_IFDIR, 0755, NULL, NULL);
  tar_add(&t, "opq/.wh..wh..opq", AE_IFREG, 0600, NULL, NULL);
  tar_add(&t, "opq/new", AE_IFREG, 0644, "n", NULL);
  tar_add(&t, ".wh..wh.plnk", AE_IFREG, 0600, NULL, NULL);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(unpack(f, tar_done(&t), &err, NULL), 0);
  struct stat st;
  _cleanup_free_ char *wh = xasprintf("%s/etc/passwd", f->layer);
  assert_int_equal(lstat(wh, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_rdev, makedev(0, 0));
  assert_false(exists_at(f, "layer/etc/.wh.passwd"));
  assert_false(exists_at(f, "layer/opq/.wh..wh..opq"));
  assert_false(exists_at(f, "layer/.wh..wh.plnk"));
  _cleanup_free_ char *opq = xasprintf("%s/opq", f->layer);
  char v[4] = "";
  ssize_t n = lgetxattr(opq, "trusted.overlay.opaque", v, sizeof(v));
  if (n < 0 && (errno == EPERM || errno == ENOTSUP))
    skip();
  assert_int_equal(n, 1);
  assert_int_equal(v[0], 'y');
}

/* Each hostile layer is refused with INVALID_ARGUMENT and nothing lands outside. */
static void refuse(struct fixture *f, void (*build)(struct tarw *))
{
  struct tarw t = tar_new(NULL);
  build(&t);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(unpack(f, tar_done(&t), &err, NULL), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_false(exists_at(f, "evil"));
  assert_false(exists_at(f, "escaped"));
}

static void dotdot(struct tarw *t)
{
  tar_add(t, "a/../../evil", AE_IFREG, 0644, "x", NULL);
}
static void absolute(struct tarw *t)
{
  tar_add(t, "/tmp/evil", AE_IFREG, 0644, "x", NULL);
}
static void symlinked_parent(struct tarw *t)
{
  tar_add(t, "up", AE_IFLNK, 0777, NULL, "..");
  tar_add(t, "up/evil", AE_IFREG, 0644, "x", NULL);
}
static void symlinked_parent_abs(struct tarw *t)
{
  tar_add(t, "root", AE_IFLNK, 0777, NULL, "/");
  tar_add(t, "root/tmp/escaped", AE_IFREG, 0644, "x", NULL);
}
static void hardlink_out(struct tarw *t)
{
  tar_add(t, "pw", AE_IFREG, 0644, NULL, "../../../../etc/passwd");
}
static void hardlink_through_symlink(struct tarw *t)
{
  tar_add(t, "etc", AE_IFLNK, 0777, NULL, "/etc");
  tar_add(t, "pw", AE_IFREG, 0644, NULL, "etc/passwd");
}
static void hardlink_absolute(struct tarw *t)
{
  tar_add(t, "pw", AE_IFREG, 0644, NULL, "/etc/passwd");
}
static void bare_whiteout(struct tarw *t)
{
  tar_add(t, "dir/", AE_IFDIR, 0755, NULL, NULL);
  tar_add(t, "dir/.wh.", AE_IFREG, 0644, NULL, NULL);
}
static void whiteout_dotdot(struct tarw *t)
{
  tar_add(t, ".wh...", AE_IFREG, 0644, NULL, NULL);
}

static void refuses_escapes(void **state)
{
  struct fixture *f = *state;
  refuse(f, dotdot);
  refuse(f, absolute);
  refuse(f, symlinked_parent);
  refuse(f, symlinked_parent_abs);
  refuse(f, hardlink_out);
  refuse(f, hardlink_through_symlink);
  refuse(f, hardlink_absolute);
  refuse(f, bare_whiteout);
  refuse(f, whiteout_dotdot);
  assert_false(exists_at(f, "../escaped"));
}

static void symlink_then_file_replaces_link(void **state)
{
  /* A file entry over an earlier symlink replaces the link; it never writes through it. */
  struct fixture *f = *state;
  _cleanup_free_ char *outside = xasprintf("%s/outside", f->dir);
  struct tarw t = tar_new(NULL);
  tar_add(&t, "victim", AE_IFLNK, 0777, NULL, outside);
  tar_add(&t, "victim", AE_IFREG, 04777, "payload", NULL);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(unpack(f, tar_done(&t), &err, NULL), 0);
  assert_false(exists_at(f, "outside"));
  struct stat st;
  _cleanup_free_ char *v = xasprintf("%s/victim", f->layer);
  assert_int_equal(lstat(v, &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void replaced_directories_are_not_written_through(void **state)
{
  /* a dir, a file in it, the dir whited out and made again, a file in the new one */
  struct fixture *f = *state;
  struct tarw t = tar_new(NULL);
  tar_add(&t, "a/", AE_IFDIR, 0755, NULL, NULL);
  tar_add(&t, "a/x", AE_IFREG, 0644, "x", NULL);
  tar_add(&t, ".wh.a", AE_IFREG, 0644, NULL, NULL);
  tar_add(&t, "a/", AE_IFDIR, 0700, NULL, NULL);
  tar_add(&t, "a/y", AE_IFREG, 0644, "y", NULL);
  tar_add(&t, "b", AE_IFREG, 0644, "file", NULL);
  tar_add(&t, "b/", AE_IFDIR, 0755, NULL, NULL);
  tar_add(&t, "b/z", AE_IFREG, 0644, "z", NULL);
  tar_add(&t, "c", AE_IFLNK, 0777, NULL, "b");
  tar_add(&t, "c", AE_IFREG, 0600, "now a file", NULL);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(unpack(f, tar_done(&t), &err, NULL), 0);
  assert_false(exists_at(f, "layer/a/x"));
  assert_true(exists_at(f, "layer/a/y"));
  assert_true(exists_at(f, "layer/b/z"));
  struct stat st;
  _cleanup_free_ char *a = xasprintf("%s/a", f->layer);
  assert_int_equal(lstat(a, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0700);
  _cleanup_free_ char *cpath = xasprintf("%s/c", f->layer);
  assert_int_equal(lstat(cpath, &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void clean_path(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *a = mascri_unpack_clean_path("./a//b/./c/", &err);
  assert_string_equal(a, "a/b/c");
  _cleanup_free_ char *b = mascri_unpack_clean_path("./", &err);
  assert_string_equal(b, "");
  assert_null(mascri_unpack_clean_path("a/..", &err));
  assert_null(mascri_unpack_clean_path("/a", &err));
  _cleanup_free_ char *c = mascri_unpack_clean_path("a/..b/c..", &err);
  assert_string_equal(c, "a/..b/c..");
}

static void garbage_is_refused(void **state)
{
  struct fixture *f = *state;
  int fd = memfd_create("junk", MFD_CLOEXEC);
  char junk[4096];
  memset(junk, 'x', sizeof(junk));
  assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
  lseek(fd, 0, SEEK_SET);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(unpack(f, fd, &err, NULL), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(metadata_and_diff_id, setup, teardown),
      cmocka_unit_test_setup_teardown(whiteouts_become_overlay_format, setup, teardown),
      cmocka_unit_test_setup_teardown(refuses_escapes, setup, teardown),
      cmocka_unit_test_setup_teardown(symlink_then_file_replaces_link, setup, teardown),
      cmocka_unit_test_setup_teardown(replaced_directories_are_not_written_through, setup,
                                      teardown),
      cmocka_unit_test(clean_path),
      cmocka_unit_test_setup_teardown(garbage_is_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
