/* "mounts" of a CRI container: the runtime's standard filesystems, the pod's shared files
 * (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/shm), then the CRI mounts in order.
 * A CRI mount wins over a default at the same destination. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/mountinfo.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/ctr-spec-internal.h"

struct mount_def {
  const char *dest, *type, *source;
  const char *const *options; /* NULL-terminated */
};

static const char *const proc_opts[] = {"nosuid", "noexec", "nodev", NULL};
static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
static const char *const pts_opts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                       "mode=0620", "gid=5",  NULL};
static const char *const mqueue_opts[] = {"nosuid", "noexec", "nodev", NULL};
static const char *const sys_ro_opts[] = {"nosuid", "noexec", "nodev", "ro", NULL};
static const char *const sys_rw_opts[] = {"nosuid", "noexec", "nodev", "rw", NULL};
static const char *const cgroup_ro_opts[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};
static const char *const cgroup_rw_opts[] = {"nosuid", "noexec", "nodev", "relatime", "rw", NULL};
static const char *const shm_opts[] = {"nosuid",    "noexec",      "nodev",
                                       "mode=1777", "size=65536k", NULL};

/* Whether a CRI mount targets dest (so the default is left out). */
static bool cri_mounts(const struct mascri_ctr_config *cfg, const char *dest)
{
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const char *p = cfg->mounts[i].container_path;
    if (!p)
      continue;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
      n--;
    if (strlen(dest) == n && strncmp(p, dest, n) == 0)
      return true;
  }
  return false;
}

static void gen_mount(yajl_gen g, const char *dest, const char *type, const char *source,
                      const char *const *options)
{
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "destination", dest);
  mascri_json_gen_kv_string(g, "type", type);
  mascri_json_gen_kv_string(g, "source", source);
  mascri_json_gen_kv_strv(g, "options", (char *const *)options);
  yajl_gen_map_close(g);
}

static void gen_default(yajl_gen g, const struct ctr_spec_ctx *c, const struct mount_def *d)
{
  if (!cri_mounts(c->cfg, d->dest))
    gen_mount(g, d->dest, d->type, d->source, d->options);
}

static void gen_defaults(yajl_gen g, const struct ctr_spec_ctx *c)
{
  bool priv = c->privileged;
  const struct mount_def defs[] = {
      {"/proc", "proc", "proc", proc_opts},
      {"/dev", "tmpfs", "tmpfs", dev_opts},
      {"/dev/pts", "devpts", "devpts", pts_opts},
      {"/dev/mqueue", "mqueue", "mqueue", mqueue_opts},
      {"/sys", "sysfs", "sysfs", priv ? sys_rw_opts : sys_ro_opts},
      {"/sys/fs/cgroup", "cgroup", "cgroup", priv ? cgroup_rw_opts : cgroup_ro_opts},
  };
  for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
    gen_default(g, c, &defs[i]);
}

/* A host file of the pod bound into the container: rw unless the rootfs is readonly. */
static void gen_pod_file(yajl_gen g, const struct ctr_spec_ctx *c, const char *dest,
                         enum mascri_pod_path which)
{
  _cleanup_free_ char *host = mascri_pod_path(c->in->pod, which);
  if (!host || cri_mounts(c->cfg, dest))
    return;
  const char *opts[] = {
      "rbind", "rprivate", "nosuid", "nodev", "noexec", c->readonly_rootfs ? "ro" : "rw", NULL};
  gen_mount(g, dest, "bind", host, opts);
}

static void gen_pod_files(yajl_gen g, const struct ctr_spec_ctx *c)
{
  _cleanup_free_ char *shm = mascri_pod_path(c->in->pod, MASCRI_POD_SHM);
  if (cri_mounts(c->cfg, "/dev/shm")) {
    /* the CRI mount comes later */
  } else if (shm) {
    const char *opts[] = {"rbind", "rprivate", "nosuid", "nodev", "noexec", "rw", NULL};
    gen_mount(g, "/dev/shm", "bind", shm, opts);
  } else {
    gen_mount(g, "/dev/shm", "tmpfs", "shm", shm_opts);
  }
  gen_pod_file(g, c, "/etc/hosts", MASCRI_POD_HOSTS_FILE);
  gen_pod_file(g, c, "/etc/hostname", MASCRI_POD_HOSTNAME_FILE);
  gen_pod_file(g, c, "/etc/resolv.conf", MASCRI_POD_RESOLV_CONF);
}

static const char *propagation(enum mascri_mount_propagation p)
{
  switch (p) {
  case MASCRI_PROPAGATION_HOST_TO_CONTAINER:
    return "rslave";
  case MASCRI_PROPAGATION_BIDIRECTIONAL:
    return "rshared";
  default:
    return "rprivate";
  }
}

static int check_cri_mount(const struct mascri_ctr_mount *m, size_t i, mascri_error_t *err)
{
  const char *what = NULL;
  if (!m->container_path || m->container_path[0] != '/')
    what = "container_path is not an absolute path";
  else if (!m->host_path || m->host_path[0] != '/')
    what = m->image && *m->image ? "image volumes (mounts with an image) are not supported"
                                 : "host_path is not an absolute path";
  else if (m->id_mapped)
    what = "id-mapped mounts (uidmappings/gidmappings) are not supported";
  else if (m->recursive_read_only)
    what = "recursive read-only mounts are not supported (the runtime handler does not "
           "announce the feature)";
  if (!what)
    return 0;
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                "mounts[%zu] (container_path \"%s\", host_path \"%s\"): %s", i,
                                m->container_path ? m->container_path : "",
                                m->host_path ? m->host_path : "", what);
}

/* The host side of a propagating volume must be able to propagate: a bidirectional one sits
 * on a shared mount (else the container's mounts never reach the host), a host-to-container
 * one on a shared or slave mount (else the host's never reach the container). Checked as
 * containerd and CRI-O do, so that the pod fails at creation with the reason rather than
 * running without the propagation it asked for. */
static int check_propagation_source(const struct mascri_ctr_mount *m, size_t i, mascri_error_t *err)
{
  bool bidi = m->propagation == MASCRI_PROPAGATION_BIDIRECTIONAL;
  if (!bidi && m->propagation != MASCRI_PROPAGATION_HOST_TO_CONTAINER)
    return 0;
  mascri_mountinfo_t mi = {0};
  if (mascri_mountinfo_lookup(m->host_path, &mi, err) < 0)
    return mascri_error_wrap(err, "mounts[%zu]", i);
  bool ok = bidi ? mi.shared : mi.shared || mi.slave;
  int r = 0;
  if (!ok)
    r = mascri_make_error_kind(
        err, MASCRI_ERR_FAILED_PRECONDITION, 0,
        "mounts[%zu]: %s needs host_path \"%s\" on a %s mount, but it is on \"%s\", which "
        "is not (make it so, e.g. mount --make-rshared %s)",
        i, bidi ? "PROPAGATION_BIDIRECTIONAL" : "PROPAGATION_HOST_TO_CONTAINER", m->host_path,
        bidi ? "shared" : "shared or slave", mi.mountpoint, mi.mountpoint);
  mascri_mountinfo_clear(&mi);
  return r;
}

const char *ctr_spec_rootfs_propagation(const struct mascri_ctr_config *cfg)
{
  const char *prop = NULL;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    if (cfg->mounts[i].propagation == MASCRI_PROPAGATION_BIDIRECTIONAL)
      return "rshared";
    if (cfg->mounts[i].propagation == MASCRI_PROPAGATION_HOST_TO_CONTAINER)
      prop = "rslave";
  }
  return prop;
}

/* A host path that does not exist is made a directory, as the other runtimes do (kubelet
 * relies on it for hostPath volumes of type DirectoryOrCreate it did not create). */
static int ensure_host_path(const char *path, mascri_error_t *err)
{
  struct stat st;
  if (stat(path, &st) == 0)
    return 0;
  if (errno != ENOENT)
    return mascri_make_error(err, errno, "mount source %s", path);
  return mascri_mkdir_p(path, 0755, err);
}

static int gen_cri_mounts(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  for (size_t i = 0; i < c->cfg->n_mounts; i++) {
    const struct mascri_ctr_mount *m = &c->cfg->mounts[i];
    if (check_cri_mount(m, i, err) < 0)
      return -1;
    if (ensure_host_path(m->host_path, err) < 0)
      return mascri_error_wrap(err, "mounts[%zu]", i);
    if (check_propagation_source(m, i, err) < 0)
      return -1;
    const char *opts[] = {"rbind", propagation(m->propagation), m->readonly ? "ro" : "rw", NULL};
    gen_mount(g, m->container_path, "bind", m->host_path, opts);
  }
  return 0;
}

int ctr_spec_gen_mounts(yajl_gen g, const struct ctr_spec_ctx *c, mascri_error_t *err)
{
  mascri_json_gen_key(g, "mounts");
  yajl_gen_array_open(g);
  gen_defaults(g, c);
  gen_pod_files(g, c);
  if (gen_cri_mounts(g, c, err) < 0)
    return -1;
  yajl_gen_array_close(g);
  return 0;
}
