#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"

static int make_tmpdir(void **state)
{
  char tmpl[] = "/tmp/mascri-test-fs-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  *state = xstrdup(tmpl);
  return 0;
}

static int remove_tmpdir(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_rm_rf(*state, &err);
  free(*state);
  return 0;
}

static void atomic_write_replaces_and_leaves_no_temp(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *p = mascri_path_join(*state, "rec.json");
  assert_int_equal(mascri_write_file_atomic(p, "one", 3, 0600, &err), 0);
  assert_int_equal(mascri_write_file_atomic(p, "second", 6, 0640, &err), 0);
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  assert_int_equal(mascri_read_file(p, &buf, &len, &err), 0);
  assert_int_equal(len, 6);
  assert_string_equal(buf, "second");
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640);
  /* only the target is left in the directory */
  _cleanup_closedir_ DIR *d = opendir(*state);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
      n++;
  assert_int_equal(n, 1);
}

static void read_missing_file_is_not_found(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  char *buf = NULL;
  assert_true(mascri_read_file("/nonexistent/x", &buf, NULL, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
}

static void mkdir_p_and_rm_rf(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *p = mascri_path_join(*state, "a/b/c/");
  assert_int_equal(mascri_mkdir_p(p, 0755, &err), 0);
  assert_int_equal(mascri_mkdir_p(p, 0755, &err), 0);
  _cleanup_free_ char *f = mascri_path_join(*state, "a/b/file");
  assert_int_equal(mascri_write_file_atomic(f, "x", 1, 0600, &err), 0);
  _cleanup_free_ char *a = mascri_path_join(*state, "a");
  /* a symlink to outside must be removed, not followed */
  _cleanup_free_ char *outside = mascri_path_join(*state, "keep");
  assert_int_equal(mascri_mkdir_p(outside, 0755, &err), 0);
  _cleanup_free_ char *link = mascri_path_join(*state, "a/b/link");
  assert_int_equal(symlink(outside, link), 0);
  assert_int_equal(mascri_rm_rf(a, &err), 0);
  assert_false(mascri_path_exists(a));
  assert_true(mascri_path_exists(outside));
  assert_int_equal(mascri_rm_rf(a, &err), 0);
  /* mkdir over a file fails */
  _cleanup_free_ char *file = mascri_path_join(*state, "plain");
  assert_int_equal(mascri_write_file_atomic(file, "x", 1, 0600, &err), 0);
  assert_true(mascri_mkdir_p(file, 0755, &err) < 0);
}

static void check_open_in_root(void **state,
                               int (*open_fn)(int, const char *, int, mode_t, mascri_error_t *))
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *root = mascri_path_join(*state, "root");
  _cleanup_free_ char *etc = mascri_path_join(*state, "root/etc");
  assert_int_equal(mascri_mkdir_p(etc, 0755, &err), 0);
  _cleanup_free_ char *inside = mascri_path_join(*state, "root/etc/passwd");
  assert_int_equal(mascri_write_file_atomic(inside, "inside", 6, 0644, &err), 0);
  _cleanup_free_ char *host = mascri_path_join(*state, "passwd");
  assert_int_equal(mascri_write_file_atomic(host, "HOST", 4, 0644, &err), 0);
  /* absolute symlink and ../ escapes resolve inside the root */
  _cleanup_free_ char *l1 = mascri_path_join(*state, "root/abs");
  assert_int_equal(symlink("/etc/passwd", l1), 0);
  _cleanup_free_ char *l2 = mascri_path_join(*state, "root/etc/up");
  assert_int_equal(symlink("../../../../etc/passwd", l2), 0);

  _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const char *paths[] = {"abs", "etc/up", "/../../passwd", "etc/../../passwd"};
  for (size_t i = 0; i < 4; i++) {
    _cleanup_close_ int fd = open_fn(rootfd, paths[i], O_RDONLY, 0, &err);
    if (i >= 2) {
      /* "../passwd" clamps at the root, where there is no passwd */
      assert_true(fd < 0);
      mascri_error_release(&err);
      continue;
    }
    assert_true(fd >= 0);
    char buf[16] = "";
    assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
    assert_string_equal(buf, "inside");
  }
  _cleanup_close_ int nf = open_fn(rootfd, "abs", O_RDONLY | O_NOFOLLOW, 0, &err);
  assert_true(nf < 0);
}

static void open_in_root_stays_inside(void **state)
{
  check_open_in_root(state, mascri_open_in_root);
}

static void open_in_root_fallback_stays_inside(void **state)
{
  check_open_in_root(state, mascri_open_in_root_fallback);
}

static void normal_paths(void **state)
{
  const char *good[] = {"/",      "a", "/a", "/a/b", "kubepods.slice", "/kubepods/burstable/pod-1",
                        "a.b/..c"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    assert_true(mascri_path_is_normal(good[i]));
  const char *bad[] = {
      "",    "..",   "a/..", "/../../../../tmp/x", "//", "/a//b", ".", "./a", "a/.", "a/",
      "/a/", "a\nb", "a\tb"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_false(mascri_path_is_normal(bad[i]));
  assert_false(mascri_path_is_normal(NULL));
}

static void read_regular_file_refuses_devices_fifos_links_and_big_files(void **state)
{
  const char *dir = *state;
  mascri_error_t err = NULL;
  char *buf = NULL;
  size_t len = 0;
  _cleanup_free_ char *f = mascri_path_join(dir, "f");
  assert_int_equal(mascri_write_file_atomic(f, "hello", 5, 0644, &err), 0);
  assert_int_equal(mascri_read_regular_file(f, 5, &buf, &len, &err), 0);
  assert_string_equal(buf, "hello");
  free(buf);
  assert_true(mascri_read_regular_file(f, 4, &buf, &len, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  mascri_error_release(&err);
  assert_true(mascri_read_regular_file("/dev/zero", 1 << 20, &buf, &len, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "not a regular file"));
  mascri_error_release(&err);
  _cleanup_free_ char *fifo = mascri_path_join(dir, "fifo");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_true(mascri_read_regular_file(fifo, 1 << 20, &buf, &len, &err) < 0); /* no hang */
  mascri_error_release(&err);
  _cleanup_free_ char *link = mascri_path_join(dir, "link");
  assert_int_equal(symlink(f, link), 0);
  assert_true(mascri_read_regular_file(link, 1 << 20, &buf, &len, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  mascri_error_release(&err);
  _cleanup_free_ char *none = mascri_path_join(dir, "none");
  assert_true(mascri_read_regular_file(none, 1 << 20, &buf, &len, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
  mascri_error_release(&err);
}

static void opendir_at_lists_and_refuses(void **state)
{
  const char *dir = *state;
  _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(dfd >= 0);
  assert_int_equal(mkdirat(dfd, "sub", 0700), 0);
  _cleanup_close_ int f = openat(dfd, "sub/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_true(f >= 0);
  assert_int_equal(symlinkat("sub", dfd, "link"), 0);

  _cleanup_closedir_ DIR *d = mascri_opendir_at(dfd, "sub", O_NOFOLLOW);
  assert_non_null(d);
  assert_true(fcntl(dirfd(d), F_GETFD) & FD_CLOEXEC);
  bool seen = false;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    seen = seen || strcmp(de->d_name, "file") == 0;
  assert_true(seen);

  _cleanup_closedir_ DIR *followed = mascri_opendir_at(dfd, "link", 0);
  assert_non_null(followed);
  errno = 0;
  /* O_DIRECTORY|O_NOFOLLOW on a symlink: the kernel answers ENOTDIR (ELOOP without O_DIRECTORY). */
  assert_null(mascri_opendir_at(dfd, "link", O_NOFOLLOW));
  assert_true(errno == ENOTDIR || errno == ELOOP);
  assert_null(mascri_opendir_at(dfd, "sub/file", 0));
  assert_int_equal(errno, ENOTDIR);
  assert_null(mascri_opendir_at(dfd, "none", 0));
  assert_int_equal(errno, ENOENT);
  _cleanup_closedir_ DIR *abs = mascri_opendir_at(AT_FDCWD, dir, 0);
  assert_non_null(abs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(atomic_write_replaces_and_leaves_no_temp, make_tmpdir,
                                      remove_tmpdir),
      cmocka_unit_test(read_missing_file_is_not_found),
      cmocka_unit_test_setup_teardown(mkdir_p_and_rm_rf, make_tmpdir, remove_tmpdir),
      cmocka_unit_test(normal_paths),
      cmocka_unit_test_setup_teardown(read_regular_file_refuses_devices_fifos_links_and_big_files,
                                      make_tmpdir, remove_tmpdir),
      cmocka_unit_test_setup_teardown(open_in_root_stays_inside, make_tmpdir, remove_tmpdir),
      cmocka_unit_test_setup_teardown(open_in_root_fallback_stays_inside, make_tmpdir,
                                      remove_tmpdir),
      cmocka_unit_test_setup_teardown(opendir_at_lists_and_refuses, make_tmpdir, remove_tmpdir),
  };
  return cmocka_run_group_tests_name("common-fs", tests, NULL, NULL);
}
