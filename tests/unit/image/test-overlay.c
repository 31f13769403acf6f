/* The overlay mount's kernel-feature decision (overlay.c) without a kernel that lacks it:
 * fsopen/fsconfig/fsmount/move_mount/mount are wrapped (-Wl,--wrap) to act as Linux 6.8+
 * (lowerdir+ works), 6.5-6.7 (fsconfig rejects lowerdir+), 5.2-6.4 (the generic wrapper takes
 * lowerdir+ and CMD_CREATE fails, the case that hid the bug) and before 5.2 (no fsopen). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/store-internal.h"

enum kernel { K_6_8, K_6_5, K_6_1, K_5_1 };

static struct {
  enum kernel kernel;
  unsigned fsopens;
  unsigned lowerdir_plus; /* lowerdir+ since the last fsopen */
  char **lowers_seen;     /* lowerdir+ values of the mount (not the probe) */
  char *mount_data;       /* the legacy mount(2) options */
  char *mount_cwd;        /* the working directory the mount(2) or move_mount ran in */
  char *target;
  bool probe_paths_ok; /* every probe lowerdir+ named an existing dir from the cwd */
} k;

static char *cwd_now(void)
{
  char buf[PATH_MAX];
  return xstrdup(getcwd(buf, sizeof(buf)) ? buf : "?");
}

int __wrap_fsopen(const char *fs, unsigned flags)
{
  (void)flags;
  assert_string_equal(fs, "overlay");
  k.fsopens++;
  k.lowerdir_plus = 0;
  if (k.kernel == K_5_1) {
    errno = ENOSYS;
    return -1;
  }
  return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int __wrap_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
  (void)fd, (void)aux;
  if (cmd == FSCONFIG_CMD_CREATE) {
    if (k.kernel == K_6_1 && k.lowerdir_plus > 0) {
      errno = EINVAL; /* "overlayfs: unrecognized mount option lowerdir+" */
      return -1;
    }
    return 0;
  }
  if (strcmp(key, "lowerdir+") == 0) {
    if (k.kernel == K_6_5) {
      errno = EINVAL;
      return -1;
    }
    k.lowerdir_plus++;
    if (strncmp(value, "tmp/ovlprobe-", 13) == 0) {
      struct stat st;
      k.probe_paths_ok = k.probe_paths_ok && stat(value, &st) == 0 && S_ISDIR(st.st_mode);
    } else {
      mascri_strv_append(&k.lowers_seen, value);
    }
  }
  return 0;
}

int __wrap_fsmount(int fd, unsigned flags, unsigned attrs)
{
  (void)fd, (void)flags, (void)attrs;
  return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int __wrap_move_mount(int fd, const char *from, int tofd, const char *to, unsigned flags)
{
  (void)fd, (void)from, (void)tofd, (void)flags;
  free(k.target);
  k.target = xstrdup(to);
  free(k.mount_cwd);
  k.mount_cwd = cwd_now();
  return 0;
}

int __wrap_mount(const char *src, const char *target, const char *type, unsigned long flags,
                 const void *data)
{
  (void)src, (void)flags;
  assert_string_equal(type, "overlay");
  free(k.mount_data);
  k.mount_data = xstrdup(data);
  free(k.target);
  k.target = xstrdup(target);
  free(k.mount_cwd);
  k.mount_cwd = cwd_now();
  return 0;
}

struct fixture {
  char dir[64];
  char *real; /* the store root, symlinks resolved (what getcwd reports) */
  mascri_image_store_t *store;
};

static int setup(void **state)
{
  struct fixture *f = xmalloc0(sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test-overlay-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  mascri_error_t err = NULL;
  assert_int_equal(mascri_image_store_open(f->dir, &f->store, &err), 0);
  f->real = realpath(f->dir, NULL);
  memset(&k, 0, sizeof(k));
  k.probe_paths_ok = true;
  k.lowers_seen = xcalloc(1, sizeof(char *));
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  mascri_image_store_close(f->store);
  mascri_error_t err = NULL;
  mascri_rm_rf(f->dir, &err);
  free(f->real);
  free(f);
  mascri_strv_free(k.lowers_seen);
  free(k.mount_data);
  free(k.mount_cwd);
  free(k.target);
  return 0;
}

static bool tmp_is_empty(const struct fixture *f)
{
  char *p = xasprintf("%s/tmp", f->dir);
  _cleanup_closedir_ DIR *d = opendir(p);
  free(p);
  assert_non_null(d);
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.')
      return false;
  return true;
}

static void probe_once(void **state, enum kernel kernel, bool want)
{
  struct fixture *f = *state;
  k.kernel = kernel;
  assert_int_equal(overlay_lowerdir_plus(f->store), want);
  assert_int_equal(k.fsopens, 1);
  assert_int_equal(overlay_lowerdir_plus(f->store), want); /* cached: no second probe */
  assert_int_equal(k.fsopens, 1);
  assert_true(k.probe_paths_ok);
  assert_true(tmp_is_empty(f)); /* the throwaway dirs are gone */
}

static void test_probe_6_8(void **state)
{
  probe_once(state, K_6_8, true);
}

static void test_probe_6_5(void **state)
{
  probe_once(state, K_6_5, false);
}

static void test_probe_6_1_create_fails(void **state)
{
  probe_once(state, K_6_1, false);
}

static void test_probe_no_fsopen(void **state)
{
  probe_once(state, K_5_1, false);
}

static char *const layers[] = {"l/AAAAAAAAAAAAAAAAAAAA", "l/BBBBBBBBBBBBBBBBBBBB", NULL};

static void test_mount_lowerdir_plus(void **state)
{
  struct fixture *f = *state;
  k.kernel = K_6_8;
  char cwd_before[PATH_MAX];
  assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));
  mascri_error_t err = NULL;
  assert_int_equal(
      overlay_mount(f->store, "/mnt/x", layers, "rootfs/c/upper", "rootfs/c/work", &err), 0);
  assert_null(k.mount_data); /* no mount(2) */
  assert_int_equal(mascri_strv_length(k.lowers_seen), 2);
  assert_string_equal(k.lowers_seen[0], layers[0]);
  assert_string_equal(k.lowers_seen[1], layers[1]);
  assert_string_equal(k.target, "/mnt/x");
  assert_string_equal(k.mount_cwd, f->real); /* relative paths resolve in the store */
  char *cwd_after = cwd_now();
  assert_string_equal(cwd_after, cwd_before); /* the process never moved */
  free(cwd_after);
}

static void check_legacy(void **state, enum kernel kernel)
{
  struct fixture *f = *state;
  k.kernel = kernel;
  char cwd_before[PATH_MAX];
  assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));
  mascri_error_t err = NULL;
  assert_int_equal(
      overlay_mount(f->store, "/mnt/x", layers, "rootfs/c/upper", "rootfs/c/work", &err), 0);
  assert_int_equal(mascri_strv_length(k.lowers_seen), 0);
  assert_non_null(k.mount_data);
  assert_string_equal(k.mount_data, "lowerdir=l/AAAAAAAAAAAAAAAAAAAA:l/BBBBBBBBBBBBBBBBBBBB,"
                                    "upperdir=rootfs/c/upper,workdir=rootfs/c/work");
  assert_string_equal(k.target, "/mnt/x");
  assert_string_equal(k.mount_cwd, f->real);
  char *cwd_after = cwd_now();
  assert_string_equal(cwd_after, cwd_before);
  free(cwd_after);
}

static void test_mount_legacy_6_1(void **state)
{
  check_legacy(state, K_6_1);
}

static void test_mount_legacy_6_5(void **state)
{
  check_legacy(state, K_6_5);
}

/* Layer lists as rootfs.c makes them: 20-character links, a 64-character container id. */
static char **many_layers(size_t n)
{
  char **v = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++)
    v[i] = xasprintf("l/%020zu", i);
  return v;
}

static void test_legacy_options_fit_140_layers(void **state)
{
  (void)state;
  char cid[65];
  memset(cid, 'c', 64);
  cid[64] = '\0';
  char *upper = xasprintf("rootfs/%s/upper", cid), *work = xasprintf("rootfs/%s/work", cid);
  char **v = many_layers(140);
  mascri_error_t err = NULL;
  char *opts = overlay_legacy_options(v, upper, work, 4094, &err);
  assert_non_null(opts);
  assert_true(strlen(opts) <= 4094);
  free(opts);
  mascri_strv_free(v);

  v = many_layers(200);
  assert_null(overlay_legacy_options(v, upper, work, 4094, &err));
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(mascri_error_message(&err), "200 layers"));
  assert_non_null(strstr(mascri_error_message(&err), "4094"));
  assert_non_null(strstr(mascri_error_message(&err), "Linux 6.8"));
  mascri_error_release(&err);
  mascri_strv_free(v);
  free(upper);
  free(work);
}

static void test_mount_too_many_layers_is_clear(void **state)
{
  struct fixture *f = *state;
  k.kernel = K_6_1;
  char **v = many_layers(400);
  mascri_error_t err = NULL;
  assert_true(overlay_mount(f->store, "/mnt/x", v, "rootfs/c/upper", "rootfs/c/work", &err) < 0);
  assert_null(k.mount_data);
  assert_non_null(strstr(mascri_error_message(&err), "400 layers"));
  mascri_error_release(&err);
  mascri_strv_free(v);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_probe_6_8, setup, teardown),
      cmocka_unit_test_setup_teardown(test_probe_6_5, setup, teardown),
      cmocka_unit_test_setup_teardown(test_probe_6_1_create_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_probe_no_fsopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mount_lowerdir_plus, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mount_legacy_6_1, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mount_legacy_6_5, setup, teardown),
      cmocka_unit_test(test_legacy_options_fit_140_layers),
      cmocka_unit_test_setup_teardown(test_mount_too_many_layers_is_clear, setup, teardown),
  };
  return cmocka_run_group_tests_name("image-overlay", tests, NULL, NULL);
}
