/* The seccomp section of a CRI container's config.json: which profile, and the default
 * profile's emission from its table (ctr-seccomp-table.c). */
#include "sandbox/ctr-seccomp.h"

#include <string.h>

#include "common/json.h"
#include "sandbox/ctr-seccomp-internal.h"

const char *ctr_seccomp_native_arch(void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#else
  return "unknown";
#endif
}

const char *const *ctr_seccomp_host_architectures(void)
{
#if defined(__x86_64__)
  static const char *const arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
  return arches;
#elif defined(__aarch64__)
  static const char *const arches[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL};
  return arches;
#else
  return NULL;
#endif
}

bool ctr_seccomp_has_cap(char *const *caps, const char *cap)
{
  for (size_t i = 0; caps && caps[i]; i++)
    if (strcmp(caps[i], cap) == 0)
      return true;
  return false;
}

static bool group_applies(const struct ctr_seccomp_group *grp, char *const *caps)
{
  if (grp->cap && !ctr_seccomp_has_cap(caps, grp->cap))
    return false;
  if (grp->without_cap && ctr_seccomp_has_cap(caps, grp->without_cap))
    return false;
  if (grp->arch && strcmp(grp->arch, ctr_seccomp_native_arch()) != 0)
    return false;
  return true;
}

static void gen_group(yajl_gen g, const struct ctr_seccomp_group *grp)
{
  yajl_gen_map_open(g);
  mascri_json_gen_key(g, "names");
  yajl_gen_array_open(g);
  for (size_t i = 0; grp->names[i]; i++)
    mascri_json_gen_string(g, grp->names[i]);
  yajl_gen_array_close(g);
  mascri_json_gen_kv_string(g, "action", grp->action ? grp->action : "SCMP_ACT_ALLOW");
  if (grp->errno_ret)
    mascri_json_gen_kv_uint(g, "errnoRet", grp->errno_ret);
  if (grp->n_args > 0) {
    mascri_json_gen_key(g, "args");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < grp->n_args; i++) {
      const struct ctr_seccomp_arg *a = &grp->args[i];
      yajl_gen_map_open(g);
      mascri_json_gen_kv_uint(g, "index", a->index);
      mascri_json_gen_kv_uint(g, "value", a->value);
      mascri_json_gen_kv_uint(g, "valueTwo", a->value_two);
      mascri_json_gen_kv_string(g, "op", a->op);
      yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
  }
  yajl_gen_map_close(g);
}

void ctr_seccomp_gen_default(yajl_gen g, char *const *caps)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "defaultAction", "SCMP_ACT_ERRNO");
  mascri_json_gen_kv_uint(g, "defaultErrnoRet", 1); /* EPERM */
  const char *const *arches = ctr_seccomp_host_architectures();
  if (arches)
    mascri_json_gen_kv_strv(g, "architectures", (char *const *)arches);
  mascri_json_gen_key(g, "syscalls");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < ctr_seccomp_n_default_groups; i++)
    if (group_applies(&ctr_seccomp_default_groups[i], caps))
      gen_group(g, &ctr_seccomp_default_groups[i]);
  yajl_gen_array_close(g);
  yajl_gen_map_close(g);
}

enum profile { PROFILE_NONE, PROFILE_DEFAULT, PROFILE_FILE };

/* The deprecated seccomp_profile_path. */
static int choose_by_path(const char *p, const char **file, mascri_error_t *err)
{
  if (p == NULL || p[0] == '\0' || strcmp(p, "unconfined") == 0)
    return PROFILE_NONE;
  if (strcmp(p, "runtime/default") == 0 || strcmp(p, "docker/default") == 0)
    return PROFILE_DEFAULT;
  if (strncmp(p, "localhost/", 10) == 0 && p[10] == '/') {
    *file = p + 10;
    return PROFILE_FILE;
  }
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                "security_context.seccomp_profile_path: \"%s\" is not "
                                "\"runtime/default\", \"unconfined\" or \"localhost/<absolute "
                                "path>\"",
                                p);
}

static int choose(const struct mascri_ctr_security *sc, bool privileged, const char **file,
                  const char **field, mascri_error_t *err)
{
  if (privileged || sc == NULL)
    return PROFILE_NONE;
  const struct mascri_security_profile *sp = &sc->seccomp;
  if (!sp->set) {
    /* still sent by older kubelets and crictl configs */
    *field = "security_context.seccomp_profile_path";
    return choose_by_path(sc->seccomp_profile_path, file, err);
  }
  *field = "security_context.seccomp.localhost_ref";
  switch (sp->type) {
  case MASCRI_PROFILE_RUNTIME_DEFAULT:
    return PROFILE_DEFAULT;
  case MASCRI_PROFILE_UNCONFINED:
    return PROFILE_NONE;
  case MASCRI_PROFILE_LOCALHOST:
    if (sp->localhost_ref == NULL || sp->localhost_ref[0] != '/')
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "%s: \"%s\" is not an absolute path", *field,
                                    sp->localhost_ref ? sp->localhost_ref : "");
    *file = sp->localhost_ref;
    return PROFILE_FILE;
  default:
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "security_context.seccomp.profile_type: unknown type %d",
                                  (int)sp->type);
  }
}

int mascri_ctr_seccomp_gen(yajl_gen g, const struct mascri_ctr_security *sc, bool privileged,
                           char *const *caps, mascri_error_t *err)
{
  const char *file = NULL, *field = NULL;
  int which = choose(sc, privileged, &file, &field, err);
  if (which < 0)
    return -1;
  if (which == PROFILE_NONE)
    return 0;
  _cleanup_json_ yajl_val profile = NULL;
  if (which == PROFILE_FILE && ctr_seccomp_load_file(file, field, &profile, err) < 0)
    return -1;
  mascri_json_gen_key(g, "seccomp");
  if (which == PROFILE_DEFAULT)
    ctr_seccomp_gen_default(g, caps);
  else
    ctr_seccomp_gen_loaded(g, profile, caps);
  return 0;
}
