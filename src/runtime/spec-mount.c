/* Mount options ("ro", "nosuid", "rbind", "rshared", "mode=755", ...) → MS_* flags,
 * propagation and the data string. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/spec-internal.h"

struct mount_option {
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct mount_option mount_flags[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
};

static const struct mount_option propagation_flags[] = {
    {"private", false, MS_PRIVATE},       {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},         {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},           {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

int spec_parse_propagation(const char *name, unsigned long *out)
{
  for (size_t i = 0; i < ARRAY_SIZE(propagation_flags); i++)
    if (strcmp(name, propagation_flags[i].name) == 0) {
      *out = propagation_flags[i].flag;
      return 0;
    }
  return -1;
}

static bool apply_flag(mascri_spec_mount_t *m, const char *opt)
{
  for (size_t i = 0; i < ARRAY_SIZE(mount_flags); i++) {
    if (strcmp(opt, mount_flags[i].name) != 0)
      continue;
    if (mount_flags[i].clear) {
      m->flags &= ~mount_flags[i].flag;
      m->clear_flags |= mount_flags[i].flag;
    } else {
      m->flags |= mount_flags[i].flag;
      m->clear_flags &= ~mount_flags[i].flag;
    }
    return true;
  }
  return false;
}

int spec_parse_mount_options(mascri_spec_mount_t *m, const char *where, mascri_error_t *err)
{
  _cleanup_strv_ char **data = NULL;
  if (m->type && strcmp(m->type, "bind") == 0)
    m->bind = true;
  for (size_t i = 0; m->options && m->options[i]; i++) {
    const char *opt = m->options[i];
    unsigned long prop = 0;
    if (strcmp(opt, "bind") == 0) {
      m->bind = true;
    } else if (strcmp(opt, "rbind") == 0) {
      m->bind = true;
      m->recursive = true;
    } else if (strcmp(opt, "tmpcopyup") == 0) {
      m->tmpcopyup = true;
    } else if (spec_parse_propagation(opt, &prop) == 0) {
      m->propagation = prop;
    } else if (!apply_flag(m, opt)) {
      if (opt[0] == '\0')
        return spec_field_error(err, where, "options", "empty option");
      mascri_strv_append(&data, opt);
    }
  }
  if (data)
    m->data = mascri_strv_join(data, ",");
  if (!m->bind && m->type == NULL)
    return spec_field_error(err, where, "type", "required for a mount that is not a bind mount");
  return 0;
}
