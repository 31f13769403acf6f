/* Helpers shared by create, exec and the lifecycle operations. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/container-internal.h"
#include "runtime/terminal.h"

char *container_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
                           char *const *ann_keys, char *const *ann_values)
{
  _cleanup_json_gen_ yajl_gen g = mascri_json_gen_new(false);
  yajl_gen_map_open(g);
  mascri_json_gen_kv_string(g, "ociVersion", "1.2.0");
  mascri_json_gen_kv_string(g, "id", id);
  mascri_json_gen_kv_string(g, "status", status);
  mascri_json_gen_kv_int(g, "pid", pid);
  mascri_json_gen_kv_string(g, "bundle", bundle ? bundle : "");
  mascri_json_gen_key(g, "annotations");
  yajl_gen_map_open(g);
  for (size_t i = 0; ann_keys && ann_keys[i]; i++)
    mascri_json_gen_kv_string(g, ann_keys[i], ann_values[i]);
  yajl_gen_map_close(g);
  yajl_gen_map_close(g);
  return mascri_json_gen_take(g, NULL);
}

int container_cgroup(const container_record_t *rec, mascri_cgroup_t *cg, mascri_error_t *err)
{
  memset(cg, 0, sizeof(*cg));
  if (mascri_cgroup_layout_probe(&cg->layout, err) < 0)
    return -1;
  cg->path = xstrdup(rec->cgroup_path);
  cg->manager = rec->cgroup_manager;
  return 0;
}

int container_write_pid_file(const char *path, pid_t pid, mascri_error_t *err)
{
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
  _cleanup_free_ char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  const char *name = slash ? slash + 1 : path;
  if (slash)
    *slash = '\0';
  _cleanup_close_ int dfd =
      open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return mascri_make_error(err, errno, "open the directory of %s", path);
  if (state_write_file_at(dfd, name, buf, (size_t)n, 0644, err) < 0)
    return mascri_error_wrap(err, "pid file %s", path);
  return 0;
}

static int write_map(pid_t pid, const char *file, const mascri_spec_id_mapping_t *m, size_t n,
                     mascri_error_t *err)
{
  char buf[4096];
  size_t off = 0;
  for (size_t i = 0; i < n && off < sizeof(buf) - 64; i++)
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container_id,
                            m[i].host_id, m[i].size);
  _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
  if (mascri_write_file_at(AT_FDCWD, path, buf, off, err) < 0)
    return mascri_error_wrap(err, "write %s", file);
  return 0;
}

int container_write_id_maps(pid_t pid, const mascri_spec_linux_t *l, mascri_error_t *err)
{
  if (!l || (!l->n_uid_mappings && !l->n_gid_mappings))
    return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                  "linux.uidMappings/gidMappings: required with a new user "
                                  "namespace");
  if (write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err) < 0 ||
      write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err) < 0)
    return -1;
  return 0;
}

int container_deliver_pty(const mascri_stdio_t *stdio, int master, mascri_error_t *err)
{
  if (stdio->console_socket) {
    int r = terminal_send_to_socket(stdio->console_socket, master, err);
    close(master);
    return r;
  }
  if (stdio->console_master) {
    *stdio->console_master = master;
    return 0;
  }
  close(master);
  return mascri_make_error_kind(err, MASCRI_ERR_INVALID_ARGUMENT, 0,
                                "process.terminal is set but no console socket was given");
}

int container_cgroup_v2_fd(const mascri_cgroup_t *cg)
{
  if (!cg->layout.v2_mount)
    return -1;
  mascri_error_t e = NULL;
  int fd = mascri_cgroup_open_v2(cg, &e);
  if (fd < 0)
    mascri_log_error_release(MASCRI_LOG_DEBUG, &e, "cgroup");
  return fd;
}
