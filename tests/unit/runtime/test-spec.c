/* config.json parsing: a full config, defaults, and errors that name the bad field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "common/strv.h"
#include "runtime/spec.h"

static const char full_config[] =
    "{\"ociVersion\":\"1.2.0\","
    "\"process\":{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,"
    "\"additionalGids\":[5,6]},\"args\":[\"sh\",\"-c\",\"true\"],\"env\":[\"A=1\"],\"cwd\":\"/w\","
    "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NET_RAW\",\"CAP_NOT_A_CAP\"],"
    "\"effective\":[\"CAP_KILL\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,"
    "\"hard\":20}],\"noNewPrivileges\":true,\"oomScoreAdj\":-5},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h\",\"domainname\":\"d\","
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/data\",\"source\":\"/srv\",\"options\":[\"rbind\",\"ro\",\"nosuid\","
    "\"rslave\",\"mode=755\"]}],"
    "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"args\":[\"true\"],\"timeout\":5}],"
    "\"poststop\":[{\"path\":\"/bin/false\"}]},"
    "\"annotations\":{\"k\":\"v\"},"
    "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
    "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"cgroupsPath\":\"/a/b\","
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},"
    "{\"type\":\"mount\"}],"
    "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
    "\"fileMode\":438}],"
    "\"resources\":{\"memory\":{\"limit\":1048576,\"swap\":-1},\"cpu\":{\"shares\":512,"
    "\"quota\":50000,\"period\":100000,\"cpus\":\"0\"},\"pids\":{\"limit\":10},"
    "\"unified\":{\"memory.high\":\"max\"},"
    "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":0}],"
    "\"network\":{\"classID\":7}},"
    "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
    "\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\","
    "\"errnoRet\":38,\"args\":[{\"index\":1,\"value\":0,\"op\":\"SCMP_CMP_NE\"}]}]},"
    "\"rootfsPropagation\":\"rprivate\",\"maskedPaths\":[\"/proc/kcore\"],"
    "\"readonlyPaths\":[\"/proc/sys\"]}}";

static void parses_full_config(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_spec_ mascri_spec_t *s = NULL;
  assert_int_equal(mascri_spec_parse(full_config, strlen(full_config), &s, &err), 0);
  assert_string_equal(s->oci_version, "1.2.0");
  assert_int_equal(s->process->user.uid, 1000);
  assert_int_equal(s->process->user.gid, 100);
  assert_true(s->process->user.has_umask);
  assert_int_equal(s->process->user.umask, 18);
  assert_int_equal(s->process->user.n_additional_gids, 2);
  assert_string_equal(s->process->args[2], "true");
  assert_string_equal(s->process->cwd, "/w");
  assert_true(s->process->has_caps);
  assert_int_equal(s->process->caps.bounding, (1ULL << 5) | (1ULL << 13));
  assert_int_equal(s->process->caps.effective, 1ULL << 5);
  assert_int_equal(s->process->n_rlimits, 1);
  assert_int_equal(s->process->rlimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal(s->process->rlimits[0].hard, 20);
  assert_true(s->process->no_new_privileges);
  assert_int_equal(s->process->oom_score_adj, -5);
  assert_true(s->root_readonly);
  assert_string_equal(s->hostname, "h");
  assert_int_equal(s->n_mounts, 2);
  const mascri_spec_mount_t *m = &s->mounts[1];
  assert_true(m->bind);
  assert_true(m->recursive);
  assert_int_equal(m->flags, MS_RDONLY | MS_NOSUID);
  assert_int_equal(m->propagation, MS_SLAVE | MS_REC);
  assert_string_equal(m->data, "mode=755");
  assert_int_equal(s->hooks[MASCRI_HOOK_PRESTART].n, 1);
  assert_int_equal(s->hooks[MASCRI_HOOK_PRESTART].hooks[0].timeout, 5);
  assert_int_equal(s->hooks[MASCRI_HOOK_POSTSTOP].n, 1);
  assert_string_equal(mascri_spec_annotation(s, "k"), "v");
  const mascri_spec_linux_t *l = s->linux_;
  assert_int_equal(l->uid_mappings[0].host_id, 100000);
  assert_string_equal(l->sysctl_keys[0], "net.ipv4.ip_forward");
  assert_int_equal(l->n_namespaces, 3);
  const mascri_spec_namespace_t *net = mascri_spec_find_namespace(s, MASCRI_NS_NET);
  assert_non_null(net);
  assert_string_equal(net->path, "/run/netns/x");
  assert_null(mascri_spec_find_namespace(s, MASCRI_NS_USER));
  assert_int_equal(l->devices[0].file_mode, 0666);
  assert_true(l->resources->memory.has_limit);
  assert_int_equal(l->resources->memory.limit, 1048576);
  assert_int_equal(l->resources->memory.swap, -1);
  assert_int_equal(l->resources->cpu.shares, 512);
  assert_string_equal(l->resources->cpu.cpus, "0");
  assert_int_equal(l->resources->pids.limit, 10);
  assert_string_equal(l->resources->unified_keys[0], "memory.high");
  assert_string_equal(l->resources->hugepage_limits[0].page_size, "2MB");
  assert_int_equal(l->seccomp->default_action, MASCRI_SECCOMP_ALLOW);
  assert_int_equal(l->seccomp->n_rules, 1);
  assert_int_equal(l->seccomp->rules[0].errno_ret, 38);
  assert_int_equal(l->seccomp->rules[0].args[0].op, MASCRI_SECCOMP_OP_NE);
  assert_int_equal(l->rootfs_propagation, MS_PRIVATE | MS_REC);
  assert_string_equal(l->masked_paths[0], "/proc/kcore");
}

static void expect_error(const char *json, const char *needle)
{
  _cleanup_error_ mascri_error_t err = NULL;
  mascri_spec_t *s = NULL;
  assert_true(mascri_spec_parse(json, strlen(json), &s, &err) < 0);
  assert_null(s);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  if (!strstr(mascri_error_message(&err), needle))
    fail_msg("error \"%s\" does not mention \"%s\"", mascri_error_message(&err), needle);
}

static void errors_name_the_field(void **state)
{
  expect_error("{\"process\":{}}", "ociVersion: required");
  expect_error("{\"ociVersion\":\"1\",\"process\":{\"user\":{\"uid\":\"root\"}}}",
               "process.user.uid: expected an unsigned integer, got string");
  expect_error("{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\",1]}}",
               "process.args: element 1: expected a string");
  expect_error("{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}}",
               "linux.resources.memory.limit: expected an integer, got string");
  expect_error("{\"ociVersion\":\"1\",\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}",
               "linux.namespaces[0].type: unknown namespace type \"bogus\"");
  expect_error("{\"ociVersion\":\"1\",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":"
               "\"pid\"}]}}",
               "duplicate namespace");
  expect_error("{\"ociVersion\":\"1\",\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}",
               "mounts[0].destination: must be an absolute path");
  expect_error("{\"ociVersion\":\"1\",\"mounts\":[{\"destination\":\"/x\"}]}",
               "mounts[0].type: required for a mount that is not a bind mount");
  expect_error("{\"ociVersion\":\"1\",\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\"}]}}",
               "process.rlimits[0].type: unknown rlimit");
  expect_error("{\"ociVersion\":\"1\",\"linux\":{\"seccomp\":{\"defaultAction\":\"NOPE\"}}}",
               "linux.seccomp.defaultAction: unknown seccomp action");
  expect_error("{\"ociVersion\":\"1\",\"process\":{\"oomScoreAdj\":5000}}",
               "process.oomScoreAdj: must be within -1000..1000");
  expect_error("{\"ociVersion\":\"1\",\"hooks\":{\"poststart\":[{\"args\":[]}]}}",
               "hooks.poststart[0].path: required");
  expect_error("{\"ociVersion\":\"1\",\"linux\":{\"rootfsPropagation\":\"sideways\"}}",
               "linux.rootfsPropagation: unknown propagation");
  expect_error("[1]", "expected an object");
  expect_error("{\"ociVersion\":", "config.json");
}

static void default_spec_round_trips(void **state)
{
  for (int rootless = 0; rootless < 2; rootless++) {
    _cleanup_free_ char *json = mascri_spec_default_json(rootless);
    _cleanup_error_ mascri_error_t err = NULL;
    _cleanup_spec_ mascri_spec_t *s = NULL;
    if (mascri_spec_parse(json, strlen(json), &s, &err) < 0)
      fail_msg("%s", mascri_error_message(&err));
    assert_string_equal(s->process->args[0], "sh");
    assert_true(s->process->terminal);
    assert_true(s->root_readonly);
    assert_non_null(mascri_spec_find_namespace(s, MASCRI_NS_MOUNT));
    assert_true((mascri_spec_find_namespace(s, MASCRI_NS_USER) != NULL) == rootless);
    assert_true((mascri_spec_find_namespace(s, MASCRI_NS_NET) != NULL) == !rootless);
    assert_true(mascri_strv_contains(s->linux_->masked_paths, "/proc/kcore"));
  }
}

static void process_and_resources_alone(void **state)
{
  _cleanup_error_ mascri_error_t err = NULL;
  _cleanup_spec_process_ mascri_spec_process_t *p = NULL;
  const char *pj = "{\"args\":[\"ls\"],\"cwd\":\"/\",\"terminal\":true,"
                   "\"consoleSize\":{\"height\":24,\"width\":80}}";
  assert_int_equal(mascri_spec_process_parse(pj, strlen(pj), &p, &err), 0);
  assert_true(p->terminal);
  assert_int_equal(p->console_width, 80);
  _cleanup_spec_process_ mascri_spec_process_t *d = mascri_spec_process_dup(p);
  assert_string_equal(d->args[0], "ls");
  _cleanup_spec_resources_ mascri_spec_resources_t *r = NULL;
  const char *rj = "{\"pids\":{\"limit\":5},\"blockIO\":{\"weight\":300,"
                   "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1024}]}}";
  assert_int_equal(mascri_spec_resources_parse(rj, strlen(rj), &r, &err), 0);
  assert_int_equal(r->pids.limit, 5);
  assert_int_equal(r->blkio.weight, 300);
  assert_int_equal(r->blkio.n_throttle[0], 1);
  assert_int_equal(r->blkio.throttle[0][0].rate, 1024);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_full_config),
      cmocka_unit_test(errors_name_the_field),
      cmocka_unit_test(default_spec_round_trips),
      cmocka_unit_test(process_and_resources_alone),
  };
  return cmocka_run_group_tests_name("runtime-spec", tests, NULL, NULL);
}
