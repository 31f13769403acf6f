/* cgroup path and value mapping, against fake v1 and v2 trees in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

typedef struct fake {
  char *root;
  mascri_cgroup_t cg;
} fake_t;

static void touch(const char *dir, const char *file, const char *content)
{
  _cleanup_free_ char *p = mascri_path_join(dir, file);
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_write_file_atomic(p, content, strlen(content), 0644, &err), 0);
}

static char *slurp(const char *dir, const char *file)
{
  _cleanup_free_ char *p = mascri_path_join(dir, file);
  _cleanup_error_ mascri_error_t err = NULL;
  char *buf = NULL;
  size_t len = 0;
  if (mascri_read_file(p, &buf, &len, &err) < 0)
    return NULL;
  return buf;
}

static const char *const v1_files[][2] = {
    {"memory", "memory.limit_in_bytes"},
    {"memory", "memory.memsw.limit_in_bytes"},
    {"memory", "memory.soft_limit_in_bytes"},
    {"memory", "memory.usage_in_bytes"},
    {"memory", "memory.stat"},
    {"memory", "memory.oom_control"},
    {"cpu", "cpu.shares"},
    {"cpu", "cpu.cfs_quota_us"},
    {"cpu", "cpu.cfs_period_us"},
    {"cpuset", "cpuset.cpus"},
    {"pids", "pids.max"},
    {"pids", "pids.current"},
    {"pids", "cgroup.procs"},
    {"devices", "devices.allow"},
    {"devices", "devices.deny"},
    {"freezer", "freezer.state"},
    {"blkio", "blkio.weight"},
    {"cpuacct", "cpuacct.usage"},
    {"cpuacct", "cpuacct.stat"},
};

static int setup_v1(void **state)
{
  fake_t *f = xmalloc0(sizeof(*f));
  char tmpl[] = "/tmp/mascri-cg-XXXXXX";
  f->root = xstrdup(mkdtemp(tmpl));
  const char *ctrls[] = {"memory",  "cpu",     "cpuset", "pids",
                         "devices", "freezer", "blkio",  "cpuacct"};
  f->cg.layout.mode = MASCRI_CGROUP_HYBRID;
  f->cg.layout.v2_mount = mascri_path_join(f->root, "unified");
  f->cg.path = xstrdup("/pod/c1");
  for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++) {
    f->cg.layout.v1 = xrealloc(f->cg.layout.v1, (i + 1) * sizeof(mascri_cgroup_hierarchy_t));
    f->cg.layout.v1[i].mount = mascri_path_join(f->root, ctrls[i]);
    f->cg.layout.v1[i].controllers = NULL;
    mascri_strv_append(&f->cg.layout.v1[i].controllers, ctrls[i]);
    f->cg.layout.n_v1++;
    _cleanup_free_ char *dir = mascri_path_join(f->cg.layout.v1[i].mount, "pod/c1");
    _cleanup_error_ mascri_error_t err = NULL;
    assert_int_equal(mascri_mkdir_p(dir, 0755, &err), 0);
  }
  for (size_t i = 0; i < ARRAY_SIZE(v1_files); i++) {
    _cleanup_free_ char *dir = mascri_cgroup_dir(&f->cg, v1_files[i][0]);
    touch(dir, v1_files[i][1], "");
  }
  _cleanup_free_ char *udir = mascri_path_join(f->cg.layout.v2_mount, "pod/c1");
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_mkdir_p(udir, 0755, &err), 0);
  touch(udir, "hugetlb.2MB.max", "");
  *state = f;
  return 0;
}

static int setup_v2(void **state)
{
  fake_t *f = xmalloc0(sizeof(*f));
  char tmpl[] = "/tmp/mascri-cg-XXXXXX";
  f->root = xstrdup(mkdtemp(tmpl));
  f->cg.layout.mode = MASCRI_CGROUP_V2;
  f->cg.layout.v2_mount = xstrdup(f->root);
  f->cg.path = xstrdup("/pod/c1");
  _cleanup_free_ char *dir = mascri_path_join(f->root, "pod/c1");
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_mkdir_p(dir, 0755, &err), 0);
  const char *files[] = {"memory.max",    "memory.swap.max", "memory.low",  "cpu.weight",
                         "cpu.max",       "pids.max",        "io.weight",   "cgroup.freeze",
                         "cgroup.events", "memory.current",  "memory.stat", "cpu.stat",
                         "pids.current",  "cgroup.procs",    "memory.high", "hugetlb.2MB.max"};
  for (size_t i = 0; i < ARRAY_SIZE(files); i++)
    touch(dir, files[i], "");
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fake_t *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_rm_rf(f->root, &err);
  mascri_cgroup_clear(&f->cg);
  free(f->root);
  free(f);
  return 0;
}

static mascri_spec_resources_t *sample_resources(void)
{
  mascri_spec_resources_t *r = xmalloc0(sizeof(*r));
  r->memory.has_limit = true;
  r->memory.limit = 64 << 20;
  r->memory.has_swap = true;
  r->memory.swap = 128 << 20;
  r->cpu.has_shares = true;
  r->cpu.shares = 1024;
  r->cpu.has_quota = true;
  r->cpu.quota = 50000;
  r->cpu.has_period = true;
  r->cpu.period = 100000;
  r->pids.has_limit = true;
  r->pids.limit = 42;
  r->hugepage_limits = xcalloc(1, sizeof(*r->hugepage_limits));
  r->hugepage_limits[0].page_size = xstrdup("2MB");
  r->hugepage_limits[0].limit = 4194304;
  r->n_hugepage_limits = 1;
  return r;
}

static void v1_values(void **state)
{
  fake_t *f = *state;
  _cleanup_spec_resources_ mascri_spec_resources_t *r = sample_resources();
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_cgroup_apply(&f->cg, r, true, &err) < 0)
    fail_msg("%s", mascri_error_message(&err));
  _cleanup_free_ char *mem = mascri_cgroup_dir(&f->cg, "memory");
  _cleanup_free_ char *cpu = mascri_cgroup_dir(&f->cg, "cpu");
  _cleanup_free_ char *pids = mascri_cgroup_dir(&f->cg, "pids");
  _cleanup_free_ char *dev = mascri_cgroup_dir(&f->cg, "devices");
  _cleanup_free_ char *uni = mascri_cgroup_dir(&f->cg, NULL);
  _cleanup_free_ char *a = slurp(mem, "memory.limit_in_bytes");
  _cleanup_free_ char *b = slurp(mem, "memory.memsw.limit_in_bytes");
  _cleanup_free_ char *c = slurp(cpu, "cpu.shares");
  _cleanup_free_ char *d = slurp(cpu, "cpu.cfs_quota_us");
  _cleanup_free_ char *e = slurp(pids, "pids.max");
  _cleanup_free_ char *g = slurp(dev, "devices.allow");
  _cleanup_free_ char *h = slurp(uni, "hugetlb.2MB.max");
  assert_string_equal(a, "67108864");
  assert_string_equal(b, "134217728");
  assert_string_equal(c, "1024");
  assert_string_equal(d, "50000");
  assert_string_equal(e, "42");
  /* one write per rule through one fd: on a plain file they follow each other */
  assert_true(strncmp(g, "c *:* mb *:* mc 1:3 rwm", 23) == 0);
  assert_non_null(strstr(g, "c 136:* rwm"));
  assert_string_equal(h, "4194304"); /* hybrid: hugetlb lives on the v2 mount */
}

static void v2_values(void **state)
{
  fake_t *f = *state;
  _cleanup_spec_resources_ mascri_spec_resources_t *r = sample_resources();
  mascri_strv_append(&r->unified_keys, "memory.high");
  mascri_strv_append(&r->unified_values, "1000000");
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_cgroup_apply(&f->cg, r, true, &err) < 0)
    fail_msg("%s", mascri_error_message(&err));
  _cleanup_free_ char *dir = mascri_cgroup_dir(&f->cg, NULL);
  _cleanup_free_ char *a = slurp(dir, "memory.max");
  _cleanup_free_ char *b = slurp(dir, "memory.swap.max");
  _cleanup_free_ char *c = slurp(dir, "cpu.weight");
  _cleanup_free_ char *d = slurp(dir, "cpu.max");
  _cleanup_free_ char *e = slurp(dir, "pids.max");
  _cleanup_free_ char *g = slurp(dir, "memory.high");
  assert_string_equal(a, "67108864");
  assert_string_equal(b, "67108864"); /* OCI swap is memory+swap */
  assert_string_equal(c, "39");
  assert_string_equal(d, "50000 100000");
  assert_string_equal(e, "42");
  assert_string_equal(g, "1000000");
}

/* cgroup.kill: written when the kernel offers it, a no-op answer (0) when it does not. */
static void v2_kill(void **state)
{
  fake_t *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_free_ char *dir = mascri_cgroup_dir(&f->cg, NULL);
  assert_int_equal(mascri_cgroup_kill(&f->cg, &err), 0);
  touch(dir, "cgroup.kill", "");
  assert_int_equal(mascri_cgroup_kill(&f->cg, &err), 1);
  _cleanup_free_ char *k = slurp(dir, "cgroup.kill");
  assert_string_equal(k, "1");
}

/* kubelet's systemd pod slice names -> their cgroup paths (where pod stats are read). */
static void systemd_slice_paths(void **state)
{
  (void)state;
  char *p = mascri_cgroup_systemd_slice_path("kubepods-besteffort-pod12ab.slice");
  assert_string_equal(
      p, "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12ab.slice");
  free(p);
  p = mascri_cgroup_systemd_slice_path("mascri.slice");
  assert_string_equal(p, "/mascri.slice");
  free(p);
  assert_null(mascri_cgroup_systemd_slice_path("/kubepods/besteffort/pod12ab"));
  assert_null(mascri_cgroup_systemd_slice_path("kubepods.scope"));
  assert_null(mascri_cgroup_systemd_slice_path("a/b.slice"));
}

/* Where each manager puts a pod and its containers (the paths pod-run.c and ctr-create.c use). */
static void manager_pod_paths(void **state)
{
  (void)state;
  const mascri_cgroup_ops_t *fs = mascri_cgroup_ops_of(MASCRI_CGROUP_MANAGER_CGROUPFS);
  const mascri_cgroup_ops_t *sd = mascri_cgroup_ops_of(MASCRI_CGROUP_MANAGER_SYSTEMD);
  assert_string_equal(fs->name, "cgroupfs");
  assert_string_equal(sd->name, "systemd");
  assert_false(fs->removes_empty_cgroups);
  assert_true(sd->removes_empty_cgroups);
  _cleanup_error_ mascri_error_t err = NULL;
  char *p = fs->pod_parent("", "mascri", "p1");
  assert_string_equal(p, "/mascri/pod-p1");
  free(p);
  p = fs->pod_parent("kubepods/pod1", "mascri", "p1");
  assert_string_equal(p, "/kubepods/pod1");
  free(p);
  p = sd->pod_parent("", "mascri.slice", "p1");
  assert_string_equal(p, "mascri-podp1.slice");
  free(p);
  p = sd->pod_parent("kubepods-pod1.slice", "mascri.slice", "p1");
  assert_string_equal(p, "kubepods-pod1.slice");
  free(p);
  assert_int_equal(fs->pod_path("/kubepods/pod1", "p1", &p, &err), 0);
  assert_string_equal(p, "/kubepods/pod1/mascri-p1");
  free(p);
  assert_int_equal(sd->pod_path("kubepods-pod1.slice", "p1", &p, &err), 0);
  assert_string_equal(p, "/kubepods.slice/kubepods-pod1.slice/mascri-p1.scope");
  free(p);
  assert_true(sd->pod_path("/kubepods/pod1", "p1", &p, &err) < 0);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  p = sd->parent_path("kubepods-pod1.slice");
  assert_string_equal(p, "/kubepods.slice/kubepods-pod1.slice");
  free(p);
  p = fs->container_cgroups_path("/kubepods/pod1", "c1");
  assert_string_equal(p, "/kubepods/pod1/mascri-c1");
  free(p);
  p = sd->container_cgroups_path("kubepods-pod1.slice", "c1");
  assert_string_equal(p, "kubepods-pod1.slice:mascri:c1");
  free(p);
  p = sd->container_cgroups_path("/kubepods/pod1", "c1");
  assert_string_equal(p, "mascri.slice:mascri:c1");
  free(p);
}

static void conversions_and_paths(void **state)
{
  assert_int_equal(mascri_cgroup_shares_to_weight(2), 1);
  assert_int_equal(mascri_cgroup_shares_to_weight(262144), 10000);
  assert_int_equal(mascri_cgroup_shares_to_weight(1024), 39);
  assert_int_equal(mascri_cgroup_blkio_to_io_weight(10), 1);
  assert_int_equal(mascri_cgroup_blkio_to_io_weight(1000), 10000);
  _cleanup_error_ mascri_error_t err = NULL;
  char *p = NULL;
  assert_int_equal(mascri_cgroup_resolve_path(MASCRI_CGROUP_MANAGER_CGROUPFS, NULL, "c1", &p, &err),
                   0);
  assert_string_equal(p, "/mascri/c1");
  free(p);
  assert_int_equal(
      mascri_cgroup_resolve_path(MASCRI_CGROUP_MANAGER_CGROUPFS, "k8s/pod1/c1", "x", &p, &err), 0);
  assert_string_equal(p, "/k8s/pod1/c1");
  free(p);
  assert_true(mascri_cgroup_resolve_path(MASCRI_CGROUP_MANAGER_CGROUPFS, "/a/../../etc", "x", &p,
                                         &err) < 0);
  assert_int_equal(mascri_cgroup_resolve_path(MASCRI_CGROUP_MANAGER_SYSTEMD,
                                              "kubepods-besteffort.slice:cri:abc", "x", &p, &err),
                   0);
  assert_string_equal(p, "/kubepods.slice/kubepods-besteffort.slice/cri-abc.scope");
  free(p);
  assert_true(
      mascri_cgroup_resolve_path(MASCRI_CGROUP_MANAGER_SYSTEMD, "/not/systemd", "x", &p, &err) < 0);
}

static void v1_freeze_pids_stats(void **state)
{
  fake_t *f = *state;
  _cleanup_error_ mascri_error_t err = NULL;
  assert_false(mascri_cgroup_is_frozen(&f->cg));
  assert_int_equal(mascri_cgroup_freeze(&f->cg, true, &err), 0);
  assert_true(mascri_cgroup_is_frozen(&f->cg));
  assert_int_equal(mascri_cgroup_freeze(&f->cg, false, &err), 0);
  assert_false(mascri_cgroup_is_frozen(&f->cg));
  _cleanup_free_ char *pids = mascri_cgroup_dir(&f->cg, "pids");
  touch(pids, "cgroup.procs", "12\n34\n");
  touch(pids, "pids.current", "2\n");
  _cleanup_free_ pid_t *list = NULL;
  size_t n = 0;
  assert_int_equal(mascri_cgroup_pids(&f->cg, &list, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(list[1], 34);
  _cleanup_free_ char *mem = mascri_cgroup_dir(&f->cg, "memory");
  touch(mem, "memory.usage_in_bytes", "1000\n");
  touch(mem, "memory.stat", "cache 10\ntotal_inactive_file 300\ntotal_rss 500\n");
  _cleanup_free_ char *acct = mascri_cgroup_dir(&f->cg, "cpuacct");
  touch(acct, "cpuacct.usage", "123456789\n");
  mascri_container_stats_t st;
  assert_int_equal(mascri_cgroup_stats(&f->cg, &st, &err), 0);
  assert_int_equal(st.cpu_usage_ns, 123456789);
  assert_int_equal(st.memory_usage, 1000);
  assert_int_equal(st.memory_working_set, 700);
  assert_int_equal(st.memory_rss, 500);
  assert_int_equal(st.pids_current, 2);
}

/* <dir of controller>/cgroup.procs (controller NULL: v2). */
static char *procs_of(const fake_t *f, const char *controller)
{
  _cleanup_free_ char *dir = mascri_cgroup_dir(&f->cg, controller);
  return slurp(dir, "cgroup.procs");
}

/* A process cloned into its v2 cgroup is moved by writes only on the v1 hierarchies. */
static void enter_v1_only_and_v2_fd(void **state)
{
  fake_t *f = *state;
  const char *ctrls[] = {"memory",  "cpu",   "cpuset",  "pids", "devices",
                         "freezer", "blkio", "cpuacct", NULL};
  for (size_t i = 0; ctrls[i]; i++) {
    _cleanup_free_ char *dir = mascri_cgroup_dir(&f->cg, ctrls[i]);
    touch(dir, "cgroup.procs", "");
  }
  _cleanup_free_ char *udir = mascri_cgroup_dir(&f->cg, NULL);
  touch(udir, "cgroup.procs", "");
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_cgroup_enter_v1(&f->cg, 4242, &err), 0);
  for (size_t i = 0; ctrls[i]; i++) {
    _cleanup_free_ char *v = procs_of(f, ctrls[i]);
    assert_string_equal(v, "4242");
  }
  _cleanup_free_ char *v2 = procs_of(f, NULL);
  assert_string_equal(v2, "");
  assert_int_equal(mascri_cgroup_enter(&f->cg, 4343, &err), 0);
  _cleanup_free_ char *v2b = procs_of(f, NULL);
  assert_string_equal(v2b, "4343");

  int fd = mascri_cgroup_open_v2(&f->cg, &err);
  assert_true(fd >= 0);
  struct stat a, b;
  assert_int_equal(fstat(fd, &a), 0);
  assert_int_equal(stat(udir, &b), 0);
  assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  close(fd);

  /* pure v1: there is no v2 directory to clone into */
  char *v2_mount = TAKE_PTR(f->cg.layout.v2_mount);
  assert_true(mascri_cgroup_open_v2(&f->cg, &err) < 0);
  assert_non_null(strstr(mascri_error_message(&err), "no cgroup2 mount"));
  f->cg.layout.v2_mount = v2_mount;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(v1_values, setup_v1, teardown),
      cmocka_unit_test_setup_teardown(v1_freeze_pids_stats, setup_v1, teardown),
      cmocka_unit_test_setup_teardown(enter_v1_only_and_v2_fd, setup_v1, teardown),
      cmocka_unit_test_setup_teardown(v2_values, setup_v2, teardown),
      cmocka_unit_test_setup_teardown(v2_kill, setup_v2, teardown),
      cmocka_unit_test(conversions_and_paths),
      cmocka_unit_test(systemd_slice_paths),
      cmocka_unit_test(manager_pod_paths),
  };
  return cmocka_run_group_tests_name("runtime-cgroup", tests, NULL, NULL);
}
