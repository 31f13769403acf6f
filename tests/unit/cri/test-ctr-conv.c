/* The container config, protobuf -> plain: the converter of old (version 1) container records
 * reads a packed ContainerConfig with many fields set; the status messages go back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "cri/rpc-ctr-conv.h"

/* the deprecated seccomp_profile_path is converted on purpose */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* A ContainerConfig on the stack (every pointer borrowed), packed by the test. */
struct pb_config {
  Runtime__V1__ContainerConfig c;
  Runtime__V1__ContainerMetadata md;
  Runtime__V1__ImageSpec image;
  Runtime__V1__ImageSpec__AnnotationsEntry img_ann, *img_anns[1];
  Runtime__V1__KeyValue env[2], *envs[2];
  Runtime__V1__Mount mount, *mounts[1];
  Runtime__V1__IDMapping idmap, *idmaps[1];
  Runtime__V1__Device device, *devices[1];
  Runtime__V1__ContainerConfig__LabelsEntry label, *labels[1];
  Runtime__V1__ContainerConfig__AnnotationsEntry ann, *anns[1];
  Runtime__V1__LinuxContainerConfig lx;
  Runtime__V1__LinuxContainerResources res;
  Runtime__V1__HugepageLimit huge, *huges[1];
  Runtime__V1__LinuxContainerResources__UnifiedEntry unified, *unifieds[1];
  Runtime__V1__LinuxContainerSecurityContext sc;
  Runtime__V1__Capability cap;
  Runtime__V1__NamespaceOption ns;
  Runtime__V1__Int64Value uid, gid;
  Runtime__V1__SecurityProfile seccomp, apparmor;
  int64_t groups[2];
};

/* Static: compound literals would not outlive the functions filling the config. */
static char *add_caps[] = {"NET_ADMIN"};
static char *masked[] = {"/proc/a"};
static char *command[] = {"sh", "-c"};
static char *args[] = {"true"};

static void init_linux(struct pb_config *p)
{
  runtime__v1__linux_container_config__init(&p->lx);
  runtime__v1__linux_container_resources__init(&p->res);
  p->res.cpu_period = 100000;
  p->res.cpu_quota = 50000;
  p->res.cpu_shares = 256;
  p->res.memory_limit_in_bytes = 64 << 20;
  p->res.memory_swap_limit_in_bytes = 128 << 20;
  p->res.oom_score_adj = 500;
  p->res.cpuset_cpus = "0";
  runtime__v1__hugepage_limit__init(&p->huge);
  p->huge.page_size = "2MB";
  p->huge.limit = 1 << 21;
  p->huges[0] = &p->huge;
  p->res.hugepage_limits = p->huges;
  p->res.n_hugepage_limits = 1;
  runtime__v1__linux_container_resources__unified_entry__init(&p->unified);
  p->unified.key = "memory.high";
  p->unified.value = "50M";
  p->unifieds[0] = &p->unified;
  p->res.unified = p->unifieds;
  p->res.n_unified = 1;
  runtime__v1__linux_container_security_context__init(&p->sc);
  runtime__v1__capability__init(&p->cap);
  p->cap.add_capabilities = add_caps;
  p->cap.n_add_capabilities = 1;
  p->sc.capabilities = &p->cap;
  p->sc.privileged = true;
  runtime__v1__namespace_option__init(&p->ns);
  p->ns.pid = RUNTIME__V1__NAMESPACE_MODE__TARGET;
  p->ns.target_id = "t1";
  p->sc.namespace_options = &p->ns;
  runtime__v1__int64_value__init(&p->uid);
  p->uid.value = 0; /* root: given, not absent */
  p->sc.run_as_user = &p->uid;
  p->groups[0] = 10, p->groups[1] = 20;
  p->sc.supplemental_groups = p->groups;
  p->sc.n_supplemental_groups = 2;
  p->sc.masked_paths = masked;
  p->sc.n_masked_paths = 1;
  runtime__v1__security_profile__init(&p->seccomp);
  p->seccomp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
  p->seccomp.localhost_ref = "/profiles/x.json";
  p->sc.seccomp = &p->seccomp;
  runtime__v1__security_profile__init(&p->apparmor);
  p->sc.apparmor = &p->apparmor; /* RuntimeDefault */
  p->sc.seccomp_profile_path = "unconfined";
  p->sc.no_new_privs = true;
  p->lx.resources = &p->res;
  p->lx.security_context = &p->sc;
  p->c.linux = &p->lx;
}

static void init_lists(struct pb_config *p)
{
  const char *env[][2] = {{"A", "1"}, {"A", "2"}};
  for (size_t i = 0; i < 2; i++) {
    runtime__v1__key_value__init(&p->env[i]);
    p->env[i].key = (char *)env[i][0];
    p->env[i].value = (char *)env[i][1];
    p->envs[i] = &p->env[i];
  }
  p->c.envs = p->envs;
  p->c.n_envs = 2;
  runtime__v1__mount__init(&p->mount);
  p->mount.container_path = "/data";
  p->mount.host_path = "/var/data";
  p->mount.readonly = true;
  p->mount.propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER;
  runtime__v1__idmapping__init(&p->idmap);
  p->idmaps[0] = &p->idmap;
  p->mount.gidmappings = p->idmaps;
  p->mount.n_gidmappings = 1;
  p->mounts[0] = &p->mount;
  p->c.mounts = p->mounts;
  p->c.n_mounts = 1;
  runtime__v1__device__init(&p->device);
  p->device.container_path = "/dev/x";
  p->device.host_path = "/dev/null";
  p->device.permissions = "r";
  p->devices[0] = &p->device;
  p->c.devices = p->devices;
  p->c.n_devices = 1;
  runtime__v1__container_config__labels_entry__init(&p->label);
  p->label.key = "app";
  p->label.value = "web";
  p->labels[0] = &p->label;
  p->c.labels = p->labels;
  p->c.n_labels = 1;
  runtime__v1__container_config__annotations_entry__init(&p->ann);
  p->ann.key = "a";
  p->ann.value = "b";
  p->anns[0] = &p->ann;
  p->c.annotations = p->anns;
  p->c.n_annotations = 1;
}

static void init_config(struct pb_config *p)
{
  memset(p, 0, sizeof(*p));
  runtime__v1__container_config__init(&p->c);
  runtime__v1__container_metadata__init(&p->md);
  p->md.name = "app";
  p->md.attempt = 2;
  p->c.metadata = &p->md;
  runtime__v1__image_spec__init(&p->image);
  p->image.image = "busybox";
  p->image.user_specified_image = "docker.io/busybox";
  runtime__v1__image_spec__annotations_entry__init(&p->img_ann);
  p->img_ann.key = "k";
  p->img_ann.value = "v";
  p->img_anns[0] = &p->img_ann;
  p->image.annotations = p->img_anns;
  p->image.n_annotations = 1;
  p->c.image = &p->image;
  p->c.command = command;
  p->c.n_command = 2;
  p->c.args = args;
  p->c.n_args = 1;
  p->c.working_dir = "/w";
  p->c.log_path = "app/2.log";
  p->c.stdin = true;
  p->c.tty = true;
  p->c.stop_signal = RUNTIME__V1__SIGNAL__SIGUSR1;
  init_lists(p);
  init_linux(p);
}

static uint8_t *pack(const Runtime__V1__ContainerConfig *c, size_t *len)
{
  *len = runtime__v1__container_config__get_packed_size(c);
  uint8_t *buf = xmalloc(*len + 1);
  runtime__v1__container_config__pack(c, buf);
  return buf;
}

static void check_linux(const struct mascri_ctr_config *c)
{
  const struct mascri_ctr_resources *r = &c->resources;
  assert_true(r->set);
  assert_int_equal(r->cpu_period, 100000);
  assert_int_equal(r->cpu_quota, 50000);
  assert_int_equal(r->cpu_shares, 256);
  assert_int_equal(r->memory_limit_in_bytes, 64 << 20);
  assert_int_equal(r->memory_swap_limit_in_bytes, 128 << 20);
  assert_int_equal(r->oom_score_adj, 500);
  assert_string_equal(r->cpuset_cpus, "0");
  assert_null(r->cpuset_mems); /* protobuf's "" is absent */
  assert_int_equal(r->n_hugepage_limits, 1);
  assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
  assert_int_equal(r->hugepage_limits[0].limit, 1 << 21);
  assert_string_equal(mascri_kv_list_get(&r->unified, "memory.high"), "50M");
  const struct mascri_ctr_security *s = &c->security;
  assert_string_equal(s->add_caps[0], "NET_ADMIN");
  assert_null(s->add_caps[1]);
  assert_null(s->drop_caps);
  assert_true(s->privileged && s->no_new_privs && !s->readonly_rootfs);
  assert_true(s->has_namespace_options);
  assert_int_equal(s->namespace_options.pid, MASCRI_NS_MODE_TARGET);
  assert_int_equal(s->namespace_options.userns, MASCRI_NS_MODE_NODE);
  assert_string_equal(s->namespace_options.target_id, "t1");
  assert_true(s->has_run_as_user);
  assert_int_equal(s->run_as_user, 0);
  assert_false(s->has_run_as_group);
  assert_int_equal(s->n_supplemental_groups, 2);
  assert_int_equal(s->supplemental_groups[1], 20);
  assert_string_equal(s->masked_paths[0], "/proc/a");
  assert_null(s->readonly_paths);
  assert_true(s->seccomp.set);
  assert_int_equal(s->seccomp.type, MASCRI_PROFILE_LOCALHOST);
  assert_string_equal(s->seccomp.localhost_ref, "/profiles/x.json");
  assert_true(s->apparmor.set);
  assert_int_equal(s->apparmor.type, MASCRI_PROFILE_RUNTIME_DEFAULT);
  assert_string_equal(s->seccomp_profile_path, "unconfined");
}

static void check_config(const struct mascri_ctr_config *c)
{
  assert_string_equal(c->metadata.name, "app");
  assert_int_equal(c->metadata.attempt, 2);
  assert_string_equal(c->image.image, "busybox");
  assert_string_equal(c->image.user_specified_image, "docker.io/busybox");
  assert_null(c->image.runtime_handler);
  assert_string_equal(mascri_kv_list_get(&c->image.annotations, "k"), "v");
  assert_string_equal(c->command[1], "-c");
  assert_string_equal(c->args[0], "true");
  assert_string_equal(c->working_dir, "/w");
  assert_int_equal(c->envs.n, 2);
  assert_string_equal(c->envs.v[1].value, "2");
  assert_int_equal(c->n_mounts, 1);
  assert_string_equal(c->mounts[0].host_path, "/var/data");
  assert_true(c->mounts[0].readonly && c->mounts[0].id_mapped);
  assert_int_equal(c->mounts[0].propagation, MASCRI_PROPAGATION_HOST_TO_CONTAINER);
  assert_null(c->mounts[0].image);
  assert_int_equal(c->n_devices, 1);
  assert_string_equal(c->devices[0].permissions, "r");
  assert_string_equal(mascri_kv_list_get(&c->labels, "app"), "web");
  assert_string_equal(mascri_kv_list_get(&c->annotations, "a"), "b");
  assert_string_equal(c->log_path, "app/2.log");
  assert_true(c->stdin_ && c->tty && !c->stdin_once);
  assert_string_equal(c->stop_signal, "SIGUSR1");
  check_linux(c);
}

static void test_legacy_config(void **state)
{
  (void)state;
  struct pb_config *p = xmalloc(sizeof(*p));
  init_config(p);
  size_t len = 0;
  _cleanup_free_ uint8_t *buf = pack(&p->c, &len);
  free(p);
  _cleanup_ctr_config_ struct mascri_ctr_config *c = mascri_ctr_config_new();
  mascri_kv_list_add(&c->labels, "stale", "x"); /* cleared first */
  _cleanup_error_ mascri_error_t err = NULL;
  if (mascri_conv_ctr_legacy_config(buf, len, c, &err) < 0)
    fail_msg("convert: %s", mascri_error_message(&err));
  check_config(c);
  assert_null(mascri_kv_list_get(&c->labels, "stale"));
}

static void test_legacy_garbage(void **state)
{
  (void)state;
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  _cleanup_ctr_config_ struct mascri_ctr_config *c = mascri_ctr_config_new();
  _cleanup_error_ mascri_error_t err = NULL;
  assert_int_equal(mascri_conv_ctr_legacy_config(junk, sizeof(junk), c, &err), -1);
  assert_int_equal(mascri_error_kind(&err), MASCRI_ERR_INVALID_ARGUMENT);
}

/* What ContainerStatus reports: the same resources, mounts and stop signal as were given. */
static void test_out(void **state)
{
  (void)state;
  struct pb_config *p = xmalloc(sizeof(*p));
  init_config(p);
  _cleanup_ctr_config_ struct mascri_ctr_config *c = mascri_ctr_config_new();
  mascri_conv_ctr_config_in(c, &p->c);
  Runtime__V1__LinuxContainerResources *r = mascri_conv_ctr_resources_out(&c->resources);
  size_t a = runtime__v1__linux_container_resources__get_packed_size(r);
  size_t b = runtime__v1__linux_container_resources__get_packed_size(&p->res);
  assert_int_equal(a, b);
  _cleanup_free_ uint8_t *x = xmalloc(a + 1), *y = xmalloc(b + 1);
  runtime__v1__linux_container_resources__pack(r, x);
  runtime__v1__linux_container_resources__pack(&p->res, y);
  assert_memory_equal(x, y, a);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  Runtime__V1__Mount *m = mascri_conv_ctr_mount_out(&c->mounts[0]);
  assert_string_equal(m->container_path, "/data");
  assert_int_equal(m->propagation, p->mount.propagation);
  assert_true(m->readonly);
  protobuf_c_message_free_unpacked(&m->base, NULL);
  assert_int_equal(mascri_conv_signal_out(c->stop_signal), RUNTIME__V1__SIGNAL__SIGUSR1);
  assert_int_equal(mascri_conv_signal_out(NULL), RUNTIME__V1__SIGNAL__RUNTIME_DEFAULT);
  free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_legacy_config),
      cmocka_unit_test(test_legacy_garbage),
      cmocka_unit_test(test_out),
  };
  return cmocka_run_group_tests_name("cri-ctr-conv", tests, NULL, NULL);
}
