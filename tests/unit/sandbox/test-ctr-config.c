/* The plain container config: its JSON form keeps every field (parse(gen(x)) is x, field by
 * field), copies are deep, and a record of the wrong shape is refused naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-config.h"

static char **strv(const char *a, const char *b)
{
  char **v = NULL;
  mascri_strv_append(&v, a);
  if (b)
    mascri_strv_append(&v, b);
  return v;
}

static void fill_security(struct mascri_ctr_security *s)
{
  s->add_caps = strv("CAP_NET_ADMIN", "SYS_TIME");
  s->drop_caps = strv("ALL", NULL);
  s->add_ambient_caps = strv("CAP_NET_BIND_SERVICE", NULL);
  s->privileged = true;
  s->readonly_rootfs = true;
  s->no_new_privs = true;
  s->has_namespace_options = true;
  s->namespace_options = (struct mascri_ns_options){
      .network = MASCRI_NS_MODE_NODE,
      .pid = MASCRI_NS_MODE_TARGET,
      .ipc = MASCRI_NS_MODE_CONTAINER,
      .userns = MASCRI_NS_MODE_POD,
      .target_id = xstrdup("abc"),
  };
  s->has_run_as_user = true; /* 0: root, which must not read back as "not given" */
  s->run_as_user = 0;
  s->has_run_as_group = true;
  s->run_as_group = 3000;
  s->run_as_username = xstrdup("www");
  s->supplemental_groups = xcalloc(2, sizeof(int64_t));
  s->supplemental_groups[0] = 4000;
  s->supplemental_groups[1] = 5000;
  s->n_supplemental_groups = 2;
  s->masked_paths = strv("/proc/x", "/proc/y");
  s->readonly_paths = strv("/proc/z", NULL);
  s->seccomp = (struct mascri_security_profile){
      .set = true, .type = MASCRI_PROFILE_LOCALHOST, .localhost_ref = xstrdup("/p.json")};
  s->apparmor = (struct mascri_security_profile){.set = true, .type = MASCRI_PROFILE_UNCONFINED};
  s->seccomp_profile_path = xstrdup("runtime/default");
}

static void fill_resources(struct mascri_ctr_resources *r)
{
  r->set = true;
  r->cpu_period = 100000;
  r->cpu_quota = -1;
  r->cpu_shares = 512;
  r->memory_limit_in_bytes = 1 << 30;
  r->memory_swap_limit_in_bytes = 2LL << 30;
  r->oom_score_adj = -999;
  r->cpuset_cpus = xstrdup("0-1");
  r->cpuset_mems = xstrdup("0");
  r->hugepage_limits = xcalloc(2, sizeof(*r->hugepage_limits));
  r->hugepage_limits[0] = (struct mascri_hugepage_limit){xstrdup("2MB"), 4 << 20};
  r->hugepage_limits[1] = (struct mascri_hugepage_limit){xstrdup("1GB"), 0};
  r->n_hugepage_limits = 2;
  mascri_kv_list_add(&r->unified, "memory.high", "100M");
}

/* Every field set, none to its zero value where that would hide a loss. */
static struct mascri_ctr_config *full_config(void)
{
  struct mascri_ctr_config *c = mascri_ctr_config_new();
  c->metadata = (struct mascri_metadata){.name = xstrdup("app"), .attempt = 3};
  c->image.image = xstrdup("busybox:1");
  c->image.user_specified_image = xstrdup("busybox");
  c->image.runtime_handler = xstrdup("fast");
  mascri_kv_list_add(&c->image.annotations, "img.x", "1");
  c->command = strv("/bin/sh", "-c");
  c->args = strv("echo hi", NULL);
  c->working_dir = xstrdup("/srv");
  mascri_kv_list_add(&c->envs, "A", "1");
  mascri_kv_list_add(&c->envs, "A", "2"); /* a repeated name is kept */
  mascri_kv_list_add(&c->envs, "B", "");
  c->mounts = xcalloc(2, sizeof(*c->mounts));
  c->mounts[0] = (struct mascri_ctr_mount){
      .container_path = xstrdup("/data"),
      .host_path = xstrdup("/var/data"),
      .readonly = true,
      .selinux_relabel = true,
      .recursive_read_only = true,
      .propagation = MASCRI_PROPAGATION_BIDIRECTIONAL,
      .id_mapped = true,
      .image = xstrdup("vol:1"),
  };
  c->mounts[1] = (struct mascri_ctr_mount){.container_path = xstrdup("/b"),
                                           .propagation = MASCRI_PROPAGATION_HOST_TO_CONTAINER};
  c->n_mounts = 2;
  c->devices = xcalloc(1, sizeof(*c->devices));
  c->devices[0] =
      (struct mascri_ctr_device){xstrdup("/dev/x"), xstrdup("/dev/null"), xstrdup("rw")};
  c->n_devices = 1;
  mascri_kv_list_add(&c->labels, "app", "web");
  mascri_kv_list_add(&c->labels, "", "empty key");
  mascri_kv_list_add(&c->annotations, "example.com/a", "x\ny");
  c->log_path = xstrdup("app/3.log");
  c->stdin_ = c->stdin_once = c->tty = true;
  fill_resources(&c->resources);
  fill_security(&c->security);
  c->stop_signal = xstrdup("SIGKILL");
  return c;
}

static void assert_str(const char *a, const char *b)
{
  if (!a || !b)
    assert_ptr_equal(a, b);
  else
    assert_string_equal(a, b);
}

static void assert_strv(char *const *a, char *const *b)
{
  assert_int_equal(mascri_strv_length(a), mascri_strv_length(b));
  for (size_t i = 0; a && a[i]; i++)
    assert_string_equal(a[i], b[i]);
}

static void assert_kv(const struct mascri_kv_list *a, const struct mascri_kv_list *b)
{
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_string_equal(a->v[i].key, b->v[i].key);
    assert_string_equal(a->v[i].value, b->v[i].value);
  }
}

static void assert_profile(const struct mascri_security_profile *a,
                           const struct mascri_security_profile *b)
{
  assert_int_equal(a->set, b->set);
  assert_int_equal(a->type, b->type);
  assert_str(a->localhost_ref, b->localhost_ref);
}

static void assert_resources(const struct mascri_ctr_resources *a,
                             const struct mascri_ctr_resources *b)
{
  assert_int_equal(a->set, b->set);
  assert_int_equal(a->cpu_period, b->cpu_period);
  assert_int_equal(a->cpu_quota, b->cpu_quota);
  assert_int_equal(a->cpu_shares, b->cpu_shares);
  assert_int_equal(a->memory_limit_in_bytes, b->memory_limit_in_bytes);
  assert_int_equal(a->memory_swap_limit_in_bytes, b->memory_swap_limit_in_bytes);
  assert_int_equal(a->oom_score_adj, b->oom_score_adj);
  assert_str(a->cpuset_cpus, b->cpuset_cpus);
  assert_str(a->cpuset_mems, b->cpuset_mems);
  assert_int_equal(a->n_hugepage_limits, b->n_hugepage_limits);
  for (size_t i = 0; i < a->n_hugepage_limits; i++) {
    assert_str(a->hugepage_limits[i].page_size, b->hugepage_limits[i].page_size);
    assert_int_equal(a->hugepage_limits[i].limit, b->hugepage_limits[i].limit);
  }
  assert_kv(&a->unified, &b->unified);
}

static void assert_security(const struct mascri_ctr_security *a,
                            const struct mascri_ctr_security *b)
{
  assert_strv(a->add_caps, b->add_caps);
  assert_strv(a->drop_caps, b->drop_caps);
  assert_strv(a->add_ambient_caps, b->add_ambient_caps);
  assert_int_equal(a->privileged, b->privileged);
  assert_int_equal(a->readonly_rootfs, b->readonly_rootfs);
  assert_int_equal(a->no_new_privs, b->no_new_privs);
  assert_int_equal(a->has_namespace_options, b->has_namespace_options);
  assert_int_equal(a->namespace_options.network, b->namespace_options.network);
  assert_int_equal(a->namespace_options.pid, b->namespace_options.pid);
  assert_int_equal(a->namespace_options.ipc, b->namespace_options.ipc);
  assert_int_equal(a->namespace_options.userns, b->namespace_options.userns);
  assert_str(a->namespace_options.target_id, b->namespace_options.target_id);
  assert_int_equal(a->has_run_as_user, b->has_run_as_user);
  assert_int_equal(a->run_as_user, b->run_as_user);
  assert_int_equal(a->has_run_as_group, b->has_run_as_group);
  assert_int_equal(a->run_as_group, b->run_as_group);
  assert_str(a->run_as_username, b->run_as_username);
  assert_int_equal(a->n_supplemental_groups, b->n_supplemental_groups);
  for (size_t i = 0; i < a->n_supplemental_groups; i++)
    assert_int_equal(a->supplemental_groups[i], b->supplemental_groups[i]);
  assert_strv(a->masked_paths, b->masked_paths);
  assert_strv(a->readonly_paths, b->readonly_paths);
  assert_profile(&a->seccomp, &b->seccomp);
  assert_profile(&a->apparmor, &b->apparmor);
  assert_str(a->seccomp_profile_path, b->seccomp_profile_path);
}

static void assert_lists(const struct mascri_ctr_config *a, const struct mascri_ctr_config *b)
{
  assert_int_equal(a->n_mounts, b->n_mounts);
  for (size_t i = 0; i < a->n_mounts; i++) {
    const struct mascri_ctr_mount *x = &a->mounts[i], *y = &b->mounts[i];
    assert_str(x->container_path, y->container_path);
    assert_str(x->host_path, y->host_path);
    assert_int_equal(x->readonly, y->readonly);
    assert_int_equal(x->selinux_relabel, y->selinux_relabel);
    assert_int_equal(x->recursive_read_only, y->recursive_read_only);
    assert_int_equal(x->propagation, y->propagation);
    assert_int_equal(x->id_mapped, y->id_mapped);
    assert_str(x->image, y->image);
  }
  assert_int_equal(a->n_devices, b->n_devices);
  for (size_t i = 0; i < a->n_devices; i++) {
    assert_str(a->devices[i].container_path, b->devices[i].container_path);
    assert_str(a->devices[i].host_path, b->devices[i].host_path);
    assert_str(a->devices[i].permissions, b->devices[i].permissions);
  }
  assert_kv(&a->envs, &b->envs);
  assert_kv(&a->labels, &b->labels);
  assert_kv(&a->annotations, &b->annotations);
}

/* Field by field, so that a field the JSON form forgets is caught (comparing the JSON
 * forms, as mascri_ctr_config_equal does, would not see it). */
static void assert_config(const struct mascri_ctr_config *a, const struct mascri_ctr_config *b)
{
  assert_str(a->metadata.name, b->metadata.name);
  assert_int_equal(a->metadata.attempt, b->metadata.attempt);
  assert_str(a->image.image, b->image.image);
  assert_str(a->image.user_specified_image, b->image.user_specified_image);
  assert_str(a->image.runtime_handler, b->image.runtime_handler);
  assert_kv(&a->image.annotations, &b->image.annotations);
  assert_strv(a->command, b->command);
  assert_strv(a->args, b->args);
  assert_str(a->working_dir, b->working_dir);
  assert_lists(a, b);
  assert_str(a->log_path, b->log_path);
  assert_int_equal(a->stdin_, b->stdin_);
  assert_int_equal(a->stdin_once, b->stdin_once);
  assert_int_equal(a->tty, b->tty);
  assert_resources(&a->resources, &b->resources);
  assert_security(&a->security, &b->security);
  assert_str(a->stop_signal, b->stop_signal);
}

static char *gen_text(const struct mascri_ctr_config *c)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(true);
  yajl_gen_map_open(g);
  mascri_ctr_config_gen(g, "config", c);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

static int parse_text(const char *text, struct mascri_ctr_config *out, mascri_error_t *err)
{
  _cleanup_json_ yajl_val root = NULL;
  if (mascri_json_parse(text, strlen(text), "test", &root, err) < 0)
    return -1;
  return mascri_ctr_config_parse(root, "config", out, err);
}

static void test_round_trip(void **state)
{
  (void)state;
  _cleanup_ctr_config_ struct mascri_ctr_config *c = full_config();
  _cleanup_free_ char *text = gen_text(c);
  _cleanup_ctr_config_ struct mascri_ctr_config *back = mascri_ctr_config_new();
  _cleanup_error_ mascri_error_t err = NULL;
  if (parse_text(text, back, &err) < 0)
    fail_msg("parse: %s", mascri_error_message(&err));
  assert_config(c, back);
  assert_true(mascri_ctr_config_equal(c, back));
  _cleanup_free_ char *again = gen_text(back);
  assert_string_equal(text, again);
}

static void test_empty_round_trip(void **state)
{
  (void)state;
  _cleanup_ctr_config_ struct mascri_ctr_config *c = mascri_ctr_config_new();
  c->security.namespace_options.userns = MASCRI_NS_MODE_NODE;
  _cleanup_free_ char *text = gen_text(c);
  _cleanup_ctr_config_ struct mascri_ctr_config *back = full_config(); /* cleared by parse */
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(parse_text(text, back, &err), 0);
  assert_config(c, back);
  assert_false(back->resources.set);
  assert_false(back->security.has_run_as_user);
  assert_false(back->security.has_namespace_options);
}

static void test_dup_and_equal(void **state)
{
  (void)state;
  _cleanup_ctr_config_ struct mascri_ctr_config *c = full_config();
  _cleanup_ctr_config_ struct mascri_ctr_config *d = mascri_ctr_config_dup(c);
  assert_config(c, d);
  assert_true(mascri_ctr_config_equal(c, d));
  assert_ptr_not_equal(c->mounts[0].host_path, d->mounts[0].host_path);
  free(d->envs.v[1].value);
  d->envs.v[1].value = xstrdup("other");
  assert_false(mascri_ctr_config_equal(c, d));
  d->envs.v[1].value[0] = '2', d->envs.v[1].value[1] = '\0';
  assert_true(mascri_ctr_config_equal(c, d));
  d->security.has_run_as_user = false; /* absent is not root */
  assert_false(mascri_ctr_config_equal(c, d));
  mascri_ctr_resources_clear(&d->resources);
  mascri_ctr_resources_copy(&d->resources, &c->resources);
  assert_resources(&c->resources, &d->resources);
}

/* Each bad document fails with an error naming the path to the bad member. */
static void test_wrong_shapes(void **state)
{
  (void)state;
  const struct {
    const char *json, *names;
  } cases[] = {
      {"{\"config\":[]}", "config: expected an object"},
      {"{\"config\":{\"metadata\":{\"attempt\":\"1\"}}}", "config: metadata: attempt"},
      {"{\"config\":{\"command\":\"ls\"}}", "config: command"},
      {"{\"config\":{\"envs\":{\"A\":\"1\"}}}", "config: envs: expected an array"},
      {"{\"config\":{\"envs\":[{\"key\":1}]}}", "config: envs[0]: key"},
      {"{\"config\":{\"mounts\":[{\"readonly\":\"yes\"}]}}", "config: mounts[0]: readonly"},
      {"{\"config\":{\"mounts\":[{},{\"propagation\":7}]}}", "config: mounts[1]: propagation"},
      {"{\"config\":{\"mounts\":[3]}}", "config: mounts[0]: expected an object"},
      {"{\"config\":{\"devices\":[{\"hostPath\":[]}]}}", "config: devices[0]: hostPath"},
      {"{\"config\":{\"labels\":{\"a\":1}}}", "config: labels.a"},
      {"{\"config\":{\"tty\":1}}", "config: tty"},
      {"{\"config\":{\"image\":{\"annotations\":[]}}}", "config: image: annotations"},
      {"{\"config\":{\"resources\":{\"cpuShares\":1.5}}}", "config: resources: cpuShares"},
      {"{\"config\":{\"resources\":{\"hugepageLimits\":[{\"limit\":-1}]}}}",
       "config: resources: hugepageLimits[0]: limit"},
      {"{\"config\":{\"securityContext\":{\"runAsUser\":\"0\"}}}",
       "config: securityContext: runAsUser"},
      {"{\"config\":{\"securityContext\":{\"supplementalGroups\":[\"a\"]}}}",
       "config: securityContext: supplementalGroups[0]"},
      {"{\"config\":{\"securityContext\":{\"namespaceOptions\":{\"pid\":9}}}}",
       "config: securityContext: namespaceOptions: pid"},
      {"{\"config\":{\"securityContext\":{\"seccomp\":{\"type\":\"x\"}}}}",
       "config: securityContext: seccomp: type"},
      {"{\"config\":{\"stopSignal\":15}}", "config: stopSignal"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    _cleanup_ctr_config_ struct mascri_ctr_config *c = mascri_ctr_config_new();
    _cleanup_error_ mascri_error_t err = NULL;
    assert_int_equal(parse_text(cases[i].json, c, &err), -1);
    if (strncmp(mascri_error_message(&err), cases[i].names, strlen(cases[i].names)) != 0)
      fail_msg("%s: \"%s\" does not start with \"%s\"", cases[i].json, mascri_error_message(&err),
               cases[i].names);
    assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_empty_round_trip),
      cmocka_unit_test(test_dup_and_equal),
      cmocka_unit_test(test_wrong_shapes),
  };
  return cmocka_run_group_tests_name("sandbox-ctr-config", tests, NULL, NULL);
}
