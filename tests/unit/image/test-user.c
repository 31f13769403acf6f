#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "image/user.h"

struct fx {
  char *dir;
  int rootfd;
};

static void put(const char *dir, const char *rel, const char *data)
{
  _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_write_file_atomic(p, data, strlen(data), 0644, &err), 0);
}

static int setup(void **state)
{
  struct fx *f = xmalloc0(sizeof(*f));
  char tmpl[] = "/tmp/mascri-test-user-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  f->dir = xstrdup(tmpl);
  _cleanup_free_ char *etc = xasprintf("%s/root/etc", tmpl);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_mkdir_p(etc, 0755, &err), 0);
  _cleanup_free_ char *root = xasprintf("%s/root", tmpl);
  f->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  close(f->rootfd);
  mascri_rm_rf(f->dir, &err);
  free(f->dir);
  free(f);
  return 0;
}

static void resolves_names_and_ids(void **state)
{
  struct fx *f = *state;
  put(f->dir, "root/etc/passwd",
      "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n");
  put(f->dir, "root/etc/group", "root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:other\n");
  struct mascri_image_user u;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "app", &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 1001);
  assert_string_equal(u.home, "/home/app");
  assert_int_equal(u.n_additional, 1);
  assert_int_equal(u.additional_gids[0], 10);
  mascri_image_user_clear(&u);
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "1000:wheel", &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 10);
  mascri_image_user_clear(&u);
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "4242:4343", &u, &err), 0);
  assert_int_equal(u.uid, 4242);
  assert_int_equal(u.gid, 4343);
  assert_string_equal(u.home, "/");
  mascri_image_user_clear(&u);
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "", &u, &err), 0);
  assert_int_equal(u.uid, 0);
  mascri_image_user_clear(&u);
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "nobody", &u, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "app:nogroup", &u, &err), -1);
  assert_int_equal(mascri_image_resolve_user(f->rootfd, ":1", &u, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

static void symlinked_passwd_stays_in_root(void **state)
{
  /* etc/passwd -> <host>/secret: resolved inside the root, where it does not exist */
  struct fx *f = *state;
  put(f->dir, "secret", "hostuser:x:77:77::/:/bin/sh\n");
  _cleanup_free_ char *host = xasprintf("%s/secret", f->dir);
  _cleanup_free_ char *link = xasprintf("%s/root/etc/passwd", f->dir);
  assert_int_equal(symlink(host, link), 0);
  _cleanup_free_ char *glink = xasprintf("%s/root/etc/group", f->dir);
  assert_int_equal(symlink("../../../../../../../../dev/zero", glink), 0);
  struct mascri_image_user u;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "hostuser", &u, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
  /* a group file that is a device (here: absent inside the root) is never read */
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "0:0", &u, &err), 0);
  mascri_image_user_clear(&u);
  _cleanup_free_ char *dev = xasprintf("%s/root/dev", f->dir);
  mkdir(dev, 0755);
  _cleanup_free_ char *zero = xasprintf("%s/root/dev/zero", f->dir);
  assert_int_equal(mkfifo(zero, 0644), 0);
  assert_int_equal(mascri_image_resolve_user(f->rootfd, "0:0", &u, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(resolves_names_and_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(symlinked_passwd_stays_in_root, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
