/* AppArmor and SELinux labels at exec (lsm.h). */
#include "runtime/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/mount-util.h"

#define SELINUX_MAGIC 0xf97cff8cU

/* Lazily probed kernel features (see lsm.h): -1 not probed yet, else 0 or 1. */
static int apparmor_on = -1, selinux_on = -1;

static bool apparmor_probe(void)
{
  _cleanup_close_ int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  char c = 0;
  return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

static bool selinux_probe(void)
{
  struct statfs st;
  return statfs("/sys/fs/selinux", &st) == 0 && (unsigned)st.f_type == SELINUX_MAGIC;
}

void mascri_lsm_probe(void)
{
  if (apparmor_on < 0)
    apparmor_on = apparmor_probe();
  if (selinux_on < 0)
    selinux_on = selinux_probe();
}

bool mascri_lsm_enabled(mascri_lsm_t lsm)
{
  mascri_lsm_probe();
  return lsm == MASCRI_LSM_APPARMOR ? apparmor_on : selinux_on;
}

void mascri_lsm_exec_attr(mascri_lsm_t lsm, const char *label, bool apparmor_dir, const char **file,
                          char **text)
{
  if (lsm == MASCRI_LSM_APPARMOR) {
    *file = apparmor_dir ? "thread-self/attr/apparmor/exec" : "thread-self/attr/exec";
    *text = xasprintf("exec %s", label);
  } else {
    *file = "thread-self/attr/exec";
    *text = xstrdup(label);
  }
}

static int apply_one(mascri_lsm_t lsm, const char *field, const char *label, mascri_error_t *err)
{
  if (!label || !label[0])
    return 0;
  if (!mascri_lsm_enabled(lsm)) {
    log_warning("process.%s \"%s\" not applied: %s is not enabled on this host", field, label,
                lsm == MASCRI_LSM_APPARMOR ? "AppArmor" : "SELinux");
    return 0;
  }
  const char *file = NULL;
  _cleanup_free_ char *text = NULL;
  bool dir = access("/proc/thread-self/attr/apparmor", F_OK) == 0;
  mascri_lsm_exec_attr(lsm, label, dir, &file, &text);
  if (procfs_write(file, text, err) < 0)
    return mascri_error_wrap(err, "process.%s \"%s\"", field, label);
  return 0;
}

int mascri_lsm_apply(const mascri_spec_process_t *p, mascri_error_t *err)
{
  if (apply_one(MASCRI_LSM_APPARMOR, "apparmorProfile", p->apparmor_profile, err) < 0 ||
      apply_one(MASCRI_LSM_SELINUX, "selinuxLabel", p->selinux_label, err) < 0)
    return -1;
  return 0;
}
