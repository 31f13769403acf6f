/* The CRI container spec builder: CRI config + image config + pod -> OCI config.json. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/mountinfo.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-spec.h"

struct fixture {
  char dir[64];
  char *rootfs;
  int rootfd;
  struct mascri_image_info image;
  struct mascri_pod_info pod;      /* no config: not privileged, PID mode CONTAINER */
  struct mascri_ctr_config config; /* borrows everything: never cleared */
  char **default_caps;
  yajl_val spec;
};

static void write_file(const char *dir, const char *name, const char *text)
{
  _cleanup_free_ char *p = mascri_path_join(dir, name);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_write_file_atomic(p, text, strlen(text), 0644, &err), 0);
}

static char *entrypoint[] = {"/entry", NULL};
static char *cmd[] = {"serve", "--port=80", NULL};
static char *image_env[] = {"PATH=/img/bin", "A=image", "B=image", NULL};

static int setup(void **state)
{
  struct fixture *f = xcalloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/mascri-ctr-spec-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->rootfs = mascri_path_join(f->dir, "rootfs");
  _cleanup_free_ char *etc = mascri_path_join(f->rootfs, "etc");
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_mkdir_p(etc, 0755, &err), 0);
  write_file(etc, "passwd",
             "root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1001:web:/home/www:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  write_file(etc, "group", "root:x:0:\nwww:x:1001:\nextra:x:2000:www\n");
  f->rootfd = open(f->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(f->rootfd >= 0);
  f->image.id = "sha256:abc";
  f->image.entrypoint = entrypoint;
  f->image.cmd = cmd;
  f->image.env = image_env;
  f->image.working_dir = "/srv";
  f->pod = (struct mascri_pod_info){
      .id = "pod1",
      .name = "web",
      .namespace_ = "default",
      .uid = "u1",
      .ns_dir = "/run/mascri/ns",
      .files_dir = "/var/lib/mascri/pods",
      .paths = 1u << MASCRI_POD_NETNS | 1u << MASCRI_POD_IPCNS | 1u << MASCRI_POD_UTSNS |
               1u << MASCRI_POD_HOSTS_FILE | 1u << MASCRI_POD_RESOLV_CONF,
      .hostname = "webhost",
  };
  f->config.metadata.name = "app";
  f->config.resources.set = true;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  if (f->spec)
    yajl_tree_free(f->spec);
  close(f->rootfd);
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_rm_rf(f->dir, &err);
  free(f->rootfs);
  free(f);
  return 0;
}

static int build(struct fixture *f, mascri_error_t *err)
{
  struct mascri_ctr_spec_input in = {
      .container_id = "c1",
      .config = &f->config,
      .pod = &f->pod,
      .image = &f->image,
      .rootfs = f->rootfs,
      .rootfs_fd = f->rootfd,
      .cgroups_path = "/mascri/pod1/c1",
      .default_caps = f->default_caps,
  };
  _cleanup_free_ char *json = NULL;
  if (mascri_ctr_spec_build(&in, &json, err) < 0)
    return -1;
  if (f->spec)
    yajl_tree_free(f->spec);
  f->spec = NULL;
  _cleanup_error_ mascri_error_t perr = NULL;
  assert_int_equal(mascri_json_parse(json, strlen(json), "spec", &f->spec, &perr), 0);
  return 0;
}

static void build_ok(struct fixture *f)
{
  _cleanup_error_ mascri_error_t err = NULL;
  int r = build(f, &err);
  if (r < 0)
    fail_msg("build: %s", mascri_error_message(&err));
}

static yajl_val at(struct fixture *f, const char *a, const char *b, const char *c)
{
  const char *path[] = {a, b, c, NULL};
  return mascri_json_get_path(f->spec, path);
}

static char *joined(yajl_val arr)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_strv_ char **v = mascri_json_string_array(arr, "x", &err);
  assert_non_null(v);
  return mascri_strv_join(v, " ");
}

static void assert_joined(yajl_val arr, const char *want)
{
  _cleanup_free_ char *s = joined(arr);
  assert_string_equal(s, want);
}

static void test_args_merge(void **state)
{
  struct fixture *f = *state;
  build_ok(f);
  assert_joined(at(f, "process", "args", NULL), "/entry serve --port=80");
  f->config.args = (char *[]){"other", NULL};
  build_ok(f);
  assert_joined(at(f, "process", "args", NULL), "/entry other");
  f->config.command = (char *[]){"/bin/sh", "-c", NULL};
  f->config.args = NULL;
  build_ok(f); /* a command replaces the image's cmd too */
  assert_joined(at(f, "process", "args", NULL), "/bin/sh -c");
  f->config.command = NULL;
  f->image.entrypoint = NULL;
  f->image.cmd = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "no command"));
}

static void test_env_cwd_user(void **state)
{
  struct fixture *f = *state;
  struct mascri_kv kv = {.key = "B", .value = "config"};
  f->config.envs = (struct mascri_kv_list){.v = &kv, .n = 1};
  f->config.security.has_run_as_user = true;
  f->config.security.run_as_user = 1000;
  f->config.security.supplemental_groups = (int64_t[]){3000};
  f->config.security.n_supplemental_groups = 1;
  build_ok(f);
  assert_joined(at(f, "process", "env", NULL),
                "PATH=/img/bin A=image B=config HOSTNAME=webhost HOME=/home/www");
  assert_string_equal(mascri_json_get_string(at(f, "process", NULL, NULL), "cwd"), "/srv");
  int64_t v = -1;
  assert_int_equal(mascri_json_get_int64(at(f, "process", "user", NULL), "uid", &v), 1);
  assert_int_equal(v, 1000);
  assert_int_equal(mascri_json_get_int64(at(f, "process", "user", NULL), "gid", &v), 1);
  assert_int_equal(v, 1001);
  yajl_val gids = at(f, "process", "user", "additionalGids");
  assert_int_equal(mascri_json_array_len(gids), 2);
  assert_int_equal(YAJL_GET_INTEGER(mascri_json_array_at(gids, 0)), 2000);
  assert_int_equal(YAJL_GET_INTEGER(mascri_json_array_at(gids, 1)), 3000);
  f->config.security.has_run_as_user = false;
  f->config.security.run_as_username = "ghost";
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
  f->config.security.run_as_username = "";
  f->image.user = "nobody";
  f->config.working_dir = "relative";
  mascri_error_release(&err);
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  f->config.working_dir = "/work";
  build_ok(f);
  assert_int_equal(mascri_json_get_int64(at(f, "process", "user", NULL), "uid", &v), 1);
  assert_int_equal(v, 65534);
  assert_string_equal(mascri_json_get_string(at(f, "process", NULL, NULL), "cwd"), "/work");
}

static void test_capabilities(void **state)
{
  struct fixture *f = *state;
  build_ok(f);
  yajl_val eff = at(f, "process", "capabilities", "effective");
  assert_int_equal(mascri_json_array_len(eff), 14);
  struct mascri_ctr_security *sc = &f->config.security;
  sc->drop_caps = (char *[]){"ALL", NULL};
  sc->add_caps = (char *[]){"net_admin", "CAP_KILL", NULL};
  build_ok(f);
  assert_joined(at(f, "process", "capabilities", "bounding"), "CAP_NET_ADMIN CAP_KILL");
  sc->add_caps = (char *[]){"CAP_BOGUS", NULL};
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "CAP_BOGUS"));
  sc->add_caps = sc->drop_caps = NULL;
  /* the daemon's configured default set replaces the built-in one */
  f->default_caps = (char *[]){"kill", "CAP_CHOWN", NULL};
  build_ok(f);
  assert_joined(at(f, "process", "capabilities", "effective"), "CAP_KILL CAP_CHOWN");
  f->default_caps = (char *[]){"CAP_NOPE", NULL};
  mascri_error_release(&err);
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  f->default_caps = NULL;
  sc->privileged = true; /* the pod is not privileged */
  mascri_error_release(&err);
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

static yajl_val find_mount(struct fixture *f, const char *dest)
{
  yajl_val mounts = at(f, "mounts", NULL, NULL);
  yajl_val found = NULL;
  for (size_t i = 0; i < mascri_json_array_len(mounts); i++) {
    yajl_val m = mascri_json_array_at(mounts, i);
    if (strcmp(mascri_json_get_string(m, "destination"), dest) == 0) {
      assert_null(found); /* never twice */
      found = m;
    }
  }
  return found;
}

static void test_mounts(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *host = mascri_path_join(f->dir, "vol/data");
  struct mascri_ctr_mount ms[] = {
      {.container_path = "/data",
       .host_path = host,
       .readonly = true,
       .propagation = MASCRI_PROPAGATION_PRIVATE},
      {.container_path = "/etc/hosts", .host_path = "/etc/hosts"},
  };
  f->config.mounts = ms;
  f->config.n_mounts = 2;
  build_ok(f);
  assert_true(mascri_path_exists(host)); /* a missing host path is made a directory */
  assert_joined(mascri_json_get(find_mount(f, "/data"), "options"), "rbind rprivate ro");
  assert_null(at(f, "linux", "rootfsPropagation", NULL)); /* no propagating volume */
  assert_string_equal(mascri_json_get_string(find_mount(f, "/etc/hosts"), "source"), "/etc/hosts");
  assert_string_equal(mascri_json_get_string(find_mount(f, "/etc/resolv.conf"), "source"),
                      "/var/lib/mascri/pods/pod1/resolv.conf");
  assert_string_equal(mascri_json_get_string(find_mount(f, "/dev/shm"), "type"), "tmpfs");
  assert_non_null(find_mount(f, "/proc"));
  assert_joined(mascri_json_get(find_mount(f, "/sys"), "options"), "nosuid noexec nodev ro");
  assert_null(find_mount(f, "/etc/hostname")); /* the pod has no hostname file */
  ms[0].container_path = "data";
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "mounts[0]"));
}

/* A propagating volume: rootfsPropagation follows it, and its host path must be on a mount
 * that can propagate. Which answer is right depends on where the test's directory is
 * mounted (shared on a systemd host, private in most build containers): both are checked
 * against /proc/self/mountinfo. */
static void test_mount_propagation(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *host = mascri_path_join(f->dir, "vol");
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_mkdir_p(host, 0755, &err), 0);
  mascri_mountinfo_t mi = {0};
  assert_int_equal(mascri_mountinfo_lookup(host, &mi, &err), 0);
  struct mascri_ctr_mount m1 = {.container_path = "/data", .host_path = host};
  f->config.mounts = &m1;
  f->config.n_mounts = 1;
  const struct {
    enum mascri_mount_propagation p;
    bool ok;
    const char *opt, *root;
  } cases[] = {
      {MASCRI_PROPAGATION_HOST_TO_CONTAINER, mi.shared || mi.slave, "rslave", "rslave"},
      {MASCRI_PROPAGATION_BIDIRECTIONAL, mi.shared, "rshared", "rshared"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    m1.propagation = cases[i].p;
    int r = build(f, &err);
    if (cases[i].ok) {
      assert_int_equal(r, 0);
      assert_string_equal(YAJL_GET_STRING(at(f, "linux", "rootfsPropagation", NULL)),
                          cases[i].root);
      yajl_val opts = mascri_json_get(find_mount(f, "/data"), "options");
      assert_string_equal(YAJL_GET_STRING(mascri_json_array_at(opts, 1)), cases[i].opt);
    } else {
      assert_true(r < 0);
      assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_FAILED_PRECONDITION);
      assert_non_null(strstr(mascri_error_message(&err), mi.mountpoint));
      mascri_error_release(&err);
    }
  }
  mascri_mountinfo_clear(&mi);
}

static const char *ns_path(struct fixture *f, const char *type, bool *present)
{
  yajl_val nss = at(f, "linux", "namespaces", NULL);
  *present = false;
  for (size_t i = 0; i < mascri_json_array_len(nss); i++) {
    yajl_val n = mascri_json_array_at(nss, i);
    if (strcmp(mascri_json_get_string(n, "type"), type) == 0) {
      *present = true;
      return mascri_json_get_string(n, "path");
    }
  }
  return NULL;
}

static void test_namespaces(void **state)
{
  struct fixture *f = *state;
  struct mascri_ns_options *ns = &f->config.security.namespace_options;
  f->config.security.has_namespace_options = true;
  ns->pid = MASCRI_NS_MODE_CONTAINER;
  ns->userns = MASCRI_NS_MODE_NODE;
  build_ok(f);
  bool present;
  assert_string_equal(ns_path(f, "network", &present), "/run/mascri/ns/pod1/net");
  assert_string_equal(ns_path(f, "ipc", &present), "/run/mascri/ns/pod1/ipc");
  assert_null(ns_path(f, "pid", &present));
  assert_true(present); /* a new one */
  assert_null(ns_path(f, "mount", &present));
  assert_true(present);
  ns->pid = MASCRI_NS_MODE_POD;
  f->pod.paths |= 1u << MASCRI_POD_PIDNS;
  build_ok(f);
  assert_string_equal(ns_path(f, "pid", &present), "/run/mascri/ns/pod1/pid");
  f->pod.paths &= ~(1u << MASCRI_POD_NETNS); /* host network */
  build_ok(f);
  ns_path(f, "network", &present);
  assert_false(present);
  assert_string_equal(mascri_json_get_string(at(f, "linux", NULL, NULL), "cgroupsPath"),
                      "/mascri/pod1/c1");
}

static void test_resources_and_paths(void **state)
{
  struct fixture *f = *state;
  f->config.resources.memory_limit_in_bytes = 64 << 20;
  f->config.resources.cpu_shares = 512;
  f->config.resources.cpu_quota = 50000;
  f->config.resources.cpu_period = 100000;
  build_ok(f);
  int64_t v = 0;
  assert_int_equal(mascri_json_get_int64(at(f, "linux", "resources", "memory"), "limit", &v), 1);
  assert_int_equal(v, 64 << 20);
  assert_int_equal(mascri_json_get_int64(at(f, "linux", "resources", "cpu"), "quota", &v), 1);
  assert_int_equal(v, 50000);
  yajl_val rules = at(f, "linux", "resources", "devices");
  bool allow = true;
  assert_int_equal(mascri_json_get_bool(mascri_json_array_at(rules, 0), "allow", &allow), 1);
  assert_false(allow);
  _cleanup_free_ char *masked = joined(at(f, "linux", "maskedPaths", NULL));
  assert_non_null(strstr(masked, "/proc/kcore"));
  f->config.security.masked_paths = (char *[]){"/proc/x", NULL};
  build_ok(f);
  assert_joined(at(f, "linux", "maskedPaths", NULL), "/proc/x");
  f->config.resources.cpu_shares = -1;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(mascri_error_message(&err), "cpu_shares"));
}

static void test_devices(void **state)
{
  struct fixture *f = *state;
  struct mascri_ctr_device d = {
      .container_path = "/dev/mynull", .host_path = "/dev/null", .permissions = "rw"};
  f->config.devices = &d;
  f->config.n_devices = 1;
  build_ok(f);
  yajl_val dev = mascri_json_array_at(at(f, "linux", "devices", NULL), 0);
  assert_string_equal(mascri_json_get_string(dev, "path"), "/dev/mynull");
  int64_t v = 0;
  assert_int_equal(mascri_json_get_int64(dev, "major", &v), 1);
  assert_int_equal(v, 1);
  yajl_val rule = mascri_json_array_at(at(f, "linux", "resources", "devices"), 1);
  assert_string_equal(mascri_json_get_string(rule, "access"), "rw");
  d.host_path = "/dev/does-not-exist";
  _cleanup_error_ mascri_error_t err = NULL;
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_NOT_FOUND);
  d.host_path = "/dev/null";
  d.permissions = "rwx";
  mascri_error_release(&err);
  assert_true(build(f, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

static void test_annotations(void **state)
{
  struct fixture *f = *state;
  struct mascri_kv a = {.key = "example.com/x", .value = "1"};
  f->config.annotations = (struct mascri_kv_list){.v = &a, .n = 1};
  build_ok(f);
  yajl_val an = at(f, "annotations", NULL, NULL);
  assert_string_equal(mascri_json_get_string(an, "io.kubernetes.cri.sandbox-id"), "pod1");
  assert_string_equal(mascri_json_get_string(an, "io.kubernetes.cri.container-name"), "app");
  assert_string_equal(mascri_json_get_string(an, "example.com/x"), "1");
}

static void test_exec_process(void **state)
{
  struct fixture *f = *state;
  struct mascri_ctr_spec_input in = {
      .container_id = "c1",
      .config = &f->config,
      .pod = &f->pod,
      .image = &f->image,
      .rootfs = f->rootfs,
      .rootfs_fd = f->rootfd,
      .cgroups_path = "/x",
  };
  _cleanup_free_ char *spec = NULL, *proc = NULL;
  _cleanup_error_ mascri_error_t err = NULL;
  f->image.user = "www";
  assert_int_equal(mascri_ctr_spec_build(&in, &spec, &err), 0);
  const char *argv[] = {"ls", "-l", NULL};
  assert_int_equal(mascri_ctr_exec_process_json(spec, argv, true, &proc, &err), 0);
  _cleanup_json_ yajl_val p = NULL;
  assert_int_equal(mascri_json_parse(proc, strlen(proc), "process", &p, &err), 0);
  assert_joined(mascri_json_get(p, "args"), "ls -l");
  bool tty = false;
  assert_int_equal(mascri_json_get_bool(p, "terminal", &tty), 1);
  assert_true(tty);
  int64_t uid = 0;
  assert_int_equal(mascri_json_get_int64(mascri_json_get(p, "user"), "uid", &uid), 1);
  assert_int_equal(uid, 1000);
  assert_string_equal(mascri_json_get_string(p, "cwd"), "/srv");
  assert_int_equal(mascri_json_array_len(mascri_json_get_path(
                       p, (const char *[]){"capabilities", "effective", NULL})),
                   14);
  const char *none[] = {NULL};
  _cleanup_free_ char *bad = NULL;
  assert_true(mascri_ctr_exec_process_json(spec, none, false, &bad, &err) < 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_args_merge, setup, teardown),
      cmocka_unit_test_setup_teardown(test_env_cwd_user, setup, teardown),
      cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mount_propagation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resources_and_paths, setup, teardown),
      cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
      cmocka_unit_test_setup_teardown(test_annotations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_process, setup, teardown),
  };
  return cmocka_run_group_tests_name("sandbox-ctr-spec", tests, NULL, NULL);
}
