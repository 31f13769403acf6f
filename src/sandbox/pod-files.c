#include "sandbox/pod-files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xalloc.h"
#include "sandbox/pod-util.h"

static bool has_dns(const struct mascri_pod_dns *dns)
{
  return (dns->servers && dns->servers[0]) || (dns->searches && dns->searches[0]) ||
         (dns->options && dns->options[0]);
}

static int write_resolv(const char *dir, const struct mascri_pod_config *config,
                        struct mascri_pod_info *info, mascri_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (has_dns(&config->dns)) {
    text = mascri_pod_resolv_conf(&config->dns, err);
    if (!text)
      return -1;
    len = strlen(text);
  } else if (mascri_read_file("/etc/resolv.conf", &text, &len, err) < 0) {
    return mascri_error_wrap(err, "copy the host's resolv.conf");
  }
  _cleanup_free_ char *path = mascri_path_join(dir, "resolv.conf");
  if (mascri_write_file_atomic(path, text, len, 0644, err) < 0)
    return -1;
  info->paths |= 1u << MASCRI_POD_RESOLV_CONF;
  return 0;
}

static int mount_shm(const char *dir, struct mascri_pod_info *info, mascri_error_t *err)
{
  _cleanup_free_ char *path = mascri_path_join(dir, "shm");
  if (mkdir(path, 0755) < 0 && errno != EEXIST)
    return mascri_make_error(err, errno, "mkdir %s", path);
  _cleanup_free_ char *opts = xasprintf("mode=1777,size=%llu", MASCRI_POD_SHM_SIZE);
  if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
    return mascri_make_error(err, errno, "mount tmpfs on %s", path);
  info->paths |= 1u << MASCRI_POD_SHM;
  return 0;
}

int mascri_pod_files_create(const char *dir, const struct mascri_pod_config *config, bool with_shm,
                            struct mascri_pod_info *info, mascri_error_t *err)
{
  if (write_resolv(dir, config, info, err) < 0)
    return -1;
  _cleanup_free_ char *line = xasprintf("%s\n", info->hostname);
  _cleanup_free_ char *hostname = mascri_path_join(dir, "hostname");
  if (mascri_write_file_atomic(hostname, line, strlen(line), 0644, err) < 0)
    return -1;
  info->paths |= 1u << MASCRI_POD_HOSTNAME_FILE;
  return with_shm ? mount_shm(dir, info, err) : 0;
}

int mascri_pod_files_hosts(const char *dir, struct mascri_pod_info *info, mascri_error_t *err)
{
  _cleanup_free_ char *text =
      mascri_pod_hosts(info->hostname, info->ipv4 ? info->ipv4 : info->ipv6);
  _cleanup_free_ char *path = mascri_path_join(dir, "hosts");
  if (mascri_write_file_atomic(path, text, strlen(text), 0644, err) < 0)
    return -1;
  info->paths |= 1u << MASCRI_POD_HOSTS_FILE;
  return 0;
}

int mascri_pod_files_unmount_shm(const char *shm, mascri_error_t *err)
{
  if (!shm)
    return 0;
  while (umount2(shm, MNT_DETACH) == 0)
    ;
  if (errno != EINVAL && errno != ENOENT)
    return mascri_make_error(err, errno, "unmount %s", shm);
  return 0;
}
