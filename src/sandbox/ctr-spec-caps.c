/* The capability set of a CRI container: containerd's and CRI-O's default set, with the
 * security context's additions and drops. */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/caps.h"
#include "sandbox/ctr-spec-internal.h"

/* What containerd's CRI plugin (and Docker) give a container by default. */
static const char *const default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

/* Every capability the kernel knows that mascrid itself may hand out (its bounding set): a
 * host that withholds one (CAP_SYS_RESOURCE here) cannot give it to a container, so asking
 * for it would fail every privileged container (containerd's "all current capabilities"). */
char **ctr_spec_all_capabilities(void)
{
  char **all = NULL;
  int last = mascri_caps_last_cap();
  for (int i = 0; i <= last; i++) {
    if (prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) != 1)
      continue;
    char *name = cap_to_name((cap_value_t)i); /* "cap_chown", or a number when unknown */
    if (!name)
      continue;
    if (isdigit((unsigned char)name[0])) {
      cap_free(name);
      continue;
    }
    char *up = xasprintf("%s", name);
    cap_free(name);
    for (char *p = up; *p; p++)
      *p = (char)toupper((unsigned char)*p);
    mascri_strv_push(&all, up);
  }
  return all;
}

/* "CAP_SYS_ADMIN", "sys_admin" and "SYS_ADMIN" all name the same; NULL when unknown. */
static char *normalize(const char *name)
{
  _cleanup_free_ char *full =
      strncasecmp(name, "CAP_", 4) == 0 ? xstrdup(name) : xasprintf("CAP_%s", name);
  for (char *p = full; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  cap_value_t v;
  if (cap_from_name(full, &v) < 0 || (int)v > mascri_caps_last_cap())
    return NULL;
  for (char *p = full; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  return TAKE_PTR(full);
}

static bool has_all(char *const *names)
{
  for (size_t i = 0; names && names[i]; i++)
    if (strcasecmp(names[i], "ALL") == 0)
      return true;
  return false;
}

static void remove_name(char **v, const char *name)
{
  size_t j = 0;
  for (size_t i = 0; v && v[i]; i++) {
    if (strcmp(v[i], name) == 0)
      free(v[i]);
    else
      v[j++] = v[i];
  }
  if (v)
    v[j] = NULL;
}

static int apply_list(char ***caps, char *const *names, bool add, mascri_error_t *err)
{
  for (size_t i = 0; names && names[i]; i++) {
    if (strcasecmp(names[i], "ALL") == 0)
      continue;
    _cleanup_free_ char *cap = normalize(names[i]);
    if (!cap)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "linux.security_context.capabilities.%s_capabilities: "
                                    "unknown capability \"%s\"",
                                    add ? "add" : "drop", names[i]);
    if (!add)
      remove_name(*caps, cap);
    else if (!mascri_strv_contains(*caps, cap))
      mascri_strv_append(caps, cap);
  }
  return 0;
}

/* The configured default set, names checked and normalised. */
static int defaults_from(char *const *given, char ***out, mascri_error_t *err)
{
  _cleanup_strv_ char **caps = NULL;
  if (!given) {
    *out = mascri_strv_dup((char *const *)default_caps);
    return 0;
  }
  for (size_t i = 0; given[i]; i++) {
    _cleanup_free_ char *cap = normalize(given[i]);
    if (!cap)
      return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                    "default capabilities: unknown capability \"%s\"", given[i]);
    if (!mascri_strv_contains(caps, cap))
      mascri_strv_append(&caps, cap);
  }
  *out = caps ? TAKE_PTR(caps) : mascri_strv_dup((char *const[]){NULL});
  return 0;
}

int ctr_spec_capabilities(const struct mascri_ctr_security *sc, char *const *defaults, char ***out,
                          mascri_error_t *err)
{
  _cleanup_strv_ char **caps = NULL;
  if (sc->privileged) {
    *out = ctr_spec_all_capabilities();
    return 0;
  }
  /* add ALL then drop some, as containerd: drop ALL wins over defaults, adds come after */
  if (has_all(sc->add_caps))
    caps = ctr_spec_all_capabilities();
  else if (!has_all(sc->drop_caps) && defaults_from(defaults, &caps, err) < 0)
    return -1;
  if (apply_list(&caps, sc->drop_caps, false, err) < 0 ||
      apply_list(&caps, sc->add_caps, true, err) < 0)
    return -1;
  if (!caps)
    caps = mascri_strv_dup((char *const[]){NULL});
  *out = TAKE_PTR(caps);
  return 0;
}
