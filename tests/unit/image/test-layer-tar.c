#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
#include "image/layer-tar.h"
#include "image/unpack.h"

static char *tmpdir(void)
{
  char tmpl[] = "/tmp/mascri-test-ltar-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  return xstrdup(tmpl);
}

static void put(const char *dir, const char *rel, const char *data, mode_t mode)
{
  _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
  fchmod(fd, mode);
  close(fd);
}

/* An overlay-format layer written as a tar and unpacked again gives the same tree; the
 * tar is the same bytes when written twice (deterministic order). */
static void round_trip(void **state)
{
  _cleanup_free_ char *src = tmpdir();
  _cleanup_free_ char *dst = tmpdir();
  _cleanup_free_ char *sub = xasprintf("%s/dir", src);
  assert_int_equal(mkdir(sub, 0750), 0);
  put(src, "dir/file", "hello", 04755);
  put(src, "b", "bbb", 0644);
  _cleanup_free_ char *hl = xasprintf("%s/dir/hard", src);
  _cleanup_free_ char *b = xasprintf("%s/b", src);
  assert_int_equal(link(b, hl), 0);
  _cleanup_free_ char *sl = xasprintf("%s/link", src);
  assert_int_equal(symlink("dir/file", sl), 0);
  _cleanup_free_ char *wh = xasprintf("%s/gone", src);
  assert_int_equal(mknod(wh, S_IFCHR | 0, makedev(0, 0)), 0);
  bool have_trusted = setxattr(sub, "trusted.overlay.opaque", "y", 1, 0) == 0;

  int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int t1 = memfd_create("t1", MFD_CLOEXEC), t2 = memfd_create("t2", MFD_CLOEXEC);
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *d1 = NULL, *d2 = NULL;
  uint64_t s1, s2;
  assert_int_equal(mascri_layer_tar(sfd, t1, &d1, &s1, &err), 0);
  assert_int_equal(mascri_layer_tar(sfd, t2, &d2, &s2, &err), 0);
  assert_string_equal(d1, d2);
  assert_int_equal(s1, s2);

  lseek(t1, 0, SEEK_SET);
  int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct mascri_unpack_stats st = {0};
  assert_int_equal(mascri_layer_unpack(t1, dfd, &st, &err), 0);
  assert_string_equal(st.diff_id, d1);
  free(st.diff_id);
  struct stat a, c;
  _cleanup_free_ char *f = xasprintf("%s/dir/file", dst);
  assert_int_equal(stat(f, &a), 0);
  assert_int_equal(a.st_mode & 07777, 04755);
  _cleanup_free_ char *h1 = xasprintf("%s/b", dst), *h2 = xasprintf("%s/dir/hard", dst);
  assert_int_equal(stat(h1, &a), 0);
  assert_int_equal(stat(h2, &c), 0);
  assert_int_equal(a.st_ino, c.st_ino);
  _cleanup_free_ char *g = xasprintf("%s/gone", dst);
  assert_int_equal(lstat(g, &a), 0);
  assert_true(S_ISCHR(a.st_mode) && a.st_rdev == makedev(0, 0));
  if (have_trusted) {
    _cleanup_free_ char *dd = xasprintf("%s/dir", dst);
    char v[2] = "";
    assert_int_equal(getxattr(dd, "trusted.overlay.opaque", v, 1), 1);
    assert_int_equal(v[0], 'y');
  }
  close(sfd);
  close(dfd);
  close(t1);
  close(t2);
  mascri_rm_rf(src, &err);
  mascri_rm_rf(dst, &err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
